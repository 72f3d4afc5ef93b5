/**
 * The lock report's run (issue 10, "The lock report"): every strategy on
 * every workload, then the lock-hold profile of what ships, on the real
 * Redis and Postgres, in a database and a Redis key prefix of its own,
 * both removed at the end and by `locksCleanup` when a signal cuts the run
 * short. The guarded strategies run first; the database's guards are then
 * dropped from this database only, and the wrong orders run last.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import pg from 'pg';
import { createKysely } from '../../adapters/kysely/create-kysely.js';
import { migrateToLatest } from '../../adapters/kysely/migrate.js';
import type { Database } from '../../adapters/kysely/schema.js';
import { createRedis } from '../../adapters/redis/create-redis.js';
import { RedisLock } from '../../adapters/redis/redis-lock.js';
import { DEFAULT_DATABASE_POOL_SIZE } from '../../app/config.js';
import { LOCK_LEASE_MS } from '../../app/time-bounds.js';
import type { Latency } from '../support.js';
import { summarise } from '../support.js';
import { benchDatabase } from './database.js';
import { anomalyCount } from './invariants.js';
import type { Cell } from './matrix.js';
import { runCell } from './matrix.js';
import type { Profile } from './profile.js';
import { PROFILED, profileHold, TRADE_OFF, VARIANTS } from './profile.js';
import { renderLocksChart, renderLocksReport } from './report.js';
import { STRATEGIES } from './strategies/strategies.js';
import type { Sizes } from './workloads.js';
import { WORKLOADS } from './workloads.js';
import { deleteKeysUnder, dropDatabase } from '../cleanup.js';

export const LOCKS_REPORT = 'locks.md';
export const LOCKS_CHART = 'locks.svg';

export interface LocksOptions {
  readonly quick: boolean;
  readonly reportDir: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly log: (message: string) => void;
}

export interface LocksResults {
  readonly date: Date;
  readonly quick: boolean;
  readonly machine: string;
  readonly postgres: string;
  readonly sizes: Sizes;
  readonly capS: number;
  readonly poolSize: number;
  /** Ceilings of this run: one Redis PING, one Postgres `select 1`, each alone on its connection. */
  readonly ceilings: { readonly redisPing: Latency; readonly pgSelect: Latency };
  readonly cells: readonly Cell[];
  readonly profiles: readonly Profile[];
  readonly elapsedS: number;
}

const open: { dbName?: string; serverUrl?: string; prefix?: string; redis?: Redis } = {};
let cleaning: Promise<void> | undefined;

/** Drops this bench's database and deletes its Redis keys, if a run has them; safe at any time, more than once. */
export function locksCleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    const { dbName, serverUrl, prefix, redis } = open;
    if (redis !== undefined && prefix !== undefined) {
      await deleteKeysUnder(redis, prefix);
      await redis.quit().catch(() => redis.disconnect());
    }
    if (dbName !== undefined && serverUrl !== undefined) {
      await dropDatabase(serverUrl, dbName);
    }
  })().finally(() => {
    delete open.dbName;
    delete open.prefix;
    delete open.redis;
    cleaning = undefined;
  }));
}

/** Optimistic concurrency's version columns: in this database only, the service's schema has none. */
async function addVersionColumns(db: Kysely<Database>): Promise<void> {
  await sql`alter table user_points add column version bigint not null default 0`.execute(db);
  await sql`alter table seats add column version bigint not null default 0`.execute(db);
}

/** The database's own guards, gone from this database: the balance CHECK, one live reservation per seat, one payment per reservation. */
async function dropGuards(db: Kysely<Database>): Promise<void> {
  await sql`alter table user_points drop constraint user_points_balance_range`.execute(db);
  await sql`drop index reservations_live_seat_key`.execute(db);
  const { rows } = await sql<{ conname: string }>`select conname from pg_constraint where conrelid = 'payments'::regclass and contype = 'u'`.execute(db);
  for (const { conname } of rows) await sql`alter table payments drop constraint ${sql.id(conname)}`.execute(db);
}

async function ceilings(redis: Redis, databaseUrl: string, n: number): Promise<LocksResults['ceilings']> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const ping: number[] = [];
  const select: number[] = [];
  try {
    for (let i = -50; i < n; i++) {
      let t = performance.now();
      await redis.ping();
      if (i >= 0) ping.push(performance.now() - t);
      t = performance.now();
      await client.query('select 1');
      if (i >= 0) select.push(performance.now() - t);
    }
  } finally {
    await client.end();
  }
  return { redisPing: summarise(ping), pgSelect: summarise(select) };
}

