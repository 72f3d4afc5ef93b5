import { LeaseLostError, LockBusyError } from '../../core/domain/errors.js';
import type { TransactionOptions, TransactionPort, UnitOfWork } from '../../core/ports/transaction.port.js';
import { MemoryCatalogRepository } from './memory-catalog-repository.js';
import type { MemoryTransaction } from './memory-database.js';
import { DeadlockError, MemoryDatabase } from './memory-database.js';
import { MemoryIdempotencyRepository } from './memory-idempotency-repository.js';
import { MemoryPointsRepository } from './memory-points-repository.js';
import { MemoryReservationRepository } from './memory-reservation-repository.js';
import { MemorySeatRepository } from './memory-seat-repository.js';

export interface MemoryTransactionOptions {
  /** Off only in property tests that show the invariants break without the database guards. */
  readonly guarded?: boolean;
}

export class MemoryTransactionManager implements TransactionPort {
  private readonly guarded: boolean;

  constructor(
    readonly db: MemoryDatabase = new MemoryDatabase(),
    options: MemoryTransactionOptions = {},
  ) {
    this.guarded = options.guarded ?? true;
  }

  async run<T>(work: (uow: UnitOfWork) => Promise<T>, options: TransactionOptions<T> = {}): Promise<T> {
    const { tick } = this.db;
    await tick();
    const tx = this.db.begin();
    const uow = this.unitOfWork(tx);
    try {
      const result = await work(uow);
      await tick();
      // The last step, as on Postgres: no tick between it and the commit, so
      // nothing (a property test's clock move) comes between what it judged and the commit.
      if (options.beforeCommit !== undefined) await options.beforeCommit(uow, result);
      if (options.signal?.aborted === true) throw new LeaseLostError();
      tx.commit();
      return result;
    } catch (error) {
      // As Postgres: the deadlock victim is rolled back and may be retried.
      if (error instanceof DeadlockError) throw new LockBusyError('database');
      throw error;
    } finally {
      tx.rollback();
    }
  }

  /** A transaction that is never committed: each read sees the latest committed rows, as autocommit statements do. */
  async read<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    await this.db.tick();
    const tx = this.db.begin();
    try {
      return await work(this.unitOfWork(tx));
    } finally {
      tx.rollback();
    }
  }

  async ping(): Promise<void> {}

  private unitOfWork(tx: MemoryTransaction): UnitOfWork {
    const { tick } = this.db;
    return {
      points: new MemoryPointsRepository(tx, tick, this.guarded),
      idempotency: new MemoryIdempotencyRepository(tx, tick, this.guarded),
      catalog: new MemoryCatalogRepository(tx, tick),
      seats: new MemorySeatRepository(tx, tick, this.guarded),
      reservations: new MemoryReservationRepository(tx, tick, this.guarded),
    };
  }
}
