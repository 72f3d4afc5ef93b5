/**
 * Concurrent calls for one key share one run of `work`: N readers missing
 * the same cache key make one database load, not N (a cache stampede).
 */
export class SingleFlight {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return running as Promise<T>;
    const started = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  /** Whether a run of `key` is under way (a refresh then has nothing to add). */
  running(key: string): boolean {
    return this.inFlight.has(key);
  }
}

/** A TTL shortened by up to 10 %, so that keys written together do not all expire together. */
export function jitter(ttlMs: number, random: () => number = Math.random): number {
  return Math.max(1, Math.round(ttlMs * (1 - 0.1 * random())));
}
