import type { Concert, ScheduleWithAvailability, Seat } from '../../domain/catalog.js';
import { cacheKeys } from '../../keys.js';
import type { CachePort, CacheRead } from '../../ports/cache.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';

/** DESIGN.md's cache table: how long each read may be served from the cache. */
export const CATALOG_TTL_MS = {
  concerts: 60 * 60_000,
  schedules: 30 * 60_000,
  seats: 10_000,
} as const;

/**
 * The shape of each family's cached value. Bump one with any change to what
 * is stored under it: an entry of another version is never read (the cache
 * keeps them apart), so a deploy never reads an old shape as the new one.
 */
export const CATALOG_SHAPE_VERSION = {
  concerts: 1,
  // 2: the view with the end of its first hold ({ view, holdsEndAt }).
  schedules: 2,
  seats: 2,
} as const;

/**
 * How seat maps and availabilities keep up with a sale (DESIGN.md, "During
 * a sale"); SEAT_MAP_CACHE_STRATEGY, a tuning and bench knob.
 * - `delete`: every hold, sale and release drops them; the next read loads
 *   (single-flight across the cluster). Loads follow the write rate.
 * - `ttl`: nothing drops them; they live SALE_TTL_MS. At most one load per
 *   key per SALE_TTL_MS across the cluster; changes show within it.
 * - `refresh`: a write marks them stale and leaves them; stale entries are
 *   served while one reader in the cluster reloads, at most one reload per
 *   key per SEAT_MAP_REFRESH_MS. Loads per key bounded whatever the read
 *   and write rates; changes show within 2 × SEAT_MAP_REFRESH_MS.
 */
export const SEAT_MAP_CACHE_STRATEGIES = ['delete', 'ttl', 'refresh'] as const;
export type SeatMapCacheStrategy = (typeof SEAT_MAP_CACHE_STRATEGIES)[number];

/** The `ttl` strategy's life of a seat map or availability: nothing drops them, so this is their staleness. */
export const SALE_TTL_MS = 1_000;

/**
 * The `refresh` strategy's interval: one reload of a key per 250 ms across
 * the cluster, so at most 4 refreshes a second, and a served entry at most
 * 500 ms old (core/support/cache-freshness.ts): well inside the 1 s bound.
 */
export const SEAT_MAP_REFRESH_MS = 250;

/** A view of seat states as cached: with when the first hold it shows ends (epoch ms), when it goes stale by itself. */
interface HoldBound<T> {
  readonly view: T;
  readonly holdsEndAt: number | null;
}

/** What a seat map or availability load answers: the view, and the end of the first hold in it, if any. */
export interface HoldBoundLoad<T> {
  readonly view: T;
  readonly nextHoldEnd: Date | undefined;
}

interface SaleReads {
  readonly schedules: CacheRead<HoldBound<ScheduleWithAvailability[]>>;
  readonly seats: CacheRead<HoldBound<Seat[]>>;
  /** Whether a hold, sale or release tells the cache. */
  readonly seatChangeInvalidates: boolean;
}

const holdsEnd = (value: HoldBound<unknown>) => value.holdsEndAt ?? undefined;

function saleReads(strategy: SeatMapCacheStrategy): SaleReads {
  switch (strategy) {
    case 'delete':
      return {
        schedules: { ttlMs: CATALOG_TTL_MS.schedules, version: CATALOG_SHAPE_VERSION.schedules, staleAt: holdsEnd },
        seats: { ttlMs: CATALOG_TTL_MS.seats, version: CATALOG_SHAPE_VERSION.seats, staleAt: holdsEnd },
        seatChangeInvalidates: true,
      };
    case 'ttl':
      // The TTL alone bounds staleness, a hold's end included: no stale time, or each hold end would cost a load.
      return {
        schedules: { ttlMs: SALE_TTL_MS, version: CATALOG_SHAPE_VERSION.schedules },
        seats: { ttlMs: SALE_TTL_MS, version: CATALOG_SHAPE_VERSION.seats },
        seatChangeInvalidates: false,
      };
    case 'refresh':
      return {
        schedules: { ttlMs: CATALOG_TTL_MS.schedules, version: CATALOG_SHAPE_VERSION.schedules, staleAt: holdsEnd, refreshMs: SEAT_MAP_REFRESH_MS },
        seats: { ttlMs: CATALOG_TTL_MS.seats, version: CATALOG_SHAPE_VERSION.seats, staleAt: holdsEnd, refreshMs: SEAT_MAP_REFRESH_MS },
        seatChangeInvalidates: true,
      };
  }
}

const CONCERTS_READ: CacheRead<Concert[]> = { ttlMs: CATALOG_TTL_MS.concerts, version: CATALOG_SHAPE_VERSION.concerts };

/** Schedules seen; past this, the memo starts again (it only saves a lookup). */
const MEMO_LIMIT = 10_000;

export interface CatalogCacheOptions {
  /**
   * Told when an invalidation after a commit could not be made in full (the
   * schedule's concert could not be read, or the cache threw): the write
   * stands, and what stays cached is bounded by its TTL.
   */
  readonly onInvalidationFailed?: (error: unknown) => void;
  /** `refresh` unless told. */
  readonly strategy?: SeatMapCacheStrategy;
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
  private readonly reads: SaleReads;

  constructor(
    private readonly cache: CachePort,
    private readonly tx: TransactionPort,
    private readonly options: CatalogCacheOptions = {},
  ) {
    this.reads = saleReads(options.strategy ?? 'refresh');
  }

  concerts(load: () => Promise<Concert[]>): Promise<Concert[]> {
    return this.cache.getOrLoad(cacheKeys.concerts(), CONCERTS_READ, load);
  }

  async schedules(concertId: string, load: () => Promise<HoldBoundLoad<ScheduleWithAvailability[]>>): Promise<ScheduleWithAvailability[]> {
    const { view } = await this.cache.getOrLoad(cacheKeys.schedules(concertId), this.reads.schedules, () => holdBound(load));
    // Learnt here for free: a seat change of these schedules then needs no database read after its commit.
    for (const schedule of view) this.remember(schedule.id, schedule.concertId);
    return view.map((schedule) => ({ ...schedule, startsAt: new Date(schedule.startsAt) }));
  }

  async seats(scheduleId: string, load: () => Promise<HoldBoundLoad<Seat[]>>): Promise<Seat[]> {
    return (await this.cache.getOrLoad(cacheKeys.seats(scheduleId), this.reads.seats, () => holdBound(load))).view;
  }

  concertAdded(): Promise<void> {
    return this.invalidate([cacheKeys.concerts()]);
  }

  scheduleAdded(concertId: string): Promise<void> {
    return this.invalidate([cacheKeys.schedules(concertId)]);
  }

  /**
   * A seat was held, sold or released: its seat map and its concert's
   * availability are stale (under `ttl`, they are left to their short TTL). The seat map is dropped even when the concert
   * cannot be read (the database failed right after the commit); the
   * availability then waits for its TTL, and the failure is reported.
   */
  async seatChanged(scheduleId: string): Promise<void> {
    if (!this.reads.seatChangeInvalidates) return;
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

async function holdBound<T>(load: () => Promise<HoldBoundLoad<T>>): Promise<HoldBound<T>> {
  const { view, nextHoldEnd } = await load();
  return { view, holdsEndAt: nextHoldEnd?.getTime() ?? null };
}
