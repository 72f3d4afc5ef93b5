import type { Redis } from 'ioredis';
import type { CacheEvent, CachePort } from '../../core/ports/cache.port.js';
import type { BreakerState } from '../../core/support/circuit-breaker.js';
import { CircuitBreaker, CircuitOpenError } from '../../core/support/circuit-breaker.js';
import { SingleFlight, jitter } from '../../core/support/single-flight.js';
import { LuaScript } from './lua-script.js';

/** What a Redis call of the cache was for: a read, the store after a load, or an invalidation. */
export type CacheOperation = 'read' | 'store' | 'invalidate';

/**
 * The breaker in front of the cache's Redis calls.
 *
 * - Two failures in a row open it. One failure alone is a blip (a reconnect,
 *   one slow reply) and costs a single read one timeout; two in a row with
 *   no success between them, on a Redis that answers in microseconds, is a
 *   Redis that is gone or hung. Opening is cheap to get wrong: reads go to
 *   the database, which is what failing open does anyway; opening late is
 *   not: every read pays the 1 s command timeout.
 * - One second open before a probe: the client reconnects at most once a
 *   second (create-redis.ts), so probing more often would not find Redis
 *   back sooner; while Redis stays hung, one read a second (plus the probe's
 *   own timeout) pays the timeout instead of all of them, and the cache is
 *   used again within about a second of Redis answering.
 */
export const CACHE_BREAKER = { failureThreshold: 2, openMs: 1_000 } as const;

/**
 * Invalidations not yet delivered are remembered up to this many keys (a
 * catalog's keys: its concert list, one availability per concert, one seat
 * map per schedule). Past it, a key is dropped and counted as an error, and
 * its staleness is bounded by its TTL alone, as before this list existed.
 */
export const MAX_UNDELIVERED_INVALIDATIONS = 10_000;

export interface RedisCacheOptions {
  /** Namespace: values at `<prefix>cache:<key>`, generations at `<prefix>cache-gen:<key>`. */
  readonly prefix: string;
  /** hit / miss, and error when a Redis call failed (a call the breaker did not let through is not an error). */
  readonly onEvent?: (event: CacheEvent) => void;
  /** A Redis call the open breaker did not make: a read or store that went without the cache, or an invalidation kept for later. */
  readonly onShortCircuit?: (operation: CacheOperation) => void;
  /** The breaker's settings (CACHE_BREAKER by default) and who is told when it changes state. */
  readonly breaker?: {
    readonly failureThreshold?: number;
    readonly openMs?: number;
    readonly now?: () => number;
    readonly onStateChange?: (state: BreakerState) => void;
  };
}

/**
 * Stores the loaded value only if no invalidation happened since the load
 * began: a reader that loaded the old row before a writer committed must not
 * put it back after the writer's invalidation (it would stay stale for a
 * whole TTL). The generation is read with the value, in the same round trip.
 */
const SET_IF_GENERATION = new LuaScript(`
if (tonumber(redis.call('get', KEYS[2]) or '0')) == tonumber(ARGV[1]) then
  redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`);

/**
 * Cache-aside on Redis, shared by every instance. Concurrent misses of one
 * key in this instance share one load (single-flight); TTLs are jittered;
 * when Redis fails, reads go to the database and are counted (fail open).
 *
 * A circuit breaker (CACHE_BREAKER) stands in front of every Redis call, so
 * that a hung Redis costs a few reads the command timeout, not every read:
 * once open, reads go straight to the loader and stores are skipped.
 *
 * No invalidation is lost to a failing or short-circuited Redis. Its keys
 * wait in `undelivered`, and every Redis call of this cache delivers them
 * (and waits for a delivery already on its way) before it does its own
 * work. So, in this instance, nothing is read from Redis while a delete it
 * owes is undelivered: when the breaker closes, the probe that closes it is
 * the call that delivers them. A store after a load delivers them first
 * too, so the generation it compares has counted them and a load that an
 * invalidation overtook is not stored. Other instances may read such a key
 * until this one delivers it or its TTL ends, whichever comes first.
 */
