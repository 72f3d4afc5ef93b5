/**
 * `npm run bench`: measures this machine against real Redis and Postgres and
 * writes reports/benchmark.md plus its SVG charts. Every figure is set beside
 * a ceiling measured in this same run (see report.ts). Isolated: a database
 * and a Redis key prefix of its own, both removed at the end, even on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { createKysely } from '../adapters/kysely/create-kysely.js';
import { migrateToLatest } from '../adapters/kysely/migrate.js';
import { createRedis } from '../adapters/redis/create-redis.js';
import { bareHono, pgWriteTransaction } from './ceilings.js';
import { chargeOverHttp } from './charge.js';
import type { ChargeFigures } from './charge.js';
import { lockAndRoundTrip } from './lock.js';
import type { Results } from './report.js';
import { NOT_IDLE, renderCharts, renderReport } from './report.js';
import { busyShare, machineCpu } from './support.js';
import { formatNumber } from './svg.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
const REPORTS = fileURLToPath(new URL('../reports/', import.meta.url));

const SETTINGS = {
  // Same for every HTTP load and for the bare transaction's callers, so the ratios compare like with like.
  connections: 32,
  // The app's pool: createKysely's default (app/container.ts passes none).
  poolSize: 10,
  lockCalls: 5_000,
  txSeconds: 5,
  loadSeconds: 8,
  warmupSeconds: 2,
};

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const id = randomBytes(4).toString('hex');
const dbName = `bench_${id}`;
const prefix = `bench_${id}:`;
const benchDbUrl = (() => {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${dbName}`;
  return url.toString();
})();

let redis: Redis | undefined;
let dataDir: string | undefined;
let cleaned: Promise<void> | undefined;

/** Drops the bench database, deletes the prefix's keys, removes the PGlite folder; once, whichever way the run ends. */
function cleanup(): Promise<void> {
  return (cleaned ??= (async () => {
    if (redis !== undefined) {
      let deleted = 0;
      for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1_000 }) as AsyncIterable<string[]>) {
        if (keys.length > 0) deleted += await redis.del(...keys);
      }
      await redis.quit().catch(() => redis?.disconnect());
      log(`deleted ${deleted} Redis keys under ${prefix}`);
    }
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    // FORCE: a child killed mid-run may leave connections behind.
    await admin.query(`drop database if exists ${dbName} with (force)`).finally(() => admin.end());
    log(`dropped database ${dbName}`);
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  })());
}

async function machine(): Promise<Results['machine']> {
  const info = await redis!.info('server');
  const client = new pg.Client({ connectionString: benchDbUrl });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>('show server_version').finally(() => client.end());
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    cpus: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    node: process.version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    postgres: rows[0]?.server_version ?? 'unknown',
  };
}

/** How busy the machine is before the bench adds anything: other work on it lowers every figure, and not every ratio evenly. */
async function busyBeforeStart(): Promise<number> {
  const before = machineCpu();
  await sleep(1_000);
  return busyShare(before, machineCpu());
}

