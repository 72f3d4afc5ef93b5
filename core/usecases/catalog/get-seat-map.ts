import type { Seat } from '../../domain/catalog.js';
import { NotFoundError } from '../../domain/errors.js';
import { requireId } from '../../domain/validation.js';
import type { Clock } from '../../ports/clock.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';
import type { CatalogCache } from './catalog-cache.js';

/**
 * The seats of a schedule as a buyer sees them now: a hold that has ended
 * shows AVAILABLE. Served from the cache, which keeps it within 1 s of
 * the holds, sales and releases committed and of the holds that ended
 * (CatalogCache, SEAT_MAP_CACHE_STRATEGY); a stale map can only show a seat
 * that then answers 409 (writes never read the cache).
 */
export class GetSeatMap {
  constructor(
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
    private readonly cache: CatalogCache,
  ) {}

  async execute(scheduleId: string): Promise<Seat[]> {
    requireId('scheduleId', scheduleId);
    return this.cache.seats(scheduleId, () =>
      this.tx.read(async (uow) => {
        if ((await uow.catalog.findSchedule(scheduleId)) === undefined) throw new NotFoundError(`no schedule ${scheduleId}`);
        const now = this.clock.now();
        const seats = await uow.catalog.seatMap(scheduleId, now);
        // Only a map that shows a hold can go stale without a write: when that hold ends.
        const nextHoldEnd = seats.some((seat) => seat.status === 'HELD') ? await uow.catalog.nextHoldEnd({ scheduleId }, now) : undefined;
        return { view: seats, nextHoldEnd };
      }),
    );
  }
}
