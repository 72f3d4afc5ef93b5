/**
 * TransactionPorts for the strategies that the shipped one cannot express:
 * the same transaction (READ COMMITTED, the repositories of a unit of work)
 * with a hook that runs inside it around the use case's work (to take
 * database locks first, or a Redis lock released before COMMIT), over
 * repositories of the strategy's choosing (guarded, optimistic, unguarded).
 * And two decorators: one counts rolled-back transactions, one retries a
 * transaction whose optimistic version check failed.
 */
import type { Kysely } from 'kysely';
import { LockBusyError } from '../../../core/domain/errors.js';
import type { TransactionOptions, TransactionPort, UnitOfWork } from '../../../core/ports/transaction.port.js';
import { KyselyCatalogRepository } from '../../../adapters/kysely/kysely-catalog-repository.js';
import { KyselyIdempotencyRepository } from '../../../adapters/kysely/kysely-idempotency-repository.js';
import { KyselyPointsRepository } from '../../../adapters/kysely/kysely-points-repository.js';
import { KyselyReservationRepository } from '../../../adapters/kysely/kysely-reservation-repository.js';
import { KyselySeatRepository } from '../../../adapters/kysely/kysely-seat-repository.js';
import type { Database } from '../../../adapters/kysely/schema.js';
import { translateError } from '../../../adapters/kysely/translate-error.js';
import type { KeyGroup } from './deferred-lock.js';
import { pendingKeys } from './deferred-lock.js';

/** An optimistic write found its row changed since it was read: the transaction rolls back and is tried again. */
export class VersionConflictError extends Error {
  constructor(what: string) {
    super(`${what} changed since it was read`);
    this.name = 'VersionConflictError';
  }
}

/** The shipped repositories: every write guarded by its own statement and the schema's constraints. */
export function guardedUnitOfWork(db: Kysely<Database>): UnitOfWork {
  return {
    points: new KyselyPointsRepository(db),
    idempotency: new KyselyIdempotencyRepository(db),
    catalog: new KyselyCatalogRepository(db),
    seats: new KyselySeatRepository(db),
    reservations: new KyselyReservationRepository(db),
  };
}

/** Runs inside the transaction, before and around the use case's work, with the keys its LockPort deferred. */
export type InsideTransaction = <T>(trx: Kysely<Database>, groups: readonly KeyGroup[], work: () => Promise<T>) => Promise<T>;

export interface BenchTransactionOptions {
  readonly unitOfWork: (db: Kysely<Database>) => UnitOfWork;
  readonly inside?: InsideTransaction;
}

export class BenchTransaction implements TransactionPort {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: BenchTransactionOptions,
  ) {}

  async run<T>(work: (uow: UnitOfWork) => Promise<T>, options: TransactionOptions<T> = {}): Promise<T> {
    const groups = pendingKeys();
    const inside: InsideTransaction = this.options.inside ?? ((_trx, _groups, run) => run());
    try {
      return await this.db
        .transaction()
        .setIsolationLevel('read committed')
        .execute(async (trx) => {
          const uow = this.options.unitOfWork(trx);
          const result = await inside(trx, groups, () => work(uow));
          await options.beforeCommit?.(uow, result);
          return result;
        });
    } catch (error) {
      if (error instanceof VersionConflictError) throw error;
      throw translateError(error);
    }
  }

  async read<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    try {
      return await work(this.options.unitOfWork(this.db));
    } catch (error) {
      throw translateError(error);
    }
  }

  async ping(): Promise<void> {}
}

/** Wasted work of one run, counted where it happens. */
export interface WorkCounters {
  transactions: number;
  rolledBack: number;
  retries: number;
}

export function newCounters(): WorkCounters {
  return { transactions: 0, rolledBack: 0, retries: 0 };
}

/** Counts every transaction and every one that did not commit (its `run` rejected). */
export class CountingTransaction implements TransactionPort {
  constructor(
    private readonly inner: TransactionPort,
    private readonly counters: WorkCounters,
  ) {}

  async run<T>(work: (uow: UnitOfWork) => Promise<T>, options?: TransactionOptions<T>): Promise<T> {
    this.counters.transactions++;
    try {
      return await this.inner.run(work, options);
    } catch (error) {
      this.counters.rolledBack++;
      throw error;
    }
  }

  read<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.inner.read(work);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}

/** How often an optimistic transaction is tried before the request is refused (409, as a busy lock would be). */
export const OPTIMISTIC_ATTEMPTS = 10;

/** Tries a transaction again while its version check fails, at most OPTIMISTIC_ATTEMPTS times, with a short random back-off. */
export class RetryingTransaction implements TransactionPort {
  constructor(
    private readonly inner: TransactionPort,
    private readonly counters: WorkCounters,
  ) {}

  async run<T>(work: (uow: UnitOfWork) => Promise<T>, options?: TransactionOptions<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.inner.run(work, options);
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        if (attempt >= OPTIMISTIC_ATTEMPTS) throw new LockBusyError('optimistic version check');
        this.counters.retries++;
        // Up to 1 ms per attempt so far: the losers of one round do not all come back together.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
      }
    }
  }

  read<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.inner.read(work);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}
