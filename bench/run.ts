/**
 * `npm run bench`: measures this machine against real Redis and Postgres and
 * writes reports/benchmark.md plus its SVG charts. Every figure is set beside
 * a ceiling measured in this same run (see report.ts). Isolated: a database
 * and a Redis key prefix of its own, both removed at the end, even on Ctrl-C.
 *
 * BENCH_QUICK=true shortens every time window (nothing else: same loads,
 * same counts) to check that the scenarios run; its figures are too noisy
 * to publish, so it writes its report to a temporary folder, never reports/.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { DEFAULT_DATABASE_POOL_SIZE } from '../app/config.js';
import { createKysely } from '../adapters/kysely/create-kysely.js';
import { migrateToLatest } from '../adapters/kysely/migrate.js';
import { createRedis } from '../adapters/redis/create-redis.js';
import { bareHono, jwtVerifyCost, pgPayTransaction, pgReserveTransaction, pgWriteTransaction } from './ceilings.js';
import { chargeOverHttp } from './charge.js';
import { benchFailure, failureOk } from './failure.js';
import type { ChargeFigures } from './charge.js';
import { lockAndRoundTrip } from './lock.js';
import { benchQueue } from './queue.js';
import type { Results } from './report.js';
import { JWT_TARGETS, jwtShares, NOT_IDLE, renderCharts, renderReport } from './report.js';
import { benchReservations } from './reservation.js';
import { benchQueries, QUERIES_QUICK_SCALE, queriesCleanup } from './queries/bench-queries.js';
import { benchCacheStrategies, cacheStrategiesCleanup } from './cache-strategies/bench.js';
import { benchLocks, locksCleanup } from './locks/bench.js';
import { measureStartup } from './startup.js';
import { measureLiveView } from './live-view.js';
import { busyShare, machineCpu, startChild } from './support.js';
import { formatNumber } from './svg.js';
import { deleteKeysUnder, dropDatabase } from './cleanup.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
const QUICK = process.env.BENCH_QUICK === 'true';

const SETTINGS = {
  quick: QUICK,
  // Same for every HTTP load and for the bare transaction's callers, so the ratios compare like with like.
  connections: 32,
  // The app's pool (DATABASE_POOL_SIZE's default), so the bare transaction has the same connections.
  poolSize: DEFAULT_DATABASE_POOL_SIZE,
  lockCalls: 5_000,
  txSeconds: QUICK ? 2 : 5,
  loadSeconds: QUICK ? 3 : 8,
  warmupSeconds: QUICK ? 1 : 2,
  // Reserve and pay (bench/reservation.ts): distinct seats (each with its own user and ACTIVE token) made ready for the reserve
  // load, and then for paying: since reserving also counts the buyer's seats, paying can outrun it, so more than the reserve windows use.
  reserveCapacity: 20_000,
  hotAttempts: 1_000,
  hotRounds: 3,
  // Fewer connections than the pool has: the lock hold without the wait for a pooled connection.
  lightConnections: 4,
  lightSeconds: QUICK ? 1 : 3,
  // The access-token verification cost (ceilings.ts, jwtVerifyCost): each of its three variants gets `jwtRounds` windows this long, interleaved.
  jwtWindowSeconds: QUICK ? 2 : 4,
  jwtRounds: 2,
};

// A shortened run must not overwrite the published report: its figures would stand there as if measured properly.
const REPORTS = QUICK ? path.join(os.tmpdir(), `bench-quick-${process.pid}`) : fileURLToPath(new URL('../reports/', import.meta.url));

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const id = randomBytes(4).toString('hex');
/**
 * AUTH_JWT_SECRET of every service child this run starts (the service will
 * not start on Postgres or Redis without one), and the key the bench signs
 * its users' access tokens with. New each run: 64 hex characters, 256 bits.
 */
