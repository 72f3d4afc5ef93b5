import type { ScheduleWithAvailability } from '../../domain/catalog.js';
import { NotFoundError } from '../../domain/errors.js';
import { requireId } from '../../domain/validation.js';
import type { Clock } from '../../ports/clock.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';
import type { CatalogCache } from './catalog-cache.js';

/**
 * The dates of a concert with their seats free now; an unknown concert is
 * 404, not an empty list (and a 404 is not cached). Served from the cache:
 * dropped when a schedule is added; kept within 1 s of its seats' changes
 * and ended holds (CatalogCache, SEAT_MAP_CACHE_STRATEGY).
 */
export class ListSchedules {
  constructor(
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
    private readonly cache: CatalogCache,
  ) {}

  async execute(concertId: string): Promise<ScheduleWithAvailability[]> {
    requireId('concertId', concertId);
    return this.cache.schedules(concertId, () =>
      this.tx.read(async (uow) => {
        if ((await uow.catalog.findConcert(concertId)) === undefined) throw new NotFoundError(`no concert ${concertId}`);
        const now = this.clock.now();
        const schedules = await uow.catalog.listSchedules(concertId, now);
        // Only a count that leaves seats out can change without a write (a held seat's hold ends).
        const someTaken = schedules.some((schedule) => schedule.availableSeats < schedule.totalSeats);
        return { view: schedules, nextHoldEnd: someTaken ? await uow.catalog.nextHoldEnd({ concertId }, now) : undefined };
      }),
    );
  }
}
