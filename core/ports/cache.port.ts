/**
 * What a cache adapter reports, for metrics: a read served from the cache
 * (hit), served stale while one reader in the cluster reloads it (stale),
 * that loaded or waited for another reader's load (miss), that went to the
 * loader because the cache failed (error), or because the cache is switched
 * off (bypass).
 */
export type CacheEvent = 'hit' | 'miss' | 'error' | 'stale' | 'bypass';

/** Who is told what the cache did, with the key it did it for (metrics derive the key's family from it). */
export interface CacheObserver {
  readonly onEvent?: (event: CacheEvent, key: string) => void;
  /** Once per load the cache actually ran (a miss, a refresh, a read that failed open or bypassed the cache): the database work it did not save. */
  readonly onLoad?: (key: string) => void;
}

/** How one read may be served from the cache. */
export interface CacheRead<T> {
  /** How long a stored value lives (shortened by up to 10 % of jitter). */
  readonly ttlMs: number;
  /** The shape of the value: an entry stored under another version is never read as current (it is a miss). */
  readonly version: number;
  /**
   * Stale-while-revalidate. Set: an entry that went stale (an `invalidate`
   * after it was loaded, or its `staleAt` passed) is still served, as
   * `stale`, while one reader in the whole cluster reloads it: a few
   * reloads at once, then one per `refreshMs` (a token bucket,
   * core/support/cache-freshness.ts). Unset: a stale entry is a miss.
   */
  readonly refreshMs?: number;
  /** When the loaded value stops being true by itself (epoch ms: the earliest hold end it shows); stale from then on. */
  readonly staleAt?: (value: T) => number | undefined;
}

export interface CachePort {
  /**
   * Cache-aside read: the cached value of `key` if current, else the value
   * of `load`, stored for the next readers. Concurrent misses of one key
   * share one `load`, in this process and (Redis) across instances. If the
   * cache is down, answers from `load` (fail open).
   */
  getOrLoad<T>(key: string, read: CacheRead<T>, load: () => Promise<T>): Promise<T>;

  /**
   * After a write: what is cached under `keys` is stale from now on, and so
   * is any load of them already running. A reader without `refreshMs` never
   * gets it again. Never throws (a failure is counted; the TTL bounds staleness).
   */
  invalidate(...keys: string[]): Promise<void>;

  ping(): Promise<void>;
}
