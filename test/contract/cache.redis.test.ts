import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../adapters/redis/create-redis.js';
import { RedisCache } from '../../adapters/redis/redis-cache.js';
import type { CacheEvent } from '../../core/ports/cache.port.js';
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
