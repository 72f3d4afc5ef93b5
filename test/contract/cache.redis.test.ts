import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createRedis } from '../../adapters/redis/create-redis.js';
import type { CacheOperation } from '../../adapters/redis/redis-cache.js';
import { CACHE_LEASE } from '../../adapters/redis/cache-lease.js';
import type { RedisCacheOptions } from '../../adapters/redis/redis-cache.js';
import { CACHE_BREAKER, REFRESH_BACKOFF, RedisCache } from '../../adapters/redis/redis-cache.js';
import type { CacheEvent, CacheRead } from '../../core/ports/cache.port.js';
import type { BreakerState } from '../../core/support/circuit-breaker.js';
import { deferred } from '../support/deferred.js';
import type { DrillRedisServer } from '../support/drill-redis-server.js';
import { startDrillRedisServer } from '../support/drill-redis-server.js';
import type { IsolatedRedis } from '../support/isolated-redis.js';
import { createIsolatedRedis } from '../support/isolated-redis.js';
import { describeCacheContract, recording } from './cache.contract.js';

const READ: CacheRead<unknown> = { ttlMs: 60_000, version: 1 };

describeCacheContract('redis', async () => {
  const isolated = createIsolatedRedis(inject('redisUrl'));
  const events: CacheEvent[] = [];
  return {
    cache: new RedisCache(isolated.redis, { prefix: isolated.prefix, ...recording(events) }),
    events,
    now: () => Date.now(),
    // Redis expires keys on its own clock: real time has to pass.
    pass: (ms) => sleep(ms),
    cleanup: isolated.cleanup,
  };
});

describe('RedisCache when Redis is down', () => {
  it('fails open: answers from the loader, counts the error, and invalidation does not throw', async () => {
    const redis = createRedis('redis://127.0.0.1:1');
    const events: CacheEvent[] = [];
    const cache = new RedisCache(redis, { prefix: 'down:', onEvent: (event) => events.push(event) });
    try {
      await expect(cache.getOrLoad('k', READ, async () => 'from the database')).resolves.toBe('from the database');
      await expect(cache.invalidate('k')).resolves.toBeUndefined();
      await expect(cache.ping()).rejects.toThrow();
      expect(events).toEqual(['error', 'error']);
    } finally {
      redis.disconnect();
    }
  });

  it('keeps values JSON-shaped: dates come back as ISO strings, so callers cache plain DTOs', async () => {
    const isolated = createIsolatedRedis(inject('redisUrl'));
    const cache = new RedisCache(isolated.redis, { prefix: isolated.prefix });
    try {
      await cache.getOrLoad('k', READ, async () => ({ at: '2026-01-01T00:00:00.000Z', n: 1 }));
      await expect(cache.getOrLoad('k', READ, async () => ({ at: 'other', n: 2 }))).resolves.toEqual({ at: '2026-01-01T00:00:00.000Z', n: 1 });
    } finally {
      await isolated.cleanup();
    }
  });
});

/**
 * The breaker on a Redis of this file's own, paused (SIGSTOP: it accepts
 * commands and answers none, so each costs the client's 1 s command
 * timeout) or stopped. The client is the app's (createRedis).
 */