async function main(): Promise<void> {
  const started = performance.now();
  const idleCheck = await busyBeforeStart();
  if (idleCheck > NOT_IDLE) log(`warning: the machine is already ${(idleCheck * 100).toFixed(0)} % busy before the bench starts; figures will be low and noisy`);
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${dbName}`).finally(() => admin.end());
  log(`database ${dbName}, Redis prefix ${prefix}`);
  // The schema first: the bare transaction needs the tables before the service (which would migrate too) starts.
  const db = await createKysely({ databaseUrl: benchDbUrl, dataDir: 'memory://' });
  await migrateToLatest(db).finally(() => db.destroy());
  redis = createRedis(REDIS_URL, { name: 'bench' });

  log('ceiling and lock: Redis PING, RedisLock.withLock');
  const lock = await lockAndRoundTrip(redis, prefix, SETTINGS.lockCalls);
  log('ceiling: Postgres write transaction');
  const tx = await pgWriteTransaction(benchDbUrl, { poolSize: SETTINGS.poolSize, concurrency: SETTINGS.connections, durationS: SETTINGS.txSeconds });
  log('ceiling: bare Hono routes (GET, JSON POST)');
  const hono = await bareHono({ connections: SETTINGS.connections, durationS: SETTINGS.loadSeconds, warmupS: SETTINGS.warmupSeconds });

  const load = { connections: SETTINGS.connections, durationS: SETTINGS.loadSeconds, warmupS: SETTINGS.warmupSeconds };
  log('charge over HTTP: distinct users, then one hot user');
  const charge = await chargeOverHttp({
    ...load,
    env: { ...process.env, DATABASE_URL: benchDbUrl, REDIS_URL, REDIS_PREFIX: prefix },
    hotUser: true,
    tag: 'r',
  });
  log('charge over HTTP: distinct users, same Postgres, in-process lock (REDIS_URL unset)');
  const localLock = await chargeOverHttp({
    ...load,
    env: { ...process.env, DATABASE_URL: benchDbUrl, REDIS_URL: undefined },
    hotUser: false,
    tag: 'l',
  });
  let embedded: ChargeFigures | undefined;
  if (process.env.BENCH_SKIP_EMBEDDED !== 'true') {
    log('charge over HTTP, embedded mode (PGlite, in-process lock)');
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-pglite-'));
    embedded = await chargeOverHttp({
      ...load,
      env: { ...process.env, DATABASE_URL: undefined, REDIS_URL: undefined, DATA_DIR: dataDir },
      hotUser: false,
      tag: 'e',
    });
  }

  const results: Results = {
    date: new Date(),
    machine: await machine(),
    busyBeforeStart: idleCheck,
    settings: SETTINGS,
    lock,
    tx,
    hono,
    charge,
    localLock,
    embedded,
    elapsedS: (performance.now() - started) / 1000,
  };
  await mkdir(REPORTS, { recursive: true });
  for (const [file, svg] of Object.entries(renderCharts(results))) await writeFile(path.join(REPORTS, file), svg);
  await writeFile(path.join(REPORTS, 'benchmark.md'), renderReport(results));
  printSummary(results);
}

/** The key figures and every ratio, for a terminal or a CI log. */
function printSummary(r: Results): void {
  const f = formatNumber;
  const { ping, oneKey, threeKeys } = r.lock;
  const d = r.charge.distinct;
  const line = (name: string, text: string) => `${name.padEnd(22)}${text}`;
  const lines = [
    line('machine busy at start', `${(r.busyBeforeStart * 100).toFixed(0)} %${r.busyBeforeStart > NOT_IDLE ? ' (NOT IDLE: figures skewed)' : ''}`),
    line('Redis PING', `p50 ${f(ping.p50)} ms  p99 ${f(ping.p99)} ms`),
    line('withLock 1 key', `p50 ${f(oneKey.p50)} ms  p99 ${f(oneKey.p99)} ms  = ${f(oneKey.p50 / ping.p50)}x PING p50 (target <= 4)`),
    line('withLock 3 keys', `p50 ${f(threeKeys.p50)} ms  p99 ${f(threeKeys.p99)} ms  = ${f(threeKeys.p50 / ping.p50)}x PING p50`),
    line('Postgres charge tx', `${f(r.tx.txPerS)} tx/s  p50 ${f(r.tx.latency.p50)} ms  p99 ${f(r.tx.latency.p99)} ms  client CPU ${f(r.tx.clientCpuMsPerTx)} ms/tx`),
    line('bare Hono GET /ping', `${f(r.hono.get.okRps)} req/s  p50 ${f(r.hono.get.p50)} ms  p99 ${f(r.hono.get.p99)} ms`),
    line('bare Hono JSON POST', `${f(r.hono.post.okRps)} req/s  p50 ${f(r.hono.post.p50)} ms  p99 ${f(r.hono.post.p99)} ms`),
    line('charge distinct', `${f(d.load.okRps)} req/s  p50 ${f(d.load.p50)} ms  p99 ${f(d.load.p99)} ms  non2xx ${d.load.non2xx}`),
    line('', `= ${f(d.load.okRps / r.tx.txPerS)}x bare tx (target >= 0.5), ${f(d.load.okRps / r.hono.get.okRps)}x Hono GET, ${f(d.load.okRps / r.hono.post.okRps)}x Hono POST`),
    line('', `lock hold p50 ~${f(d.lock.holdP50)} ms  p99 ~${f(d.lock.holdP99)} ms (bucket estimates); service ${d.serviceCores.toFixed(2)} cores, ${f(d.serviceCpuMsPerRequest)} ms CPU/charge`),
  ];
  const hot = r.charge.hot;
  if (hot) {
    lines.push(
      line('charge one hot user', `${f(hot.load.okRps)} req/s  p50 ${f(hot.load.p50)} ms  p99 ${f(hot.load.p99)} ms  statuses ${JSON.stringify(hot.load.statusCounts)}  = ${f(hot.load.okRps / d.load.okRps)}x distinct`),
      line('', `lock wait p50 ~${f(hot.lock.waitP50)} ms  p99 ~${f(hot.lock.waitP99)} ms  hold p50 ~${f(hot.lock.holdP50)} ms  LOCK_BUSY ${hot.lock.busy}`),
    );
  }
  const local = r.localLock?.distinct;
  if (local) lines.push(line('charge in-proc lock', `${f(local.load.okRps)} req/s  p50 ${f(local.load.p50)} ms  p99 ${f(local.load.p99)} ms  (Redis lock = ${f(d.load.okRps / local.load.okRps)}x this)`));
  const e = r.embedded?.distinct;
  if (e) lines.push(line('charge embedded', `${f(e.load.okRps)} req/s  p50 ${f(e.load.p50)} ms  p99 ${f(e.load.p99)} ms  non2xx ${e.load.non2xx}  = ${f(e.load.okRps / d.load.okRps)}x Redis+Postgres`));
  lines.push(`report: ${path.join(REPORTS, 'benchmark.md')} (${r.elapsedS.toFixed(0)} s)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  process.exitCode = 1;
  console.error(error);
} finally {
  await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
}