const AUTH_SECRET = randomBytes(32).toString('hex');
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
    // Query report: its database and keys, also when a signal cuts the run short
    await queriesCleanup().catch((error: unknown) => console.error('query report cleanup failed:', error));
    // Cache strategies: its instances, database and keys
    await cacheStrategiesCleanup().catch((error: unknown) => console.error('cache strategies cleanup failed:', error));
    await locksCleanup().catch((error: unknown) => console.error('lock report cleanup failed:', error));
    if (redis !== undefined) {
      const deleted = await deleteKeysUnder(redis, prefix);
      await redis.quit().catch(() => redis?.disconnect());
      log(`deleted ${deleted} Redis keys under ${prefix}`);
    }
    await dropDatabase(DATABASE_URL, dbName);
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
    cores: cpus.length,
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
  log('ceiling: Postgres reservation and payment write transactions');
  const txOptions = { poolSize: SETTINGS.poolSize, concurrency: SETTINGS.connections, durationS: SETTINGS.txSeconds };
  const saleTx = { reserve: await pgReserveTransaction(benchDbUrl, txOptions), pay: await pgPayTransaction(benchDbUrl, txOptions) };
  log('ceiling: bare Hono routes (GET, JSON POST)');
  const hono = await bareHono({ connections: SETTINGS.connections, durationS: SETTINGS.loadSeconds, warmupS: SETTINGS.warmupSeconds });
  log('ceiling: access-token verification, the same Hono route with and without it (cache miss, cache hit)');
  const jwt = await jwtVerifyCost({
    authSecret: AUTH_SECRET,
    connections: SETTINGS.connections,
    windowS: SETTINGS.jwtWindowSeconds,
    warmupS: SETTINGS.warmupSeconds,
    rounds: SETTINGS.jwtRounds,
  });

  const load = { connections: SETTINGS.connections, durationS: SETTINGS.loadSeconds, warmupS: SETTINGS.warmupSeconds };
  log('charge over HTTP: distinct users, then one hot user');
  const charge = await chargeOverHttp({
    ...load,
    env: { ...process.env, DATABASE_URL: benchDbUrl, REDIS_URL, REDIS_PREFIX: prefix },
    hotUser: true,
    tag: 'r',
    authSecret: AUTH_SECRET,
  });
  log('charge over HTTP: distinct users, same Postgres, in-process lock (REDIS_URL unset)');
  const localLock = await chargeOverHttp({
    ...load,
    env: { ...process.env, DATABASE_URL: benchDbUrl, REDIS_URL: undefined },
    hotUser: false,
    tag: 'l',
    authSecret: AUTH_SECRET,
  });
  let embedded: ChargeFigures | undefined;
  if (process.env.BENCH_SKIP_EMBEDDED !== 'true') {
    log('charge over HTTP, embedded mode (PGlite, in-process lock)');
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-pglite-'));
    embedded = await chargeOverHttp({
      ...load,
      // AUTH_JWT_SECRET too (chargeOverHttp sets it): the embedded service then verifies with it instead of a secret of its own in DATA_DIR.
      env: { ...process.env, DATABASE_URL: undefined, REDIS_URL: undefined, DATA_DIR: dataDir },
      hotUser: false,
      tag: 'e',
      authSecret: AUTH_SECRET,
    });
  }

  log('waiting queue: token issue over HTTP, bare Redis SET and script, admission rounds');
  const queueChild = await startChild(fileURLToPath(new URL('./serve.ts', import.meta.url)), {
    ...process.env,
    DATABASE_URL: benchDbUrl,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    AUTH_JWT_SECRET: AUTH_SECRET,
    PORT: '0',
    LOG_LEVEL: 'warn',
    SEED_DEMO: 'false',
  });
  // authSecret: bench/queue.ts signs its users' access tokens with it, for POST /queue/tokens.
  const queue = await benchQueue({ redisUrl: REDIS_URL, prefix, serviceUrl: queueChild.url, authSecret: AUTH_SECRET, ...load }).finally(() => queueChild.stop());

  log('reserve and pay over HTTP: distinct seats, then one hot seat');
  const sale = await benchReservations({
    ...load,
    // A Redis prefix of its own: the queue run above left its waiting line under `prefix`.
    env: { ...process.env, DATABASE_URL: benchDbUrl, REDIS_URL, REDIS_PREFIX: `${prefix}sale:` },
    authSecret: AUTH_SECRET,
    reserveCapacity: SETTINGS.reserveCapacity,
    hotAttempts: SETTINGS.hotAttempts,
    hotRounds: SETTINGS.hotRounds,
    lightConnections: SETTINGS.lightConnections,
    lightS: SETTINGS.lightSeconds,
  });

  log('start-up time and memory: embedded and distributed, through tsx and compiled');
  const startup = await measureStartup({ databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, idleSeconds: QUICK ? 1 : 2, loadSeconds: QUICK ? 2 : 4, connections: SETTINGS.connections, log });

  // Failure: sell-outs with and without faults, each on a database, key prefix or redis-server of its own.
  log('failure: the sell-out at full scale with and without a fault, and once per fault at small scale');
  const failure = await benchFailure({ redisUrl: REDIS_URL, databaseUrl: DATABASE_URL, quick: QUICK, log });

  // Live view: 1,000 watchers polling the seat map vs on its server-sent events stream, on an embedded child of its own.
  log('live view: 1,000 watchers polling vs streaming the seat map');
  const liveView = await measureLiveView({ watchers: 1_000, windowS: QUICK ? 4 : 10, warmupS: QUICK ? 1 : 3, log });

  const results: Results = {
    date: new Date(),
    machine: await machine(),
    busyBeforeStart: idleCheck,
    settings: SETTINGS,
    lock,
    tx,
    saleTx,
    hono,
    jwt,
    charge,
    localLock,
    embedded,
    queue,
    sale,
    startup,
    failure,
    liveView,
    elapsedS: (performance.now() - started) / 1000,
  };
  await mkdir(REPORTS, { recursive: true });
  for (const [file, svg] of Object.entries(renderCharts(results))) await writeFile(path.join(REPORTS, file), svg);
  await writeFile(path.join(REPORTS, 'benchmark.md'), renderReport(results));
  printSummary(results);
  if (QUICK) log(`BENCH_QUICK: shortened windows; report written to ${REPORTS}, not reports/`);
  if (!failureOk(failure)) {
    process.exitCode = 1;
    console.error('failure section: a sell-out broke an invariant, lost a buyer, broke a time bound or missed its fault (see the report)');
  }
  // The one figure that is about correctness, not speed: any other count than one winner per hot seat is a bug.
  const wrong = sale.hot.filter((round) => round.winners !== 1);
  if (wrong.length > 0) {
    process.exitCode = 1;
    console.error(`hot seat: ${wrong.map((round) => round.winners).join(', ')} winners in ${wrong.length} round(s), not exactly 1`);
  }
  // Query report: reports/queries.md, on a database and key prefix of its own (bench/queries/)
  log('query report: a realistic database, every statement planned, cache on and off');
  const queries = await benchQueries({ scale: QUICK ? QUERIES_QUICK_SCALE : 1, quick: QUICK, reportDir: REPORTS, databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, log });
  log(`query report: ${queries.reportPath}`);
  // Cache strategies: reports/cache-strategies.md, on a database and key prefix of its own (bench/cache-strategies/)
  log('cache strategies: a sale on 3 instances under no cache, delete, ttl and refresh');
  const strategies = await benchCacheStrategies({ quick: QUICK, reportDir: REPORTS, databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, log });
  log(`cache strategies: ${strategies.reportPath}`);
  // Lock report: reports/locks.md, on a database and key prefix of its own (bench/locks/)
  log('lock report: every lock strategy on every workload, and the lock-hold profile');
  const locks = await benchLocks({ quick: QUICK, reportDir: REPORTS, databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, log });
  log(`lock report: ${locks.reportPath}`);
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
    line('JWT verify, CPU/req', `miss +${f(r.jwt.missCpuMs * 1000)} us, hit +${f(r.jwt.hitCpuMs * 1000)} us over ${f(r.jwt.plain.cpuMsPerRequest * 1000)} us unverified (verify() alone: ${f(r.jwt.loopMissCpuMs * 1000)} / ${f(r.jwt.loopHitCpuMs * 1000)} us)`),
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
  const q = r.queue;
  lines.push(
    line('token issue', `${f(q.issue.createdRps)} req/s  p50 ${f(q.issue.p50)} ms  p99 ${f(q.issue.p99)} ms  non2xx ${q.issue.non2xx}`),
    line('', `= ${f(q.issueOverSet)}x SET pipelined (${f(q.set.opsPerS)}/s, target >= 0.25), ${f(q.issueOverSetOneAtATime)}x SET one at a time (${f(q.setOneAtATime.opsPerS)}/s), ${f(q.issue.createdRps / r.hono.post.okRps)}x Hono POST`),
    line('admission round p50', `${q.admission.map((a) => `${f(a.round.p50)} ms @ ${a.waiting}`).join(', ')}  growth ${f(q.admissionGrowth)}x (target <= 2)`),
  );
  const s = r.sale;
  const seat = s.reserve.locks.find((l) => l.family === 'seat');
  const seatLight = s.reserveLight.locks.find((l) => l.family === 'seat');
  const pay3 = s.pay.locks.find((l) => l.family === 'point+reservation+seat');
  const pay3Light = s.payLight.locks.find((l) => l.family === 'point+reservation+seat');
  lines.push(
    line('Postgres reserve tx', `${f(r.saleTx.reserve.txPerS)} tx/s  p50 ${f(r.saleTx.reserve.latency.p50)} ms;  pay tx ${f(r.saleTx.pay.txPerS)} tx/s  p50 ${f(r.saleTx.pay.latency.p50)} ms`),
    line('reserve distinct', `${f(s.reserve.load.okRps)} req/s  p50 ${f(s.reserve.load.p50)} ms  p99 ${f(s.reserve.load.p99)} ms  non2xx ${s.reserve.load.non2xx}${s.reserve.load.exhausted ? ' (ran out of seats)' : ''}`),
    line('', `= ${f(s.reserve.load.okRps / r.saleTx.reserve.txPerS)}x bare reserve tx (target >= 0.5), ${f(s.reserve.load.okRps / r.tx.txPerS)}x bare charge tx, ${f(s.reserve.load.okRps / r.hono.post.okRps)}x Hono POST; service ${s.reserve.serviceCores.toFixed(2)} cores, ${f(s.reserve.serviceCpuMsPerRequest)} ms CPU/reserve`),
    line('', `seat hold p50 ~${f(seat?.holdP50 ?? NaN)} ms p99 ~${f(seat?.holdP99 ?? NaN)} ms; with ${s.lightConnections} conns ${f(s.reserveLight.load.okRps)} req/s, hold p50 ~${f(seatLight?.holdP50 ?? NaN)} ms (target <= 3)`),
    line('JWT / reserve CPU', `${(jwtShares(r).miss * 100).toFixed(1)} % cache miss (target <= ${JWT_TARGETS.shareOfReserve * 100} %), ${(jwtShares(r).hit * 100).toFixed(1)} % cache hit; this run's reserves: cache ${s.reserveTokenCache}`),
    line('pay', `${f(s.pay.load.okRps)} req/s  p50 ${f(s.pay.load.p50)} ms  p99 ${f(s.pay.load.p99)} ms  non2xx ${s.pay.load.non2xx}${s.pay.load.exhausted ? ' (ran out of reservations)' : ''}  = ${f(s.pay.load.okRps / r.saleTx.pay.txPerS)}x bare pay tx`),
    line('', `point+reservation+seat hold p50 ~${f(pay3?.holdP50 ?? NaN)} ms p99 ~${f(pay3?.holdP99 ?? NaN)} ms; with ${s.lightConnections} conns ${f(s.payLight.load.okRps)} req/s, hold p50 ~${f(pay3Light?.holdP50 ?? NaN)} ms`),
    ...s.hot.map((round, i) =>
      line(i === 0 ? 'hot seat' : '', `round ${i + 1}: ${round.winners} x 201 (must be 1), all ${round.attempts} answered in ${f(round.allAnsweredMs)} ms (target <= 1000)  p50 ${f(round.latency.p50)} ms  p99 ${f(round.latency.p99)} ms  ${JSON.stringify(round.codes)}`),
    ),
  );
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