describe('RedisCache behind its circuit breaker', () => {
  const COMMAND_TIMEOUT_MS = 1_000;
  /** Far below the command timeout, far above a local read: a read that did not wait for Redis. */
  const QUICK_MS = 250;
  let server: DrillRedisServer;
  let redis: Redis;
  let cache: RedisCache;
  let states: BreakerState[];
  let shortCircuits: CacheOperation[];
  let events: CacheEvent[];

  beforeAll(async () => {
    server = await startDrillRedisServer();
  });
  afterAll(async () => server.remove());
  beforeEach(async () => {
    redis = createRedis(server.url);
    await redis.flushall(); // this file's own server, never the shared one
    states = [];
    shortCircuits = [];
    events = [];
    cache = new RedisCache(redis, {
      prefix: 'breaker:',
      onEvent: (event) => events.push(event),
      onShortCircuit: (operation) => shortCircuits.push(operation),
      breaker: { onStateChange: (state) => states.push(state) },
    });
  });
  afterEach(() => {
    server.resume();
    redis.disconnect();
  });

  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const value = await work();
    return { value, ms: performance.now() - started };
  };
  /** Reads `key` until the breaker has closed again (a read is what probes), with a deadline; answers every value read. */
  const readUntilClosed = async (key: string, load: () => Promise<string>) => {
    const seen: string[] = [];
    const deadline = Date.now() + 10_000;
    while (states.at(-1) !== 'closed') {
      if (Date.now() > deadline) throw new Error(`breaker still ${states.at(-1)} after 10 s`);
      seen.push(await cache.getOrLoad(key, READ, load));
      await sleep(50); // the poll's interval; the loop waits for the condition above
    }
    return seen;
  };

  it('opens after two timeouts: later reads answer from the database at once, and the cache serves again once Redis does', async () => {
    await cache.getOrLoad('k', READ, async () => 'cached');
    server.pause();
    const reads = [];
    for (let i = 0; i < 6; i++) reads.push(await timed(() => cache.getOrLoad('k', READ, async () => 'from the database')));
    expect(reads.map((read) => read.value)).toEqual(Array(6).fill('from the database'));
    expect(CACHE_BREAKER.failureThreshold).toBe(2);
    for (const read of reads.slice(0, 2)) expect(read.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS * 0.9);
    for (const read of reads.slice(2)) expect(read.ms).toBeLessThan(QUICK_MS);
    expect(states).toEqual(['open']);
    expect(shortCircuits).toEqual(['read', 'read', 'read', 'read']);
    expect(events).toEqual(['miss', 'error', 'error']);

    server.resume();
    await readUntilClosed('k', async () => 'from the database');
    await expect(cache.getOrLoad('k', READ, async () => 'from the database')).resolves.toBe('cached');
    expect(events.at(-1)).toBe('hit');
  });

  it('keeps an invalidation made while open and delivers it before anything is read from Redis again', async () => {
    await cache.getOrLoad('seats', READ, async () => 'before the sale');
    server.pause();
    for (let i = 0; i < CACHE_BREAKER.failureThreshold; i++) await cache.getOrLoad('other', READ, async () => 'x');
    expect(states).toEqual(['open']);

    const { ms } = await timed(() => cache.invalidate('seats'));
    expect(ms).toBeLessThan(QUICK_MS);
    expect(shortCircuits).toEqual(['invalidate']);
    expect(cache.undeliveredInvalidations).toBe(1);

    server.resume();
    const seen = await readUntilClosed('seats', async () => 'after the sale');
    expect(seen.every((value) => value === 'after the sale')).toBe(true);
    expect(cache.undeliveredInvalidations).toBe(0);
    await expect(cache.getOrLoad('seats', READ, async () => 'from the database')).resolves.toBe('after the sale');
  });

  it('does not store a load that an undelivered invalidation overtook, even across a Redis restart', async () => {
    const gate = deferred<string>();
    const reader = cache.getOrLoad('seats', READ, () => gate.promise); // a miss: the generation is read now
    await server.stop();
    await cache.invalidate('seats'); // refused at once: owed
    expect(cache.undeliveredInvalidations).toBe(1);
    await server.start();
    const deadline = Date.now() + 10_000;
    while (!(await redis.ping().then(() => true, () => false))) {
      if (Date.now() > deadline) throw new Error('client did not reconnect');
      await sleep(50);
    }
    gate.resolve('read before the write');
    await expect(reader).resolves.toBe('read before the write');
    await expect(cache.getOrLoad('seats', READ, async () => 'fresh')).resolves.toBe('fresh');
    expect(cache.undeliveredInvalidations).toBe(0);
  });

  it('a refused connection opens it as well, without waiting (a stopped Redis)', async () => {
    await server.stop();
    try {
      const reads = [];
      for (let i = 0; i < 4; i++) reads.push(await timed(() => cache.getOrLoad('k', READ, async () => 'db')));
      expect(reads.every((read) => read.ms < QUICK_MS)).toBe(true);
      expect(states).toEqual(['open']);
      expect(shortCircuits).toEqual(['read', 'read']);
    } finally {
      await server.start();
    }
  });
});

/**
 * Two RedisCache objects on two clients and one prefix stand for two
 * instances of the service: the lease must make them load a cold key once
 * between them, and let a waiter load when the holder is gone or hangs.
 */