export class RedisCache implements CachePort {
  private readonly flights = new SingleFlight();
  private readonly onEvent: (event: CacheEvent) => void;
  private readonly breaker: CircuitBreaker;
  /** Keys whose invalidation has not reached Redis yet. */
  private readonly undelivered = new Set<string>();
  /** Deliveries on their way: a call waits for all of them before its own work. */
  private readonly deliveries = new Set<Promise<void>>();

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisCacheOptions,
  ) {
    this.onEvent = options.onEvent ?? (() => {});
    this.breaker = new CircuitBreaker({
      failureThreshold: options.breaker?.failureThreshold ?? CACHE_BREAKER.failureThreshold,
      openMs: options.breaker?.openMs ?? CACHE_BREAKER.openMs,
      ...(options.breaker?.now === undefined ? {} : { now: options.breaker.now }),
      ...(options.breaker?.onStateChange === undefined ? {} : { onStateChange: options.breaker.onStateChange }),
    });
  }

  /** Invalidations kept for later (a gauge reads it). */
  get undeliveredInvalidations(): number {
    return this.undelivered.size;
  }

  async getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const valueKey = this.valueKey(key);
    const generationKey = this.generationKey(key);
    let cached: [string | null, string | null];
    try {
      cached = (await this.call(() => this.redis.mget(valueKey, generationKey))) as [string | null, string | null];
    } catch (error) {
      this.failed('read', error);
      return this.flights.run(key, load);
    }
    const [value, generation] = cached;
    if (value !== null) {
      this.onEvent('hit');
      return JSON.parse(value) as T;
    }
    this.onEvent('miss');
    return this.flights.run(key, async () => {
      const loaded = await load();
      try {
        await this.call(() => SET_IF_GENERATION.run(this.redis, [valueKey, generationKey], [generation ?? '0', JSON.stringify(loaded), jitter(ttlMs)]));
      } catch (error) {
        this.failed('store', error);
      }
      return loaded;
    });
  }

  async invalidate(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) this.owe(key);
    // Nothing to send (the list was full): no call, lest a call that sends nothing pass for a probe that reached Redis.
    if (this.undelivered.size === 0 && this.deliveries.size === 0) return;
    try {
      // Delivering is the whole call: `call` delivers what is owed before its work.
      await this.call(async () => {});
    } catch (error) {
      this.failed('invalidate', error);
    }
  }

  /** The health check asks Redis itself, past the breaker: it reports what is true now. */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /**
   * One Redis call through the breaker, after the invalidations this
   * instance owes. With none owed, `work` is sent at once, in the caller's
   * turn: a read's generation is then read before any invalidation called
   * after it, as the store's check expects.
   */
  private call<T>(work: () => Promise<T>): Promise<T> {
    return this.breaker.run(() => (this.deliveries.size === 0 && this.undelivered.size === 0 ? work() : this.deliverOwed().then(work)));
  }

  private owe(key: string): void {
    if (this.undelivered.size >= MAX_UNDELIVERED_INVALIDATIONS && !this.undelivered.has(key)) {
      this.onEvent('error');
      return;
    }
    this.undelivered.add(key);
  }

  /**
   * Delivers every invalidation owed when it was called: sends those not on
   * their way yet, and waits for them together with the deliveries already
   * on their way (other callers' keys). In parallel, so that the wait is one
   * command timeout at most, however many there are; deletes in any order
   * come to the same. Fails if any of them does (its keys are owed again).
   */
  private async deliverOwed(): Promise<void> {
    if (this.undelivered.size > 0) this.send([...this.undelivered]);
    await Promise.all(this.deliveries);
  }

  private send(keys: readonly string[]): void {
    this.undelivered.clear();
    const pipeline = this.redis.pipeline();
    // The generation first: a load in flight then cannot store what it read before.
    for (const key of keys) pipeline.incr(this.generationKey(key)).del(this.valueKey(key));
    const delivery = (async () => {
      const results = await pipeline.exec();
      const failure = results?.find(([error]) => error !== null)?.[0];
      if (failure !== undefined) throw failure;
    })().catch((error: unknown) => {
      // Not delivered (or not known to be): owed again; deleting twice is harmless.
      for (const key of keys) this.owe(key);
      throw error;
    });
    this.deliveries.add(delivery);
    // Its callers see its outcome through deliverOwed; this chain only forgets it.
    delivery.finally(() => this.deliveries.delete(delivery)).catch(() => undefined);
  }

  private failed(operation: CacheOperation, error: unknown): void {
    if (error instanceof CircuitOpenError) this.options.onShortCircuit?.(operation);
    else this.onEvent('error');
  }

  private valueKey(key: string): string {
    return `${this.options.prefix}cache:${key}`;
  }

  private generationKey(key: string): string {
    return `${this.options.prefix}cache-gen:${key}`;
  }
}
