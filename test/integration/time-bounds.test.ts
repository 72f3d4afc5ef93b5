/**
 * The time bounds of app/time-bounds.ts as the real dependencies apply
 * them: createKysely threads them into every Postgres connection, the
 * transaction manager keeps its budget, a stalled statement becomes a 409
 * or a 503 at its bound (never a hang, never a 500), and the lock's lease
 * is the one the bounds were derived from. Faults are made on a database
 * of this file's own (another session's row lock, a black-holed
 * connection), never on the shared server.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CreateKyselyOptions, DatabaseTimeBounds } from '../../adapters/kysely/create-kysely.js';
import { createKysely } from '../../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../../adapters/kysely/kysely-transaction.js';
import { migrateToLatest } from '../../adapters/kysely/migrate.js';
import type { Database } from '../../adapters/kysely/schema.js';
import { RedisLock } from '../../adapters/redis/redis-lock.js';
import { DATABASE_TIME_BOUNDS, DB_LOCK_TIMEOUT_MS, DB_STATEMENT_TIMEOUT_MS, LOCK_LEASE_MS } from '../../app/time-bounds.js';
import { DependencyUnavailableError, LockBusyError } from '../../core/domain/errors.js';
import { startBlackHoleProxy } from '../support/black-hole-proxy.js';
import type { IsolatedDatabase } from '../support/isolated-database.js';
import { createIsolatedDatabase } from '../support/isolated-database.js';
import { createIsolatedRedis } from '../support/isolated-redis.js';
import type { DatabaseObserver, RowLocker } from '../support/postgres-session-faults.js';
import { holdRowLocks, observeDatabase, pollUntil } from '../support/postgres-session-faults.js';

const LIMIT = 1_000_000;
/** What the time a request took may exceed its bound by: scheduling on a busy two-core machine, not a second wait. */
const SLACK_MS = 750;

let database: IsolatedDatabase;
let observer: DatabaseObserver;
const opened: Kysely<Database>[] = [];
const lockers: RowLocker[] = [];

beforeAll(async () => {
  database = await createIsolatedDatabase(inject('databaseUrl'));
  const setup = await createKysely({ databaseUrl: database.url, dataDir: 'memory://' });
  await migrateToLatest(setup);
  await setup.destroy();
  observer = await observeDatabase(inject('databaseUrl'), database.url);
});

afterEach(async () => {
  await Promise.all(lockers.splice(0).map((locker) => locker.release()));
  await Promise.all(opened.splice(0).map((db) => db.destroy().catch(() => undefined)));
  const cleanup = await createKysely({ databaseUrl: database.url, dataDir: 'memory://' });
  await sql`truncate user_points, point_history, idempotency_keys`.execute(cleanup);
  await cleanup.destroy();
});

afterAll(async () => {
  await observer?.close();
  await database?.drop();
});

async function open(options: Partial<CreateKyselyOptions> & { timeBounds?: DatabaseTimeBounds; budgetMs?: number } = {}) {
  const { budgetMs, ...rest } = options;
  const db = await createKysely({ databaseUrl: database.url, dataDir: 'memory://', timeBounds: DATABASE_TIME_BOUNDS, ...rest });
  opened.push(db);
  return { db, tx: new KyselyTransactionManager(db, budgetMs === undefined ? {} : { budgetMs }) };
}

/** u1's wallet, then another session holding its row (FOR UPDATE) until the test releases it. */
async function walletLockedElsewhere(): Promise<RowLocker> {
  const { tx } = await open();
  await tx.run((uow) => uow.points.credit('u1', 1_000, LIMIT));
  const locker = await holdRowLocks(database.url, 'select 1 from user_points where user_id = $1 for update', ['u1']);
  lockers.push(locker);
  return locker;
}

async function timed<T>(promise: Promise<T>): Promise<{ outcome: PromiseSettledResult<T>; ms: number }> {
  const started = Date.now();
  const [outcome] = await Promise.allSettled([promise]);
  return { outcome: outcome!, ms: Date.now() - started };
}

function rejection(outcome: PromiseSettledResult<unknown>): unknown {
  if (outcome.status !== 'rejected') throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
  return outcome.reason;
}

