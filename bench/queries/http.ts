/**
 * The read paths over HTTP, on the big database, the service in child
 * processes that count their statements (fleet.ts):
 * - cache on versus off, same run, beside the bare Hono GET: seat-map and
 *   concert-list throughput, p50/p99, statements per 1,000 requests;
 * - a cold-key stampede over 3 instances: how many loads one seat map costs;
 * - a sale in miniature over the same 3 instances (reserves and payments
 *   among seat-map, schedules and concert reads): how often each read path
 *   is read and changed, and its measured hit ratio.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drive } from '../drive.js';
import type { DriveRequest } from '../drive.js';
import { load } from '../http-load.js';
import type { LoadResult } from '../http-load.js';
import { bearer, busyShare, machineCpu, signAccessTokens, startChild } from '../support.js';
import type { CacheCounters, CountedService } from './fleet.js';
import { cacheDelta, cacheOf, startCounted, statementsOf, subtract } from './fleet.js';
import { totalOf } from './statement-family.js';

const HONO_PING = fileURLToPath(new URL('../hono-ping.ts', import.meta.url));

export interface HttpSettings {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Every Redis key of this run starts with it; the caller deletes them at the end. */
  readonly redisPrefix: string;
  readonly authSecret: string;
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly stampedeReads: number;
  readonly stampedeRounds: number;
  readonly saleSeconds: number;
  readonly saleSeats: number;
  readonly log: (message: string) => void;
}

export interface RouteRun {
  readonly load: LoadResult;
  /** Share of the whole machine's CPU in use during the window, 0..1: near 1, the figures are CPU-bound (other work on the machine included). */
  readonly machineBusy: number;
  /** Statements the service sent during the window, all of them (BEGIN/COMMIT, the jobs' too), by family. */
  readonly statements: Readonly<Record<string, number>>;
  readonly statementsPer1000: number;
  readonly cache: CacheCounters;
}

export interface CacheComparison {
  readonly honoGet: LoadResult & { readonly machineBusy: number };
  /** The bare Hono app answering a 50-seat map's JSON from memory: the same payload, none of the service. */
  readonly honoSeatMap: LoadResult & { readonly machineBusy: number };
  readonly on: { readonly seatMap: RouteRun; readonly concerts: RouteRun };
  readonly off: { readonly seatMap: RouteRun; readonly concerts: RouteRun };
  readonly concertCount: number;
}

function serviceEnv(s: HttpSettings, prefix: string, extra: Record<string, string>): Record<string, string | undefined> {
  return {
    ...process.env,
    DATABASE_URL: s.databaseUrl,
    REDIS_URL: s.redisUrl,
    REDIS_PREFIX: prefix,
    AUTH_JWT_SECRET: s.authSecret,
    PORT: '0',
    LOG_LEVEL: 'warn',
    SEED_DEMO: 'false',
    ...extra,
  };
}

async function measureRoute(service: CountedService, path: string, s: HttpSettings): Promise<RouteRun> {
  const base = { url: service.url, connections: s.connections, path };
  await load({ ...base, durationS: s.warmupS });
  const statementsBefore = await service.statements();
  const cacheBefore = await cacheOf([service]);
  const cpu = machineCpu();
  const result = await load({ ...base, durationS: s.durationS });
  const machineBusy = busyShare(cpu, machineCpu());
  const statements = subtract(await service.statements(), statementsBefore);
  const cache = cacheDelta(await cacheOf([service]), cacheBefore);
  return { load: result, machineBusy, statements, statementsPer1000: (totalOf(statements) / Math.max(1, result.total)) * 1000, cache };
}

