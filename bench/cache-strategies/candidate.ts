/**
 * One candidate's run: three instances configured with its cache settings
 * (bench/sellout/instance.ts, the service as deployed), a fresh schedule,
 * and one window in which the seat map is read as fast as the instances
 * answer (or at a set rate), written at a steady rate, and probed for
 * staleness on the instance the writers do not use.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Instance } from '../sellout/instance.js';
import { startInstance } from '../sellout/instance.js';
import { bearer, busyShare, machineCpu, signAccessTokens } from '../support.js';
import type { CacheWindow } from './cache-counters.js';
import { CacheWatch } from './cache-counters.js';
import type { ReaderConfig, ReaderResult } from './reader-protocol.js';
import { READER_STARTED } from './reader-protocol.js';
import type { StalenessFigures } from './staleness.js';
import { AvailabilityProber, SeatMapProber } from './staleness.js';
import type { Buyer, WriteFigures } from './writers.js';
import { writeLoad } from './writers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const READER = fileURLToPath(new URL('./reader.ts', import.meta.url));

export interface Candidate {
  /** Row name in the report. */
  readonly name: string;
  /** The cache as configured: off, or a seat-map strategy. */
  readonly strategy: 'none' | 'delete' | 'ttl' | 'refresh';
  /** Seat-map reads per second over all instances; unset: as many as they answer. */
  readonly readRate?: number;
}

export interface RunSettings {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** This run's own Redis prefix. */
  readonly redisPrefix: string;
  readonly authSecret: string;
  readonly instances: number;
  readonly seats: number;
  readonly writers: number;
  readonly writesPerS: number;
  readonly durationS: number;
  /** Reader connections per instance. */
  readonly readConnections: number;
  readonly probeGapMs: number;
  /** How long after the window the probers wait for changes not yet seen. */
  readonly settleMs: number;
  readonly log: (message: string) => void;
  /** Told of every instance started, so that a cleanup cut short by a signal can stop them. */
  readonly track: (instance: Instance) => void;
}

export interface CandidateRun {
  readonly candidate: Candidate;
  readonly reads: ReaderResult & { readonly perS: number };
  readonly writes: WriteFigures;
  readonly cache: CacheWindow;
  readonly seatStaleness: StalenessFigures;
  readonly availabilityStaleness: StalenessFigures;
  /** Share of the whole machine's CPU in use during the window. */
  readonly machineBusy: number;
}

function cacheEnv(strategy: Candidate['strategy']): Record<string, string> {
  return strategy === 'none' ? { CACHE_ENABLED: 'false', SEAT_MAP_CACHE_STRATEGY: 'refresh' } : { CACHE_ENABLED: 'true', SEAT_MAP_CACHE_STRATEGY: strategy };
}

export async function runCandidate(candidate: Candidate, s: RunSettings): Promise<CandidateRun> {
  const env = {
    ...process.env,
    ...cacheEnv(candidate.strategy),
    DATABASE_URL: s.databaseUrl,
    REDIS_URL: s.redisUrl,
    REDIS_PREFIX: s.redisPrefix,
    AUTH_JWT_SECRET: s.authSecret,
    METRICS_TOKEN: undefined,
    LOG_LEVEL: 'warn',
    SEED_DEMO: 'false',
    // Every writer admitted at once, and one token for all its seats (writers.ts).
    QUEUE_ACTIVE_MAX: '1000',
    QUEUE_ADMIT_INTERVAL_MS: '100',
    MAX_SEATS_PER_USER: String(s.seats),
    DATABASE_POOL_SIZE: '10',
  };
  const started = await Promise.allSettled(Array.from({ length: s.instances }, () => startInstance(env, 60_000)));
  const fleet: Instance[] = [];
  for (const result of started) {
    if (result.status !== 'fulfilled') continue;
    fleet.push(result.value);
    s.track(result.value);
  }
  const failed = started.find((result) => result.status === 'rejected');
  try {
    if (failed !== undefined) throw failed.reason;
    return await measure(candidate, s, fleet.map((instance) => instance.url));
  } finally {
    await Promise.all(fleet.map((instance) => instance.stop()));
  }
}

