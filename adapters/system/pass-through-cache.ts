import type { CacheObserver, CachePort, CacheRead } from '../../core/ports/cache.port.js';

/**
 * The cache switched off (CACHE_ENABLED=false), for comparisons: every read
 * loads, invalidations have nothing to drop. Each read is counted as a
 * `bypass` and a load, so that the same metrics show what the cache saves.
 */
export class PassThroughCache implements CachePort {
  constructor(private readonly observer: CacheObserver = {}) {}

  getOrLoad<T>(key: string, _read: CacheRead<T>, load: () => Promise<T>): Promise<T> {
    this.observer.onEvent?.('bypass', key);
    this.observer.onLoad?.(key);
    return load();
  }

  async invalidate(..._keys: string[]): Promise<void> {}

  async ping(): Promise<void> {}
}