export async function compareCache(s: HttpSettings): Promise<CacheComparison> {
  s.log('bare Hono GET /ping (the ceiling of this run)');
  const hono = await startChild(HONO_PING, process.env);
  let honoGet: CacheComparison['honoGet'];
  let honoSeatMap: CacheComparison['honoSeatMap'];
  try {
    const measure = async (path: string) => {
      await load({ url: hono.url, connections: s.connections, durationS: s.warmupS, path });
      const cpu = machineCpu();
      const result = await load({ url: hono.url, connections: s.connections, durationS: s.durationS, path });
      return { ...result, machineBusy: busyShare(cpu, machineCpu()) };
    };
    honoGet = await measure('/ping');
    honoSeatMap = await measure('/seat-map');
  } finally {
    await hono.stop();
  }
  const run = async (enabled: boolean) => {
    s.log(`cache ${enabled ? 'on' : 'off'} (CACHE_ENABLED=${enabled}): GET /schedules/sch-0/seats, GET /concerts`);
    const service = await startCounted(serviceEnv(s, `${s.redisPrefix}${enabled ? 'on' : 'off'}:`, { CACHE_ENABLED: String(enabled) }));
    try {
      return { seatMap: await measureRoute(service, '/schedules/sch-0/seats', s), concerts: await measureRoute(service, '/concerts', s) };
    } finally {
      await service.child.stop();
    }
  };
  const on = await run(true);
  const off = await run(false);
  const client = new pg.Client({ connectionString: s.databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ n: string }>('select count(*) as n from concerts').finally(() => client.end());
  return { honoGet, honoSeatMap, on, off, concertCount: Number(rows[0]?.n ?? 0) };
}

export interface StampedeRound {
  readonly scheduleId: string;
  readonly reads: number;
  readonly ok: number;
  /** The seat-map query, counted in the three services' pools. */
  readonly seatMapQueries: number;
  /** cache_loads_total{family="seats"} summed over the three; undefined when the services do not export it. */
  readonly cacheLoads: number | undefined;
  /** From the first request written to the last answer, ms. */
  readonly allAnsweredMs: number;
}

export interface SaleRun {
  readonly seconds: number;
  readonly instances: number;
  /** 2xx answers per second, by route. */
  readonly readsPerS: Readonly<Record<'seatMap' | 'schedules' | 'concerts' | 'balance' | 'reservations', number>>;
  /** Distinct buyers whose balance or reservations were read: those paths have one key per buyer. */
  readonly buyersRead: number;
  /** Buyers who reserved during the window: the keys the writes of those paths touched. */
  readonly buyersWrote: number;
  readonly reservesPerS: number;
  readonly paysPerS: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly cache: CacheCounters;
  /** Statements of the whole window over the three services, by family. */
  readonly statements: Readonly<Record<string, number>>;
}

export interface FleetFigures {
  readonly stampede: readonly StampedeRound[];
  readonly sale: SaleRun;
}

/** Three services with the cache on, on one Redis prefix: the stampede, then the sale in miniature. */
export async function onThreeInstances(s: HttpSettings): Promise<FleetFigures> {
  const prefix = `${s.redisPrefix}fleet:`;
  const env = serviceEnv(s, prefix, { CACHE_ENABLED: 'true', QUEUE_ACTIVE_MAX: '100000', QUEUE_ADMIT_INTERVAL_MS: '50' });
  const services = await Promise.all([0, 1, 2].map(() => startCounted(env)));
  try {
    const stampede: StampedeRound[] = [];
    for (let round = 0; round < s.stampedeRounds; round++) stampede.push(await stampedeRound(services, `sch-${round + 1}`, s.stampedeReads));
    s.log(`stampede: ${stampede.map((r) => `${r.seatMapQueries} seat-map queries / ${r.reads} reads`).join(', ')}`);
    const sale = await saleInMiniature(services, s);
    return { stampede, sale };
  } finally {
    await Promise.all(services.map((service) => service.child.stop()));
  }
}

/**
 * `reads` GETs of one seat map nobody has read yet, spread evenly over the
 * services, written at once over connections opened beforehand.
 */
async function stampedeRound(services: readonly CountedService[], scheduleId: string, reads: number): Promise<StampedeRound> {
  const perService = Math.ceil(reads / services.length);
  const agents = services.map(() => new http.Agent({ keepAlive: true, maxSockets: perService }));
  const get = (i: number, path: string) =>
    new Promise<number>((resolve) => {
      const request = http.get(`${services[i]!.url}${path}`, { agent: agents[i] }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('error', () => resolve(0));
    });
  try {
    // Opens every connection first, on a path no route answers (a 404 touches neither Redis nor Postgres): the reads then start together.
    await Promise.all(services.flatMap((_, i) => Array.from({ length: perService }, () => get(i, '/bench-open-connection'))));
    const statementsBefore = await statementsOf(services);
    const cacheBefore = await cacheOf(services);
    const started = performance.now();
    const statuses = await Promise.all(services.flatMap((_, i) => Array.from({ length: perService }, () => get(i, `/schedules/${scheduleId}/seats`))));
    const allAnsweredMs = performance.now() - started;
    const statements = subtract(await statementsOf(services), statementsBefore);
    const cache = cacheDelta(await cacheOf(services), cacheBefore);
    return {
      scheduleId,
      reads: statuses.length,
      ok: statuses.filter((status) => status === 200).length,
      seatMapQueries: statements['seat map'] ?? 0,
      cacheLoads: cache.hasLoads ? (cache.loads.seats ?? 0) : undefined,
      allAnsweredMs,
    };
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

type Kind = 'seatMap' | 'schedules' | 'concerts' | 'balance' | 'reservations' | 'reserve' | 'pay';

/**
 * A concert on sale (one schedule of `saleSeats` seats, made by SQL), a
 * buyer per seat with an ACTIVE queue token and a wallet, then for
 * `saleSeconds` every service gets the same mix: out of every 20 requests,
 * 2 writes (a reserve of the next seat, or the payment of a hold made
 * earlier), 1 schedules list, 1 concert list, 1 balance and 1 reservation
 * list of a buyer who has reserved, 14 seat-map reads.
 */
async function saleInMiniature(services: readonly CountedService[], s: HttpSettings): Promise<SaleRun> {
  const tag = randomBytes(3).toString('hex');
  const concertId = `con-sale-${tag}`;
  const scheduleId = `sch-sale-${tag}`;
  const users = Array.from({ length: s.saleSeats }, (_, k) => `sale-${tag}-${k}`);
  const client = new pg.Client({ connectionString: s.databaseUrl });
  await client.connect();
  try {
    await client.query(`insert into concerts (id, title, venue) values ($1, 'On sale now', 'Bench Hall')`, [concertId]);
    await client.query(`insert into schedules (id, concert_id, starts_at, total_seats) values ($1, $2, now() + interval '90 days', $3)`, [scheduleId, concertId, s.saleSeats]);
    await client.query(`insert into seats (schedule_id, seat_no, price, status) select $1, n, 1000, 'AVAILABLE' from generate_series(1, $2::int) as n`, [scheduleId, s.saleSeats]);
    await client.query(`insert into user_points (user_id, balance) select unnest($1::text[]), 1000000`, [users]);
  } finally {
    await client.end();
  }
  const access = await signAccessTokens(s.authSecret, users);
  const queueTokens: string[] = [];
  await drive({
    url: services[0]!.url,
    connections: s.connections,
    amount: users.length,
    request: (k) => ({ method: 'POST', path: '/queue/tokens', headers: bearer(access[k]!) }),
    onResponse: (k, status, body) => {
      if (status === 201 || status === 200) queueTokens[k] = (JSON.parse(body) as { token: string }).token;
    },
  });
  // Admission is FIFO: once the last buyer's token is ACTIVE, every earlier one is.
  const last = users.length - 1;
  const giveUpAt = Date.now() + 30_000;
  for (;;) {
    const reply = await fetch(`${services[0]!.url}/queue/tokens/current`, { headers: bearer(access[last]!) });
    if (reply.ok && ((await reply.json()) as { status: string }).status === 'ACTIVE') break;
    if (Date.now() > giveUpAt) throw new Error('sale buyers: queue tokens not ACTIVE within 30 s');
    await sleep(50);
  }

  let nextSeat = 0;
  let sequence = 0;
  const payable: { k: number; reservationId: string }[] = [];
  const sale = (k: number) => ({ ...bearer(access[k]!), 'Queue-Token': queueTokens[k]! });
  const answered: Record<Kind, number> = { seatMap: 0, schedules: 0, concerts: 0, balance: 0, reservations: 0, reserve: 0, pay: 0 };
  const buyersRead = new Set<number>();
  // A buyer who has reserved already, picked in turn: the reads a buyer makes around their own writes.
  const someBuyer = () => (nextSeat === 0 ? undefined : (sequence * 7919) % nextSeat);
  const statuses: Record<string, number> = {};
  const next = (): { kind: Kind; request: DriveRequest; k?: number } => {
    const slot = sequence++ % 20;
    if (slot === 0 || slot === 10) {
      const hold = payable.shift();
      if (hold !== undefined) {
        const path = `/reservations/${hold.reservationId}/payment`;
        return { kind: 'pay', request: { method: 'POST', path, headers: { ...sale(hold.k), 'Idempotency-Key': `pay-${hold.reservationId}` } } };
      }
      if (nextSeat < users.length) {
        const k = nextSeat++;
        return { kind: 'reserve', k, request: { method: 'POST', path: '/reservations', headers: sale(k), body: JSON.stringify({ scheduleId, seatNo: k + 1 }) } };
      }
    }
    if (slot === 5) return { kind: 'schedules', request: { method: 'GET', path: `/concerts/${concertId}/schedules` } };
    const buyer = someBuyer();
    if (slot === 7 && buyer !== undefined) return { kind: 'balance', k: buyer, request: { method: 'GET', path: '/users/me/points', headers: bearer(access[buyer]!) } };
    if (slot === 12 && buyer !== undefined) return { kind: 'reservations', k: buyer, request: { method: 'GET', path: '/users/me/reservations', headers: bearer(access[buyer]!) } };
    if (slot === 15) return { kind: 'concerts', request: { method: 'GET', path: '/concerts' } };
    return { kind: 'seatMap', request: { method: 'GET', path: `/schedules/${scheduleId}/seats` } };
  };

  const statementsBefore = await statementsOf(services);
  const cacheBefore = await cacheOf(services);
  const started = performance.now();
  await Promise.all(
    services.map((service) => {
      const sent = new Map<number, { kind: Kind; k?: number }>();
      return drive({
        url: service.url,
        connections: Math.max(1, Math.floor(s.connections / services.length)),
        durationS: s.saleSeconds,
        request: (i) => {
          const built = next();
          sent.set(i, { kind: built.kind, ...(built.k === undefined ? {} : { k: built.k }) });
          return built.request;
        },
        onResponse: (i, status, body) => {
          const what = sent.get(i);
          sent.delete(i);
          if (what === undefined) return;
          statuses[`${what.kind} ${status}`] = (statuses[`${what.kind} ${status}`] ?? 0) + 1;
          if (status < 200 || status >= 300) return;
          answered[what.kind]++;
          if ((what.kind === 'balance' || what.kind === 'reservations') && what.k !== undefined) buyersRead.add(what.k);
          if (what.kind === 'reserve' && what.k !== undefined) payable.push({ k: what.k, reservationId: (JSON.parse(body) as { reservationId: string }).reservationId });
        },
      });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const statements = subtract(await statementsOf(services), statementsBefore);
  const cache = cacheDelta(await cacheOf(services), cacheBefore);
  s.log(`sale: ${JSON.stringify(answered)} in ${seconds.toFixed(1)} s`);
  return {
    seconds,
    instances: services.length,
    readsPerS: {
      seatMap: answered.seatMap / seconds,
      schedules: answered.schedules / seconds,
      concerts: answered.concerts / seconds,
      balance: answered.balance / seconds,
      reservations: answered.reservations / seconds,
    },
    buyersRead: buyersRead.size,
    buyersWrote: nextSeat,
    reservesPerS: answered.reserve / seconds,
    paysPerS: answered.pay / seconds,
    statuses,
    cache,
    statements,
  };
}
