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

export interface TransactionOptions {
  /** When it has fired before commit, the transaction rolls back and `run` rejects with `LeaseLostError`. */
  readonly signal?: AbortSignal;
}

export interface TransactionPort {
  /**
   * Runs `work` in one transaction (READ COMMITTED, row write locks held to
   * commit). Commits when `work` resolves, rolls back when it throws (and
   * rethrows) or when `options.signal` has fired before commit.
   * Rejects with `DependencyUnavailableError` when the database is down.
   */
  run<T>(work: (uow: UnitOfWork) => Promise<T>, options?: TransactionOptions): Promise<T>;

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
