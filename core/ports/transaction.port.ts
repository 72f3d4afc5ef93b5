import type { CatalogRepository } from './catalog.repository.js';
import type { IdempotencyRepository } from './idempotency.repository.js';
import type { PointsRepository } from './points.repository.js';
import type { ReservationRepository } from './reservation.repository.js';
import type { SeatRepository } from './seat.repository.js';

/** Repositories bound to one database transaction. */
export interface UnitOfWork {
  readonly points: PointsRepository;
  readonly idempotency: IdempotencyRepository;
  readonly catalog: CatalogRepository;
  readonly seats: SeatRepository;
  readonly reservations: ReservationRepository;
}

export interface TransactionOptions<T = unknown> {
  /** When it has fired before commit, the transaction rolls back and `run` rejects with `LeaseLostError`. */
  readonly signal?: AbortSignal;
  /**
   * The last step of the transaction: runs in it after `work` resolved,
   * with `work`'s result, and nothing but COMMIT follows it. Throwing rolls
   * everything back, and `run` rejects with what it threw. For what must
   * hold when the transaction commits, not when its work began, whatever its
   * statements waited for in between (a hold still lasting at the payment).
   */
  readonly beforeCommit?: (uow: UnitOfWork, result: T) => Promise<void>;
}

export interface TransactionPort {
  /**
   * Runs `work` in one transaction (READ COMMITTED, row write locks held to
   * commit), then `options.beforeCommit`. Commits when both resolve, rolls
   * back when either throws (and rethrows) or when `options.signal` has
   * fired before commit.
   * Rejects with `DependencyUnavailableError` when the database is down or
   * too slow (a statement or the transaction past its time bound), with
   * `LockBusyError` when a row stayed locked past the lock wait bound.
   */
  run<T>(work: (uow: UnitOfWork) => Promise<T>, options?: TransactionOptions<T>): Promise<T>;

  /**
   * Runs read-only `work` outside a transaction: each statement sees what
   * was committed when it ran, and no BEGIN/COMMIT round trips are paid.
   * For the cheap reads before a lock (fail fast) and for the read paths;
   * never for a read that a write depends on (re-read inside `run`).
   */
  read<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T>;

  /** Answers when the database is reachable; throws otherwise. */
  ping(): Promise<void>;
}