describe('Postgres time bounds (createKysely, KyselyTransactionManager)', () => {
  it('sets statement_timeout, lock_timeout and idle_in_transaction_session_timeout on every connection', async () => {
    const { db } = await open();
    const { rows } = await sql<{ statement: string; lock: string; idle: string }>`
      select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock,
             current_setting('idle_in_transaction_session_timeout') as idle`.execute(db);
    const ms = (value: number) => (value % 1_000 === 0 ? `${value / 1_000}s` : `${value}ms`);
    expect(rows[0]).toEqual({
      statement: ms(DATABASE_TIME_BOUNDS.statementTimeoutMs),
      lock: ms(DATABASE_TIME_BOUNDS.lockTimeoutMs),
      idle: ms(DATABASE_TIME_BOUNDS.idleInTransactionTimeoutMs),
    });
  });

  it('answers LOCK_BUSY (409) at the lock timeout to a write on a row another session holds, while it still holds it, writing nothing', async () => {
    await walletLockedElsewhere();
    const { tx } = await open();
    const { outcome, ms } = await timed(
      tx.run(async (uow) => {
        await uow.points.appendHistory({ userId: 'u1', kind: 'USE', amount: 1, balanceAfter: 999, at: new Date() });
        return uow.points.debit('u1', 1);
      }),
    );
    expect(rejection(outcome)).toBeInstanceOf(LockBusyError);
    expect(ms).toBeGreaterThanOrEqual(DB_LOCK_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(DB_LOCK_TIMEOUT_MS + SLACK_MS);
    // The other session has not let go: the answer did not wait for it.
    expect(await observer.sessions('idle in transaction')).toBe(1);
    await expect(tx.read((uow) => uow.points.history('u1', 10))).resolves.toEqual([]);
  });

  it('answers SERVICE_UNAVAILABLE (503) at the statement timeout to a statement that runs too long', async () => {
    const { db, tx } = await open();
    const { outcome, ms } = await timed(tx.read(() => sql`select pg_sleep(30)`.execute(db)));
    // Ended by the server (57014 query_canceled), not by the client's query timeout.
    expect(rejection(outcome)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', dependency: 'database', cause: { code: '57014' } });
    expect(ms).toBeGreaterThanOrEqual(DB_STATEMENT_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(DB_STATEMENT_TIMEOUT_MS + SLACK_MS);
    // The server cancelled the statement and kept the session: the pool goes on with it.
    await expect(tx.read((uow) => uow.points.balanceOf('u1'))).resolves.toBe(0);
  });

  it('lets the server end a transaction left idle past its bound (a frozen process): its COMMIT never happens, nothing is written', async () => {
    const { tx } = await open({ timeBounds: { ...DATABASE_TIME_BOUNDS, idleInTransactionTimeoutMs: 300 } });
    const run = tx.run(async (uow) => {
      await uow.points.credit('u1', 500, LIMIT);
      // Frozen: no statement until the server has ended the session.
      await pollUntil('the idle transaction to be ended', async () => (await observer.sessions('idle in transaction')) === 0 && (await observer.sessions()) === 0);
      return uow.points.balanceOf('u1');
    });
    await expect(run).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', dependency: 'database' });
    await expect(tx.run((uow) => uow.points.balanceOf('u1'))).resolves.toBe(0);
  });

  it('stops a transaction at its budget: no statement starts after it, and it rolls back with 503', async () => {
    // A longer lock timeout than the budget, so that the wait below outlasts the budget without being ended by it.
    const budgetMs = 300;
    const locker = await walletLockedElsewhere();
    const { tx } = await open({ timeBounds: { ...DATABASE_TIME_BOUNDS, lockTimeoutMs: 10_000, statementTimeoutMs: 10_000, queryTimeoutMs: 11_000 }, budgetMs });
    const started = Date.now();
    let credited = false;
    const run = tx.run(async (uow) => {
      await uow.points.credit('u1', 500, LIMIT);
      credited = true;
      await uow.points.appendHistory({ userId: 'u1', kind: 'CHARGE', amount: 500, balanceAfter: 1_500, at: new Date() });
    });
    // It may reject while the test is still releasing the row: marked handled here, asserted on below.
    run.catch(() => undefined);
    await pollUntil('the credit to wait on the row lock', async () => (await observer.lockWaiters([locker.pid])) === 1);
    // The budget passing is the fault itself, not a synchronisation.
    await pollUntil('the budget to pass', () => Date.now() - started > budgetMs);
    await locker.release();
    await expect(run).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', dependency: 'database' });
    expect(credited).toBe(true);
    await expect(tx.read((uow) => uow.points.balanceOf('u1'))).resolves.toBe(1_000);
    await expect(tx.read((uow) => uow.points.history('u1', 10))).resolves.toEqual([]);
  });

  it('gives up a black-holed connection at the query timeout, destroys it, and serves the next query on a fresh one', async () => {
    const upstream = new URL(database.url);
    const proxy = await startBlackHoleProxy({ host: upstream.hostname, port: Number(upstream.port) });
    try {
      const viaProxy = new URL(database.url);
      viaProxy.hostname = proxy.host;
      viaProxy.port = String(proxy.port);
      const queryTimeoutMs = 500;
      const { tx } = await open({
        databaseUrl: viaProxy.toString(),
        poolSize: 1,
        timeBounds: { ...DATABASE_TIME_BOUNDS, queryTimeoutMs },
      });
      await expect(tx.read((uow) => uow.points.balanceOf('u1'))).resolves.toBe(0);
      expect(proxy.accepted()).toBe(1);
      proxy.blackHoleOpenConnections();

      // Outside a transaction: nothing else would ever give the silent connection up.
      const read = await timed(tx.read((uow) => uow.points.balanceOf('u1')));
      expect(rejection(read.outcome)).toBeInstanceOf(DependencyUnavailableError);
      expect(read.ms).toBeLessThan(queryTimeoutMs + SLACK_MS);
      const next = await timed(tx.read((uow) => uow.points.balanceOf('u1')));
      expect(next.outcome).toEqual({ status: 'fulfilled', value: 0 });
      expect(next.ms).toBeLessThan(queryTimeoutMs);
      expect(proxy.accepted()).toBe(2);

      // Mid-transaction: the ROLLBACK after the timeout fails at once instead of waiting out a second timeout,
      // and the server, its session closed, rolls the credit back.
      const run = await timed(
        tx.run(async (uow) => {
          await uow.points.credit('u1', 5, LIMIT);
          proxy.blackHoleOpenConnections();
          return uow.points.balanceOf('u1');
        }),
      );
      expect(rejection(run.outcome)).toBeInstanceOf(DependencyUnavailableError);
      expect(run.ms).toBeLessThan(queryTimeoutMs + SLACK_MS / 2);
      await expect(tx.run((uow) => uow.points.balanceOf('u1'))).resolves.toBe(0);
      expect(proxy.accepted()).toBe(3);
    } finally {
      await proxy.close();
    }
  });

  it('leaves embedded PGlite working with the bounds passed (it has no use for them)', async () => {
    const db = await createKysely({ dataDir: 'memory://', timeBounds: DATABASE_TIME_BOUNDS });
    opened.push(db);
    await migrateToLatest(db);
    const tx = new KyselyTransactionManager(db, { budgetMs: 4_000 });
    await expect(tx.run((uow) => uow.points.credit('u1', 5, LIMIT))).resolves.toBe(5);
  });
});

describe('the lock lease the bounds are derived from', () => {
  it('is the lease a Redis lock key really gets', async () => {
    const redis = createIsolatedRedis(inject('redisUrl'));
    try {
      const lock = new RedisLock(redis.redis, { prefix: redis.prefix });
      const ttl = await lock.withLock(['point:u1'], () => redis.redis.pttl(`${redis.prefix}lock:point:u1`), { wait: { kind: 'fail-fast' } });
      expect(ttl).toBeLessThanOrEqual(LOCK_LEASE_MS);
      expect(ttl).toBeGreaterThan(LOCK_LEASE_MS - 1_000);
    } finally {
      await redis.cleanup();
    }
  });
});
