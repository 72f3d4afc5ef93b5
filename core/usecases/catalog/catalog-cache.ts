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

export interface CatalogCacheOptions {
  /**
   * Told when an invalidation after a commit could not be made in full (the
   * schedule's concert could not be read, or the cache threw): the write
   * stands, and what stays cached is bounded by its TTL.
   */
  readonly onInvalidationFailed?: (error: unknown) => void;
}

/**
 * The catalog's read paths through the cache (cache-aside), and the
 * invalidations the write paths make after they commit. Values cross the
 * cache as JSON, so dates are revived on the way out. Points and
 * reservations are never cached.
 *
 * The invalidations never throw: they run after a write has committed, and
 * an error there would answer a committed sale, hold or release as failed
 * (a client retrying a reserve would then find its own hold in the way).
 */
export class CatalogCache {
  /** Which concert a schedule belongs to: that never changes, so it is remembered. */
  private readonly concertOfSchedule = new Map<string, string>();

  constructor(
    private readonly cache: CachePort,
    private readonly tx: TransactionPort,
    private readonly options: CatalogCacheOptions = {},
  ) {}

  concerts(load: () => Promise<Concert[]>): Promise<Concert[]> {
    return this.cache.getOrLoad(cacheKeys.concerts(), CATALOG_TTL_MS.concerts, load);
  }

  async schedules(concertId: string, load: () => Promise<ScheduleWithAvailability[]>): Promise<ScheduleWithAvailability[]> {
    const schedules = await this.cache.getOrLoad(cacheKeys.schedules(concertId), CATALOG_TTL_MS.schedules, load);
    // Learnt here for free: a seat change of these schedules then needs no database read after its commit.
    for (const schedule of schedules) this.remember(schedule.id, schedule.concertId);
    return schedules.map((schedule) => ({ ...schedule, startsAt: new Date(schedule.startsAt) }));
  }

  seats(scheduleId: string, load: () => Promise<Seat[]>): Promise<Seat[]> {
    return this.cache.getOrLoad(cacheKeys.seats(scheduleId), CATALOG_TTL_MS.seats, load);
  }

  concertAdded(): Promise<void> {
    return this.invalidate([cacheKeys.concerts()]);
  }

  scheduleAdded(concertId: string): Promise<void> {
    return this.invalidate([cacheKeys.schedules(concertId)]);
  }

  /**
   * A seat was held, sold or released: its seat map and its concert's
   * availability are stale. The seat map is dropped even when the concert
   * cannot be read (the database failed right after the commit); the
   * availability then waits for its TTL, and the failure is reported.
   */
  async seatChanged(scheduleId: string): Promise<void> {
    const keys = [cacheKeys.seats(scheduleId)];
    try {
      const concertId = await this.concertOf(scheduleId);
      if (concertId !== undefined) keys.push(cacheKeys.schedules(concertId));
    } catch (error) {
      this.report(error);
    }
    await this.invalidate(keys);
  }

  /** The port promises not to throw; this holds even for an adapter that breaks that promise. */
  private async invalidate(keys: readonly string[]): Promise<void> {
    try {
      await this.cache.invalidate(...keys);
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    try {
      this.options.onInvalidationFailed?.(error);
    } catch {
      // Reporting is best effort too: the write has committed whatever the logger does.
    }
  }

  private async concertOf(scheduleId: string): Promise<string | undefined> {
    const known = this.concertOfSchedule.get(scheduleId);
    if (known !== undefined) return known;
    const schedule = await this.tx.read((uow) => uow.catalog.findSchedule(scheduleId));
    if (schedule === undefined) return undefined;
    this.remember(scheduleId, schedule.concertId);
    return schedule.concertId;
  }

  private remember(scheduleId: string, concertId: string): void {
    if (this.concertOfSchedule.get(scheduleId) === concertId) return;
    if (this.concertOfSchedule.size >= MEMO_LIMIT) this.concertOfSchedule.clear();
    this.concertOfSchedule.set(scheduleId, concertId);
  }
}
