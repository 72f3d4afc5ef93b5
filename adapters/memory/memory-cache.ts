import type { CacheEvent, CachePort } from '../../core/ports/cache.port.js';
import type { Clock } from '../../core/ports/clock.port.js';
import { SingleFlight, jitter } from '../../core/support/single-flight.js';

interface Entry {
  readonly value: unknown;
  readonly expiresAt: number;
}

/**
 * The in-process cache of the embedded mode, with entries that expire on the
 * injected clock. A load that started before an invalidation of its key does
 * not store its (possibly stale) result: each key has a generation, bumped
 * by every invalidation, and a load stores only if it is unchanged.
 */
export class MemoryCache implements CachePort {
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new Map<string, number>();
  private readonly flights = new SingleFlight();

  constructor(
    private readonly clock: Clock,
    private readonly onEvent: (event: CacheEvent) => void = () => {},
  ) {}

  async getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.expiresAt > this.clock.now().getTime()) {
      this.onEvent('hit');
      return entry.value as T;
    }
    this.onEvent('miss');
    return this.flights.run(key, async () => {
      const generation = this.generations.get(key) ?? 0;
      const value = await load();
      if ((this.generations.get(key) ?? 0) === generation) {
        this.entries.set(key, { value, expiresAt: this.clock.now().getTime() + jitter(ttlMs) });
      }
      return value;
    });
  }

  async invalidate(...keys: string[]): Promise<void> {
    for (const key of keys) {
      this.entries.delete(key);
      this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
    }
  }

  async ping(): Promise<void> {}
}
