/** What a cache adapter reports, for metrics: a read served from the cache, a read that loaded, a cache that failed (and was bypassed). */
export type CacheEvent = 'hit' | 'miss' | 'error';

export interface CachePort {
  /**
   * Cache-aside read: the cached value of `key`, or the value of `load`
   * stored for `ttlMs` (with jitter). Concurrent misses of one key share one
   * `load` (single-flight). If the cache is down, answers from `load` (fail open).
   */
  getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T>;

  /** Removes keys after a write; never throws (a failed delete is counted, the TTL bounds staleness). */
  invalidate(...keys: string[]): Promise<void>;

  ping(): Promise<void>;
}
