/**
 * The seat-map cache strategies side by side (issue 9; DESIGN.md, "During a
 * sale"): the same sale workload on 3 instances under each candidate (no
 * cache, delete, ttl, refresh, and refresh again at a light read rate, to
 * show its loads do not follow the read rate), on a database and a Redis
 * prefix of their own, both removed at the end and by
 * `cacheStrategiesCleanup` when a signal cuts the run short.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createRedis } from '../../adapters/redis/create-redis.js';
import { MAX_SEATS_PER_SCHEDULE } from '../../core/domain/catalog.js';
import type { Instance } from '../sellout/instance.js';
import type { Candidate, CandidateRun, RunSettings } from './candidate.js';
import { runCandidate } from './candidate.js';
import { renderStrategiesCharts, renderStrategiesReport, STRATEGIES_REPORT } from './report.js';
import { deleteKeysUnder, dropDatabase } from '../cleanup.js';

export interface StrategiesOptions {
  readonly quick: boolean;
  readonly reportDir: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly log: (message: string) => void;
}

export interface StrategiesResults {
  readonly date: Date;
  readonly quick: boolean;
  /** CPUs and their model: every process of the run shares them. */
  readonly machine: string;
  readonly settings: Omit<RunSettings, 'databaseUrl' | 'redisUrl' | 'redisPrefix' | 'authSecret' | 'log' | 'track'>;
  readonly runs: readonly CandidateRun[];
  readonly elapsedS: number;
}

/** The light read rate refresh is run at beside the maximal one, reads/s over all instances. */
export const LIGHT_READ_RATE = 150;

/** Aimed-at writes per second: "a few hundred"; capped by the seats one schedule has for the window (writers.ts). */
const TARGET_WRITES_PER_S = 300;

export const CANDIDATES: readonly Candidate[] = [
  { name: 'none (CACHE_ENABLED=false)', strategy: 'none' },
  { name: 'delete', strategy: 'delete' },
  { name: 'ttl', strategy: 'ttl' },
  { name: 'refresh', strategy: 'refresh' },
  { name: `refresh @ ${LIGHT_READ_RATE} reads/s`, strategy: 'refresh', readRate: LIGHT_READ_RATE },
];

/** What is open now, for a cleanup that a signal may call at any moment. */
const open: { dbName?: string; serverUrl?: string; prefix?: string; redisUrl?: string; instances: Instance[] } = { instances: [] };
let cleaning: Promise<void> | undefined;

/** Stops this bench's instances, drops its database and deletes its Redis keys, if a run has them; safe at any time, more than once. */
export function cacheStrategiesCleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    await Promise.all(open.instances.map((instance) => instance.stop()));
    const { dbName, serverUrl, prefix, redisUrl } = open;
    if (prefix !== undefined && redisUrl !== undefined) {
      const redis = createRedis(redisUrl, { name: 'bench-cache-strategies-cleanup' });
      await deleteKeysUnder(redis, prefix);
      await redis.quit().catch(() => redis.disconnect());
    }
    if (dbName !== undefined && serverUrl !== undefined) {
      await dropDatabase(serverUrl, dbName);
    }
  })().finally(() => {
    open.instances = [];
    delete open.dbName;
    delete open.prefix;
    cleaning = undefined;
  }));
}

export async function benchCacheStrategies(options: StrategiesOptions): Promise<{ readonly results: StrategiesResults; readonly reportPath: string }> {
  const { log } = options;
  const started = performance.now();
  const id = randomBytes(4).toString('hex');
  const dbName = `bench_cache_${id}`;
  const prefix = `bench_cache_${id}:`;
  Object.assign(open, { dbName, serverUrl: options.databaseUrl, prefix, redisUrl: options.redisUrl });
  try {
    const admin = new pg.Client({ connectionString: options.databaseUrl });
    await admin.connect();
    await admin.query(`create database ${dbName}`).finally(() => admin.end());
    const url = new URL(options.databaseUrl);
    url.pathname = `/${dbName}`;
    const durationS = options.quick ? 3 : 10;
    const seats = MAX_SEATS_PER_SCHEDULE;
    const settings = {
      instances: 3,
      seats,
      // Enough loops for the aimed-at rate even with each write taking a few hundred ms on a busy machine (a loop writes one at a time).
      writers: 50,
      // A reserve and a payment per seat: no more than the schedule's seats can carry through the window (5 % to spare).
      writesPerS: Math.min(TARGET_WRITES_PER_S, Math.floor((2 * seats * 0.95) / durationS)),
      durationS,
      // Enough to keep every instance busy; more only lengthens the queue the writes wait in behind the reads.
      readConnections: 4,
      probeGapMs: 5,
      settleMs: 3_000,
    };
    log(`database ${dbName}, Redis prefix ${prefix}; ${CANDIDATES.length} runs of ${durationS} s`);
    const authSecret = randomBytes(32).toString('hex');
    const runs: CandidateRun[] = [];
    for (const [i, candidate] of CANDIDATES.entries()) {
      log(`${candidate.name}: 3 instances, a fresh schedule of ${seats} seats, ${settings.writesPerS} writes/s aimed at`);
      const run = await runCandidate(candidate, {
        ...settings,
        databaseUrl: url.toString(),
        redisUrl: options.redisUrl,
        redisPrefix: `${prefix}${i}:`,
        authSecret,
        log,
        track: (instance) => open.instances.push(instance),
      });
      log(
        `${candidate.name}: ${run.reads.perS.toFixed(0)} reads/s, ${run.writes.writesPerS.toFixed(0)} writes/s, ` +
          `${(run.cache.seatLoads / run.cache.seconds).toFixed(1)} seat-map loads/s, staleness p99 ${run.seatStaleness.p99.toFixed(0)} ms`,
      );
      runs.push(run);
    }
    const cpus = os.cpus();
    const machine = `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;
    const results: StrategiesResults = { date: new Date(), quick: options.quick, machine, settings, runs, elapsedS: (performance.now() - started) / 1000 };
    await mkdir(options.reportDir, { recursive: true });
    for (const [file, svg] of Object.entries(renderStrategiesCharts(results))) await writeFile(path.join(options.reportDir, file), svg);
    const reportPath = path.join(options.reportDir, STRATEGIES_REPORT);
    await writeFile(reportPath, renderStrategiesReport(results));
    return { results, reportPath };
  } finally {
    await cacheStrategiesCleanup();
    log(`dropped database ${dbName}, deleted the keys under ${prefix}`);
  }
}
