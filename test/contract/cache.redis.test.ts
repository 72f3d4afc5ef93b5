import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../adapters/redis/create-redis.js';
import type { CacheOperation } from '../../adapters/redis/redis-cache.js';
import { CACHE_BREAKER, RedisCache } from '../../adapters/redis/redis-cache.js';
import type { CacheEvent } from '../../core/ports/cache.port.js';
import type { BreakerState } from '../../core/support/circuit-breaker.js';
import { deferred } from '../support/deferred.js';
import type { DrillRedisServer } from '../support/drill-redis-server.js';
import { startDrillRedisServer } from '../support/drill-redis-server.js';
import { createIsolatedRedis } from '../support/isolated-redis.js';
import { describeCacheContract } from './cache.contract.js';

describeCacheContract('redis', async () => {
  const isolated = createIsolatedRedis(inject('redisUrl'));
  return {
    cache: new RedisCache(isolated.redis, { prefix: isolated.prefix }),
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
      await expect(cache.getOrLoad('k', 1_000, async () => 'from the database')).resolves.toBe('from the database');
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
      await cache.getOrLoad('k', 60_000, async () => ({ at: '2026-01-01T00:00:00.000Z', n: 1 }));
      await expect(cache.getOrLoad('k', 60_000, async () => ({ at: 'other', n: 2 }))).resolves.toEqual({ at: '2026-01-01T00:00:00.000Z', n: 1 });
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
      seen.push(await cache.getOrLoad(key, 60_000, load));
      await sleep(50); // the poll's interval; the loop waits for the condition above
    }
    return seen;
  };

  it('opens after two timeouts: later reads answer from the database at once, and the cache serves again once Redis does', async () => {
    await cache.getOrLoad('k', 60_000, async () => 'cached');
    server.pause();
    const reads = [];
    for (let i = 0; i < 6; i++) reads.push(await timed(() => cache.getOrLoad('k', 60_000, async () => 'from the database')));
    expect(reads.map((read) => read.value)).toEqual(Array(6).fill('from the database'));
    expect(CACHE_BREAKER.failureThreshold).toBe(2);
    for (const read of reads.slice(0, 2)) expect(read.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS * 0.9);
    for (const read of reads.slice(2)) expect(read.ms).toBeLessThan(QUICK_MS);
    expect(states).toEqual(['open']);
    expect(shortCircuits).toEqual(['read', 'read', 'read', 'read']);
    expect(events).toEqual(['miss', 'error', 'error']);

    server.resume();
    await readUntilClosed('k', async () => 'from the database');
    await expect(cache.getOrLoad('k', 60_000, async () => 'from the database')).resolves.toBe('cached');
    expect(events.at(-1)).toBe('hit');
  });

  it('keeps an invalidation made while open and delivers it before anything is read from Redis again', async () => {
    await cache.getOrLoad('seats', 60_000, async () => 'before the sale');
    server.pause();
    for (let i = 0; i < CACHE_BREAKER.failureThreshold; i++) await cache.getOrLoad('other', 60_000, async () => 'x');
    expect(states).toEqual(['open']);

    const { ms } = await timed(() => cache.invalidate('seats'));
    expect(ms).toBeLessThan(QUICK_MS);
    expect(shortCircuits).toEqual(['invalidate']);
    expect(cache.undeliveredInvalidations).toBe(1);

    server.resume();
    const seen = await readUntilClosed('seats', async () => 'after the sale');
    expect(seen.every((value) => value === 'after the sale')).toBe(true);
    expect(cache.undeliveredInvalidations).toBe(0);
    await expect(cache.getOrLoad('seats', 60_000, async () => 'from the database')).resolves.toBe('after the sale');
  });

  it('does not store a load that an undelivered invalidation overtook, even across a Redis restart', async () => {
    const gate = deferred<string>();
    const reader = cache.getOrLoad('seats', 60_000, () => gate.promise); // a miss: the generation is read now
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
    await expect(cache.getOrLoad('seats', 60_000, async () => 'fresh')).resolves.toBe('fresh');
    expect(cache.undeliveredInvalidations).toBe(0);
  });

  it('a refused connection opens it as well, without waiting (a stopped Redis)', async () => {
    await server.stop();
    try {
      const reads = [];
      for (let i = 0; i < 4; i++) reads.push(await timed(() => cache.getOrLoad('k', 60_000, async () => 'db')));
      expect(reads.every((read) => read.ms < QUICK_MS)).toBe(true);
      expect(states).toEqual(['open']);
      expect(shortCircuits).toEqual(['read', 'read']);
    } finally {
      await server.start();
    }
  });
});
