import { LockBusyError } from '../../domain/errors.js';
import type { Reservation } from '../../domain/reservation.js';
import { lockKeys } from '../../keys.js';
import type { Clock } from '../../ports/clock.port.js';
import type { LockPort } from '../../ports/lock.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';
import type { CatalogCache } from '../catalog/catalog-cache.js';

export interface ExpireHoldsOptions {
  /** Ended holds read per batch. */
  readonly batchSize: number;
  /** Batches per run at most, so that one run cannot go on for ever behind a flood of ended holds. */
  readonly maxBatches: number;
}

/**
 * The sweeper's round, run by every instance: ended holds become EXPIRED
 * and their seats AVAILABLE. Each under its reservation's and seat's keys,
 * fail-fast: a busy key means a payment or a reservation is deciding that
 * hold right now (or another instance's sweeper is on it), so it is skipped,
 * not waited for. The conditional updates keep it safe without the lock too:
 * only a PENDING reservation whose hold has ended expires, and only a seat
 * still held by it is released. Answers how many holds this run ended.
 */
export class ExpireHolds {
  constructor(
    private readonly lock: LockPort,
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
    private readonly cache: CatalogCache,
    private readonly options: ExpireHoldsOptions = { batchSize: 100, maxBatches: 10 },
  ) {}

  async execute(): Promise<number> {
    let expired = 0;
    for (let batch = 0; batch < this.options.maxBatches; batch++) {
      const ended = await this.tx.read((uow) => uow.reservations.findEnded(this.clock.now(), this.options.batchSize));
      let expiredNow = 0;
      const changedSchedules = new Set<string>();
      try {
        for (const reservation of ended) {
          if (!(await this.expireOne(reservation))) continue;
          expiredNow++;
          changedSchedules.add(reservation.scheduleId);
        }
      } finally {
        // Also when a later hold of the batch failed (Redis or the database gone): those before it have committed.
        for (const scheduleId of changedSchedules) await this.cache.seatChanged(scheduleId);
      }
      expired += expiredNow;
      // A short batch was the last one; a batch where nothing could be expired (all busy) would only be read again.
      if (ended.length < this.options.batchSize || expiredNow === 0) break;
    }
    return expired;
  }

  private async expireOne({ id, scheduleId, seatNo }: Reservation): Promise<boolean> {
    try {
      return await this.lock.withLock(
        [lockKeys.reservation(id), lockKeys.seat(scheduleId, seatNo)],
        (lease) =>
          this.tx.run(
            async (uow) => {
              if (!(await uow.reservations.expire(id, this.clock.now()))) return false;
              await uow.seats.release(scheduleId, seatNo, id);
              return true;
            },
            { signal: lease.signal },
          ),
        { wait: { kind: 'fail-fast' } },
      );
    } catch (error) {
      if (error instanceof LockBusyError) return false;
      throw error;
    }
  }
}
