import type { Concert, ScheduleWithAvailability, Seat } from '../../domain/catalog.js';
import { cacheKeys } from '../../keys.js';
import type { CachePort } from '../../ports/cache.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';

/** DESIGN.md's cache table: how long each read may be served from the cache. */
export const CATALOG_TTL_MS = {
  concerts: 60 * 60_000,
  schedules: 30 * 60_000,
  seats: 10_000,
} as const;

/** Schedules seen; past this, the memo starts again (it only saves a lookup). */
const MEMO_LIMIT = 10_000;

/**
 * The catalog's read paths through the cache (cache-aside), and the
 * invalidations the write paths make after they commit. Values cross the
 * cache as JSON, so dates are revived on the way out. Points and
 * reservations are never cached.
 */
export class CatalogCache {
  /** Which concert a schedule belongs to: that never changes, so it is remembered. */
  private readonly concertOfSchedule = new Map<string, string>();

  constructor(
    private readonly cache: CachePort,
    private readonly tx: TransactionPort,
  ) {}

  concerts(load: () => Promise<Concert[]>): Promise<Concert[]> {
    return this.cache.getOrLoad(cacheKeys.concerts(), CATALOG_TTL_MS.concerts, load);
  }

  async schedules(concertId: string, load: () => Promise<ScheduleWithAvailability[]>): Promise<ScheduleWithAvailability[]> {
    const schedules = await this.cache.getOrLoad(cacheKeys.schedules(concertId), CATALOG_TTL_MS.schedules, load);
    return schedules.map((schedule) => ({ ...schedule, startsAt: new Date(schedule.startsAt) }));
  }

  seats(scheduleId: string, load: () => Promise<Seat[]>): Promise<Seat[]> {
    return this.cache.getOrLoad(cacheKeys.seats(scheduleId), CATALOG_TTL_MS.seats, load);
  }

  concertAdded(): Promise<void> {
    return this.cache.invalidate(cacheKeys.concerts());
  }

  scheduleAdded(concertId: string): Promise<void> {
    return this.cache.invalidate(cacheKeys.schedules(concertId));
  }

  /** A seat was held, sold or released: its seat map and its concert's availability are stale. */
  async seatChanged(scheduleId: string): Promise<void> {
    const concertId = await this.concertOf(scheduleId);
    const keys = [cacheKeys.seats(scheduleId)];
    if (concertId !== undefined) keys.push(cacheKeys.schedules(concertId));
    await this.cache.invalidate(...keys);
  }

  private async concertOf(scheduleId: string): Promise<string | undefined> {
    const known = this.concertOfSchedule.get(scheduleId);
    if (known !== undefined) return known;
    const schedule = await this.tx.read((uow) => uow.catalog.findSchedule(scheduleId));
    if (schedule === undefined) return undefined;
    if (this.concertOfSchedule.size >= MEMO_LIMIT) this.concertOfSchedule.clear();
    this.concertOfSchedule.set(scheduleId, schedule.concertId);
    return schedule.concertId;
  }
}
