import type { Redis } from 'ioredis';
import type { CacheEvent, CachePort } from '../../core/ports/cache.port.js';
import { SingleFlight, jitter } from '../../core/support/single-flight.js';
import { LuaScript } from './lua-script.js';

export interface RedisCacheOptions {
  /** Namespace: values at `<prefix>cache:<key>`, generations at `<prefix>cache-gen:<key>`. */
  readonly prefix: string;
  readonly onEvent?: (event: CacheEvent) => void;
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
 * when Redis is down, reads go to the database and are counted (fail open),
 * and invalidations are counted too, their staleness bounded by the TTL.
 */
export class RedisCache implements CachePort {
  private readonly flights = new SingleFlight();
  private readonly onEvent: (event: CacheEvent) => void;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisCacheOptions,
  ) {
    this.onEvent = options.onEvent ?? (() => {});
  }

  async getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const valueKey = this.valueKey(key);
    const generationKey = this.generationKey(key);
    let cached: [string | null, string | null];
    try {
      cached = (await this.redis.mget(valueKey, generationKey)) as [string | null, string | null];
    } catch {
      this.onEvent('error');
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
        await SET_IF_GENERATION.run(this.redis, [valueKey, generationKey], [generation ?? '0', JSON.stringify(loaded), jitter(ttlMs)]);
      } catch {
        this.onEvent('error');
      }
      return loaded;
    });
  }

  async invalidate(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.incr(this.generationKey(key)).del(this.valueKey(key));
    try {
      const results = await pipeline.exec();
      if (results?.some(([error]) => error !== null) === true) this.onEvent('error');
    } catch {
      this.onEvent('error');
    }
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  private valueKey(key: string): string {
    return `${this.options.prefix}cache:${key}`;
  }

  private generationKey(key: string): string {
    return `${this.options.prefix}cache-gen:${key}`;
  }
}
