import type { ScheduleWithAvailability } from '../../domain/catalog.js';
import { NotFoundError } from '../../domain/errors.js';
import { requireId } from '../../domain/validation.js';
import type { Clock } from '../../ports/clock.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';
import type { CatalogCache } from './catalog-cache.js';

/**
 * The dates of a concert with their seats free now; an unknown concert is
 * 404, not an empty list (and a 404 is not cached). Served from the cache:
 * 30 min, dropped when a schedule is added or one of its seats changes.
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
        return uow.catalog.listSchedules(concertId, this.clock.now());
      }),
    );
  }
}