export async function benchLocks(options: LocksOptions): Promise<{ reportPath: string; results: LocksResults }> {
  const { log, quick } = options;
  const started = performance.now();
  const id = randomBytes(4).toString('hex');
  const dbName = `locks_${id}`;
  const prefix = `locks_${id}:`;
  const url = new URL(options.databaseUrl);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const sizes: Sizes = quick
    ? { distinct: 600, hotRounds: 10, hotCharges: 300, payUsers: 40, callers: 32 }
    : { distinct: 3_000, hotRounds: 40, hotCharges: 1_000, payUsers: 150, callers: 32 };
  const capS = quick ? 3 : 8;

  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`).finally(() => admin.end());
  open.dbName = dbName;
  open.serverUrl = options.databaseUrl;
  open.prefix = prefix;
  log(`database ${dbName}, Redis prefix ${prefix}`);
  const migrator = await createKysely({ databaseUrl, dataDir: 'memory://' });
  await migrateToLatest(migrator).finally(() => migrator.destroy());
  const redis = createRedis(options.redisUrl, { name: 'bench-locks' });
  open.redis = redis;
  const { db, gauge } = benchDatabase(databaseUrl, DEFAULT_DATABASE_POOL_SIZE);
  try {
    await addVersionColumns(db);
    const redisLock = new RedisLock(redis, { prefix, defaultLeaseMs: LOCK_LEASE_MS });
    log('ceilings: Redis PING, Postgres select 1');
    const measured = await ceilings(redis, databaseUrl, quick ? 200 : 1_000);
    const postgres = await serverVersion(db);

    // Discarded: JIT, the pool's first connections, Redis scripts loaded; the first profile would carry them.
    log('warm-up');
    await profileHold({ db, gauge, redisLock, sizes: { ...sizes, distinct: Math.min(sizes.distinct, 500) }, capS }, 'reserve-distinct', VARIANTS[0]!);
    await profileHold({ db, gauge, redisLock, sizes: { ...sizes, distinct: Math.min(sizes.distinct, 500) }, capS }, 'charge-distinct', VARIANTS[0]!);
    const profiles: Profile[] = [];
    for (const workload of PROFILED) {
      for (const variant of VARIANTS) {
        log(`profile: ${workload}, ${variant.name}`);
        profiles.push(await profileHold({ db, gauge, redisLock, sizes, capS }, workload, variant));
      }
    }
    for (const variant of TRADE_OFF.variants) {
      log(`profile: ${TRADE_OFF.workload}, ${variant.name}`);
      profiles.push(await profileHold({ db, gauge, redisLock, sizes, capS }, TRADE_OFF.workload, variant));
    }

    const cells: Cell[] = [];
    const env = { db, gauge, databaseUrl, redisLock, sizes, capS, log };
    let guardsDropped = false;
    for (const strategy of STRATEGIES) {
      if (!strategy.guards && !guardsDropped) {
        log('dropping the database guards (balance CHECK, live-seat unique index, payment unique) for the wrong orders');
        await dropGuards(db);
        guardsDropped = true;
      }
      for (const workload of WORKLOADS) {
        const cell = await runCell(env, strategy, workload.id);
        cells.push(cell);
        const bad = anomalyCount(cell.anomalies);
        log(`${strategy.id.padEnd(10)} ${workload.id.padEnd(16)} ${cell.okPerS.toFixed(0).padStart(6)} ok/s  p99 ${cell.latency.p99.toFixed(1)} ms  anomalies ${bad}`);
      }
    }

    const results: LocksResults = {
      date: new Date(),
      quick,
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
      postgres,
      sizes,
      capS,
      poolSize: DEFAULT_DATABASE_POOL_SIZE,
      ceilings: measured,
      cells,
      profiles,
      elapsedS: (performance.now() - started) / 1000,
    };
    // The figures as measured, so that the report can be rendered again from them (run.ts --render) without a new run.
    const resultsPath = path.join(os.tmpdir(), `bench-locks-${id}.json`);
    await writeFile(resultsPath, JSON.stringify(results));
    log(`results: ${resultsPath}`);
    return { reportPath: await writeLocksReport(options.reportDir, results), results };
  } finally {
    await db.destroy();
    await locksCleanup();
  }
}

/** Writes reports/locks.md and its chart (or the same into a temporary folder) from a run's results; answers the report's path. */
export async function writeLocksReport(reportDir: string, results: LocksResults): Promise<string> {
  await mkdir(reportDir, { recursive: true });
  await writeFile(path.join(reportDir, LOCKS_CHART), renderLocksChart(results));
  const reportPath = path.join(reportDir, LOCKS_REPORT);
  await writeFile(reportPath, renderLocksReport(results));
  return reportPath;
}

async function serverVersion(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ server_version: string }>`show server_version`.execute(db);
  return rows[0]?.server_version ?? 'unknown';
}
