/**
 * The bench-only factory: one LockPort and one TransactionPort per strategy,
 * for the use cases as they ship. The service itself keeps one strategy
 * (RedisLock + KyselyTransactionManager: the first below).
 */
import type { Kysely } from 'kysely';
import type { Lease, LockOptions, LockPort } from '../../../core/ports/lock.port.js';
import type { TransactionPort } from '../../../core/ports/transaction.port.js';
import { KyselyTransactionManager } from '../../../adapters/kysely/kysely-transaction.js';
import type { Database } from '../../../adapters/kysely/schema.js';
import { DB_TRANSACTION_BUDGET_MS } from '../../../app/time-bounds.js';
import type { InsideTransaction, WorkCounters } from './bench-transaction.js';
import { BenchTransaction, CountingTransaction, guardedUnitOfWork, RetryingTransaction } from './bench-transaction.js';
import { advisoryLocks, rowLocks } from './database-locks.js';
import { DeferredLock, unlosableLease } from './deferred-lock.js';
import { optimisticUnitOfWork } from './optimistic-uow.js';
import { unguardedUnitOfWork } from './unguarded-uow.js';

export type StrategyId = 'redis' | 'guards' | 'row' | 'advisory' | 'optimistic' | 'in-tx' | 'before-tx' | 'none';

export interface StrategyContext {
  readonly db: Kysely<Database>;
  /** The shipped Redis lock, on the bench's own key prefix. */
  readonly redisLock: LockPort;
  readonly counters: WorkCounters;
}

export interface Strategy {
  readonly id: StrategyId;
  readonly name: string;
  /** The database guards (guarded statements, CHECK, unique indexes) are on. */
  readonly guards: boolean;
  /** A wrong order, run to count its damage, not a candidate. */
  readonly wrong: boolean;
  build(ctx: StrategyContext): { readonly lock: LockPort; readonly tx: TransactionPort };
}

/** The Redis lock taken inside the transaction, after BEGIN, and released when the work ends: before COMMIT. */
const redisInsideTransaction =
  (lock: LockPort): InsideTransaction =>
  <T>(_trx: Kysely<Database>, groups: readonly { keys: readonly string[]; wait: LockOptions['wait'] }[], work: () => Promise<T>): Promise<T> =>
    groups.reduceRight<() => Promise<T>>((inner, group) => () => lock.withLock(group.keys, () => inner(), { wait: group.wait }), work)();

/** The Redis lock taken and released before the transaction begins: it covers only what was checked before it. */
class ReleasedBeforeTransaction implements LockPort {
  constructor(private readonly inner: LockPort) {}

  async withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>, options: LockOptions): Promise<T> {
    await this.inner.withLock(keys, async () => undefined, options);
    return work(unlosableLease(keys));
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}

const counted = (ctx: StrategyContext, tx: TransactionPort) => new CountingTransaction(tx, ctx.counters);
const shippedTransaction = (ctx: StrategyContext) => counted(ctx, new KyselyTransactionManager(ctx.db, { budgetMs: DB_TRANSACTION_BUDGET_MS }));

export const STRATEGIES: readonly Strategy[] = [
  {
    id: 'redis',
    name: 'Redis lock + database guards (ships)',
    guards: true,
    wrong: false,
    build: (ctx) => ({ lock: ctx.redisLock, tx: shippedTransaction(ctx) }),
  },
  {
    id: 'guards',
    name: 'database guards alone',
    guards: true,
    wrong: false,
    build: (ctx) => ({ lock: new DeferredLock(), tx: shippedTransaction(ctx) }),
  },
  {
    id: 'row',
    name: 'Postgres row locks (FOR UPDATE)',
    guards: true,
    wrong: false,
    build: (ctx) => ({ lock: new DeferredLock(), tx: counted(ctx, new BenchTransaction(ctx.db, { unitOfWork: guardedUnitOfWork, inside: rowLocks })) }),
  },
  {
    id: 'advisory',
    name: 'Postgres advisory locks',
    guards: true,
    wrong: false,
    build: (ctx) => ({ lock: new DeferredLock(), tx: counted(ctx, new BenchTransaction(ctx.db, { unitOfWork: guardedUnitOfWork, inside: advisoryLocks })) }),
  },
  {
    id: 'optimistic',
    name: 'optimistic (version check, retry)',
    guards: true,
    wrong: false,
    build: (ctx) => ({
      lock: new DeferredLock(),
      tx: new RetryingTransaction(counted(ctx, new BenchTransaction(ctx.db, { unitOfWork: optimisticUnitOfWork })), ctx.counters),
    }),
  },
  {
    id: 'in-tx',
    name: 'wrong: lock inside tx, released before COMMIT, no guards',
    guards: false,
    wrong: true,
    build: (ctx) => ({
      lock: new DeferredLock(),
      tx: counted(ctx, new BenchTransaction(ctx.db, { unitOfWork: unguardedUnitOfWork, inside: redisInsideTransaction(ctx.redisLock) })),
    }),
  },
  {
    id: 'before-tx',
    name: 'wrong: lock released before the tx, no guards',
    guards: false,
    wrong: true,
    build: (ctx) => ({ lock: new ReleasedBeforeTransaction(ctx.redisLock), tx: counted(ctx, new BenchTransaction(ctx.db, { unitOfWork: unguardedUnitOfWork })) }),
  },
  {
    id: 'none',
    name: 'wrong: no lock, no guards',
    guards: false,
    wrong: true,
    build: (ctx) => ({ lock: new DeferredLock(), tx: counted(ctx, new BenchTransaction(ctx.db, { unitOfWork: unguardedUnitOfWork })) }),
  },
];