async function measure(candidate: Candidate, s: RunSettings, urls: readonly string[]): Promise<CandidateRun> {
  const tag = randomBytes(3).toString('hex');
  const concertId = `con-cs-${tag}`;
  const scheduleId = `sch-cs-${tag}`;
  const anchorId = `sch-cs-${tag}-anchor`;
  const users = Array.from({ length: s.writers }, (_, k) => `cs-${tag}-${k}`);
  const client = new pg.Client({ connectionString: s.databaseUrl });
  await client.connect();
  try {
    await client.query(`insert into concerts (id, title, venue) values ($1, 'Cache strategies', 'Bench Hall')`, [concertId]);
    for (const [id, seats] of [
      [scheduleId, s.seats],
      [anchorId, s.writers],
    ] as const) {
      await client.query(`insert into schedules (id, concert_id, starts_at, total_seats) values ($1, $2, now() + interval '90 days', $3)`, [id, concertId, seats]);
      await client.query(`insert into seats (schedule_id, seat_no, price, status) select $1, n, 1000, 'AVAILABLE' from generate_series(1, $2::int) as n`, [id, seats]);
    }
    await client.query(`insert into user_points (user_id, balance) select unnest($1::text[]), $2`, [users, 1000 * (s.seats + 1)]);
  } finally {
    await client.end();
  }
  const buyers = await admit(users, s, urls, anchorId);

  // Warm: every instance has read both views once, so the window measures a sale, not a cold start.
  const seatsPath = `/schedules/${scheduleId}/seats`;
  const schedulesPath = `/concerts/${concertId}/schedules`;
  for (const url of urls) for (const path of [seatsPath, schedulesPath]) await (await fetch(`${url}${path}`)).arrayBuffer();

  const probeUrl = urls.at(-1)!;
  const seatProber = new SeatMapProber(`${probeUrl}${seatsPath}`, s.probeGapMs);
  const availabilityProber = new AvailabilityProber(`${probeUrl}${schedulesPath}`, scheduleId, s.seats, s.probeGapMs);
  const readerConfig: ReaderConfig = { urls, path: seatsPath, durationS: s.durationS, connections: s.readConnections, ...(candidate.readRate === undefined ? {} : { rate: candidate.readRate }) };
  const reader = startReader(readerConfig);
  await reader.started;
  const watch = await CacheWatch.start(urls, 1_000);
  const cpuBefore = machineCpu();
  let stopAt = Number.POSITIVE_INFINITY;
  const probing = Promise.all([seatProber.run(() => stopAt, s.settleMs), availabilityProber.run(() => stopAt, s.settleMs)]);
  const [reads, writes] = await Promise.all([
    reader.result,
    writeLoad({
      buyers,
      scheduleId,
      seats: s.seats,
      writesPerS: s.writesPerS,
      durationS: s.durationS,
      onCommitted: (at, seatNo, status) => {
        seatProber.committed(at, seatNo, status);
        if (status === 'HELD') availabilityProber.reserved(at);
      },
    }),
  ]);
  stopAt = performance.now();
  const machineBusy = busyShare(cpuBefore, machineCpu());
  const cache = await watch.stop();
  await probing;
  return {
    candidate,
    reads: { ...reads, perS: reads.ok / reads.elapsedS },
    writes,
    cache,
    seatStaleness: seatProber.figures(),
    availabilityStaleness: availabilityProber.figures(),
    machineBusy,
  };
}

/**
 * Each writer: an ACTIVE queue token, and its anchor hold (a seat of the
 * anchor schedule, kept PENDING so that its payments never spend the token).
 * Writers use every instance but the last, where the probers read.
 */
async function admit(users: readonly string[], s: RunSettings, urls: readonly string[], anchorId: string): Promise<Buyer[]> {
  const access = await signAccessTokens(s.authSecret, users);
  const writeUrls = urls.length > 1 ? urls.slice(0, -1) : urls;
  const buyers: Buyer[] = [];
  for (const [k, token] of access.entries()) {
    const url = writeUrls[k % writeUrls.length]!;
    const issued = await fetch(`${url}/queue/tokens`, { method: 'POST', headers: bearer(token) });
    if (!issued.ok) throw new Error(`POST /queue/tokens answered ${issued.status}: ${await issued.text()}`);
    const { token: queueToken } = (await issued.json()) as { token: string };
    buyers.push({ accessToken: token, queueToken, url });
  }
  const giveUpAt = performance.now() + 30_000;
  for (const buyer of buyers) {
    for (;;) {
      const reply = await fetch(`${buyer.url}/queue/tokens/current`, { headers: bearer(buyer.accessToken) });
      if (reply.ok && ((await reply.json()) as { status: string }).status === 'ACTIVE') break;
      if (performance.now() > giveUpAt) throw new Error('writers: queue tokens not ACTIVE within 30 s');
      await sleep(50); // polling admission, with a deadline
    }
  }
  for (const [k, buyer] of buyers.entries()) {
    const reply = await fetch(`${buyer.url}/reservations`, {
      method: 'POST',
      headers: { ...bearer(buyer.accessToken), 'Queue-Token': buyer.queueToken, 'content-type': 'application/json' },
      body: JSON.stringify({ scheduleId: anchorId, seatNo: k + 1 }),
    });
    if (reply.status !== 201) throw new Error(`anchor hold answered ${reply.status}: ${await reply.text()}`);
  }
  return buyers;
}

/** The read load's own process (reader.ts): started once autocannon runs; its result when it ends. */
function startReader(config: ReaderConfig): { started: Promise<void>; result: Promise<ReaderResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', READER], { cwd: ROOT, env: { ...process.env, CACHE_READER: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  let last = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === READER_STARTED) markStarted();
    else last = line;
  });
  const result = new Promise<ReaderResult>((resolve, reject) => {
    child.once('exit', (code) => {
      markStarted();
      if (code === 0 && last !== '') resolve(JSON.parse(last) as ReaderResult);
      else reject(new Error(`the reader exited with ${code}`));
    });
  });
  // Started or failed: a reader that dies before it starts must not leave the caller waiting.
  return { started: Promise.race([started, result.then(() => undefined)]), result };
}