describe('RedisCache across instances (the lease)', () => {
  let isolated: IsolatedRedis;
  let other: Redis;
  let loads: number;

  beforeEach(() => {
    isolated = createIsolatedRedis(inject('redisUrl'));
    other = createRedis(inject('redisUrl'));
    loads = 0;
  });
  afterEach(async () => {
    other.disconnect();
    await isolated.cleanup();
  });

  const instances = (options: Partial<RedisCacheOptions> = {}) =>
    [isolated.redis, other].map((redis) => new RedisCache(redis, { prefix: isolated.prefix, ...options }));
  /** A load that waits for `gate`, so that every reader has missed before it ends. */
  const gatedLoad = (gate: Promise<string>) => async () => {
    loads++;
    return gate;
  };
  const leaseKey = (key: string) => `${isolated.prefix}cache-lease:${key}`;

  it('N concurrent reads of a cold key across two instances make one load', async () => {
    const gate = deferred<string>();
    const reads = instances().flatMap((cache) => Array.from({ length: 20 }, () => cache.getOrLoad('cold', READ, gatedLoad(gate.promise))));
    // Both instances have missed and one of them holds the lease: wait for it, not for a time.
    const deadline = Date.now() + 5_000;
    while ((await isolated.redis.exists(leaseKey('cold'))) === 0 && Date.now() < deadline) await sleep(5);
    gate.resolve('loaded once');
    await expect(Promise.all(reads)).resolves.toEqual(Array(40).fill('loaded once'));
    expect(loads).toBe(1);
  });

  it('without the lease, the same reads make one load per instance (what the lease saves)', async () => {
    const gate = deferred<string>();
    const reads = instances({ lease: false }).flatMap((cache) => Array.from({ length: 20 }, () => cache.getOrLoad('cold', READ, gatedLoad(gate.promise))));
    const deadline = Date.now() + 5_000;
    while (loads < 2 && Date.now() < deadline) await sleep(5);
    gate.resolve('loaded twice');
    await Promise.all(reads);
    expect(loads).toBe(2);
  });

  it('a waiter loads once the lease of a holder that died has expired', async () => {
    const leaseMs = 300;
    // A holder that took the lease and died: nobody will store or release.
    await isolated.redis.set(leaseKey('k'), 'dead-holder', 'PX', leaseMs);
    const [cache] = instances({ lease: { leaseMs, waitMs: 5_000 } });
    const started = Date.now();
    await expect(cache!.getOrLoad('k', READ, gatedLoad(Promise.resolve('by the waiter')))).resolves.toBe('by the waiter');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(leaseMs * 0.8);
    expect(waited).toBeLessThan(leaseMs + 1_000);
    expect(loads).toBe(1);
  });

  it('a waiter loads itself once its wait bound has passed, a holder that hangs notwithstanding', async () => {
    const waitMs = 200;
    await isolated.redis.set(leaseKey('k'), 'hung-holder', 'PX', 60_000);
    const [cache] = instances({ lease: { waitMs } });
    const started = Date.now();
    await expect(cache!.getOrLoad('k', READ, gatedLoad(Promise.resolve('by the waiter')))).resolves.toBe('by the waiter');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(waitMs * 0.9);
    expect(waited).toBeLessThan(CACHE_LEASE.leaseMs);
    expect(loads).toBe(1);
  });

  it('a stale key read on both instances at once is reloaded by one reader; the others are served the stale entry', async () => {
    const refreshing: CacheRead<unknown> = { ...READ, refreshMs: 100 };
    const caches = instances();
    await caches[0]!.getOrLoad('k', refreshing, async () => 'before');
    await caches[1]!.invalidate('k');
    const gate = deferred<string>();
    const reads = caches.flatMap((cache) => Array.from({ length: 20 }, () => cache.getOrLoad('k', refreshing, gatedLoad(gate.promise))));
    const deadline = Date.now() + 5_000;
    while (loads < 1 && Date.now() < deadline) await sleep(5);
    gate.resolve('after');
    const values = await Promise.all(reads);
    expect(loads).toBe(1);
    expect(values.filter((value) => value === 'after')).toHaveLength(1);
    expect(values.filter((value) => value === 'before')).toHaveLength(39);
  });
});

describe('RedisCache: a refused refresh is not asked for again at once', () => {
  it(`serves stale for ${REFRESH_BACKOFF} of refreshMs without a script call per read, then asks again; its own write asks at once`, async () => {
    const writer = createIsolatedRedis(inject('redisUrl'));
    const reader = createRedis(inject('redisUrl'));
    let now = Date.now();
    const REFRESHING: CacheRead<unknown> = { ttlMs: 60_000, version: 1, refreshMs: 250 };
    const options = { prefix: writer.prefix, now: () => now };
    const writes = new RedisCache(writer.redis, options);
    const reads = new RedisCache(reader, options);
    try {
      let loads = 0;
      const load = async () => ++loads;
      await reads.getOrLoad('k', REFRESHING, load);
      // Every token of the bucket spent: a write, then a refresh, until the reader is refused.
      let served: unknown;
      let refused = false;
      while (!refused && loads < 20) {
        await writes.invalidate('k');
        const before = loads;
        served = await reads.getOrLoad('k', REFRESHING, load);
        refused = loads === before;
      }
      expect(refused, 'the bucket ran dry').toBe(true);

      const scripts = vi.spyOn(reader, 'evalsha');
      for (let i = 0; i < 20; i++) expect(await reads.getOrLoad('k', REFRESHING, load)).toBe(served);
      expect(scripts, 'no refresh asked for within the backoff').toHaveBeenCalledTimes(0);

      now += 250 * REFRESH_BACKOFF;
      await reads.getOrLoad('k', REFRESHING, load);
      expect(scripts, 'asked again once the backoff passed').toHaveBeenCalledTimes(1);

      await reads.invalidate('k');
      await reads.getOrLoad('k', REFRESHING, load);
      expect(scripts, 'its own write: asked at once').toHaveBeenCalledTimes(2);
    } finally {
      reader.disconnect();
      await writer.cleanup();
    }
  });
});
