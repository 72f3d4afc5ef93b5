import type { CacheObserver, CachePort, CacheRead } from '../../core/ports/cache.port.js';
import type { Clock } from '../../core/ports/clock.port.js';
import type { CacheEntryStamp } from '../../core/support/cache-freshness.js';
import { RefreshBucket, freshness } from '../../core/support/cache-freshness.js';
import { SingleFlight, jitter } from '../../core/support/single-flight.js';

interface Entry extends CacheEntryStamp {
  readonly version: number;
  readonly value: unknown;
  readonly expiresAt: number;
}

/**
 * The in-process cache of the embedded mode, on the injected clock, with
 * the Redis cache's rules (core/support/cache-freshness.ts): each key has a
 * generation, bumped by every invalidation; an entry loaded under an older
 * one is stale, served only to reads that accept stale entries while one
 * reader, paced by a token bucket per key, reloads it. One process: the
 * in-process single-flight is the whole cluster's.
 */
export class MemoryCache implements CachePort {
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new Map<string, number>();
  private readonly flights = new SingleFlight();
  /** Each stale key's refresh tokens (cache-freshness.ts). */
  private readonly refreshBuckets = new Map<string, RefreshBucket>();

  constructor(
    private readonly clock: Clock,
    private readonly observer: CacheObserver = {},
  ) {}

  async getOrLoad<T>(key: string, read: CacheRead<T>, load: () => Promise<T>): Promise<T> {
    const now = this.clock.now().getTime();
    const entry = this.current(key, read.version, now);
    const state = entry === undefined ? 'unusable' : freshness(entry, this.generation(key), now, read);
    if (entry !== undefined && state === 'fresh') {
      this.observer.onEvent?.('hit', key);
      return entry.value as T;
    }
    if (entry !== undefined && state === 'stale' && !this.mayRefresh(key, read, now)) {
      this.observer.onEvent?.('stale', key);
      return entry.value as T;
    }
    this.observer.onEvent?.('miss', key);
    return this.flights.run(key, () => this.loadAndStore(key, read, load));
  }

  async invalidate(...keys: string[]): Promise<void> {
    for (const key of keys) this.generations.set(key, this.generation(key) + 1);
  }

  async ping(): Promise<void> {}

  private current(key: string, version: number, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.version === version && entry.expiresAt > now ? entry : undefined;
  }

  /** A stale entry is reloaded by the reader that gets a token, unless a load of the key is running (its readers are served stale). */
  private mayRefresh(key: string, read: Pick<CacheRead<unknown>, 'refreshMs'>, now: number): boolean {
    if (this.flights.running(key)) return false;
    let bucket = this.refreshBuckets.get(key);
    if (bucket === undefined) this.refreshBuckets.set(key, (bucket = new RefreshBucket(now)));
    return bucket.take(now, read.refreshMs ?? 0);
  }

  /** Stores unless an entry from a later generation is already there: a slow load never replaces a newer one. */
  private async loadAndStore<T>(key: string, read: CacheRead<T>, load: () => Promise<T>): Promise<T> {
    const generation = this.generation(key);
    const loadedAt = this.clock.now().getTime();
    this.observer.onLoad?.(key);
    const value = await load();
    const stored = this.entries.get(key);
    if (stored === undefined || stored.generation <= generation) {
      this.entries.set(key, {
        version: read.version,
        generation,
        loadedAt,
        staleAt: read.staleAt?.(value),
        value,
        expiresAt: this.clock.now().getTime() + jitter(read.ttlMs),
      });
    }
    return value;
  }

  private generation(key: string): number {
    return this.generations.get(key) ?? 0;
  }
}
