import { describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../adapters/redis/create-redis.js';
import { RedisQueue } from '../../adapters/redis/redis-queue.js';
import { RandomTokenGenerator } from '../../adapters/system/random-token-generator.js';
import { DependencyUnavailableError } from '../../core/domain/errors.js';
import { createIsolatedRedis } from '../support/isolated-redis.js';
import { describeQueueContract } from './queue.contract.js';

describeQueueContract('redis', async () => {
  const redis = createIsolatedRedis(inject('redisUrl'));
  return { queue: new RedisQueue(redis.redis, { prefix: redis.prefix }), cleanup: redis.cleanup };
});

/** What the Redis queue does beyond the contract: its layout, big rounds, a flushed script cache, Redis down. */
describe('RedisQueue', () => {
  const tokens = new RandomTokenGenerator();
  const now = new Date('2026-01-01T00:00:00Z');

  it('keeps everything under its prefix, in a fixed set of keys (no key per user)', async () => {
    const redis = createIsolatedRedis(inject('redisUrl'));
    try {
      const queue = new RedisQueue(redis.redis, { prefix: redis.prefix });
      for (let i = 0; i < 50; i++) await queue.issue(`u${i}`, tokens.next(), now);
      await queue.admit(now, 10, 1_000);
      const keys = await redis.redis.keys(`${redis.prefix}*`);
      expect(keys.map((key) => key.slice(redis.prefix.length)).sort()).toEqual([
        'queue:active',
        'queue:admitted',
        'queue:seq',
        'queue:token-user',
        'queue:user-token',
        'queue:waiting',
      ]);
    } finally {
      await redis.cleanup();
    }
  });

  it('keeps a spent token in one key of its own under the prefix, which Redis drops at the token\'s expiry', async () => {
    const redis = createIsolatedRedis(inject('redisUrl'));
    try {
      const queue = new RedisQueue(redis.redis, { prefix: redis.prefix });
      const { token } = await queue.issue('u1', tokens.next(), now);
      await queue.admit(now, 1, 60_000);
      await queue.expire(token, new Date(now.getTime() + 20_000));
      const key = `${redis.prefix}queue:spent:${token}`;
      expect(await redis.redis.keys(`${redis.prefix}queue:spent:*`)).toEqual([key]);
      const ttl = await redis.redis.pttl(key);
      expect(ttl).toBeGreaterThan(35_000);
      expect(ttl).toBeLessThanOrEqual(40_000);
      await expect(redis.redis.hget(`${redis.prefix}queue:token-user`, token)).resolves.toBeNull();
      await expect(redis.redis.hget(`${redis.prefix}queue:user-token`, 'u1')).resolves.toBeNull();
      await expect(redis.redis.zcard(`${redis.prefix}queue:active`)).resolves.toBe(0);
    } finally {
      await redis.cleanup();
    }
  });

  it('admits more tokens in one round than one Lua unpack can take, in order', async () => {
    const redis = createIsolatedRedis(inject('redisUrl'));
    try {
      const queue = new RedisQueue(redis.redis, { prefix: redis.prefix });
      const issued = await Promise.all(Array.from({ length: 3_000 }, (_, i) => queue.issue(`u${i}`, tokens.next(), now)));
      await expect(queue.admit(now, 2_500, 1_000)).resolves.toMatchObject({ admitted: 2_500, waiting: 500 });
      const active = await redis.redis.zrange(`${redis.prefix}queue:active`, 0, -1);
      const byArrival = [...issued].sort((a, b) => (a.state.status === 'WAITING' && b.state.status === 'WAITING' ? a.state.position - b.state.position : 0));
      expect(new Set(active)).toEqual(new Set(byArrival.slice(0, 2_500).map((t) => t.token)));
    } finally {
      await redis.cleanup();
    }
  });

  it('sends a script again when Redis has lost its script cache', async () => {
    const redis = createIsolatedRedis(inject('redisUrl'));
    try {
      const queue = new RedisQueue(redis.redis, { prefix: redis.prefix });
      await queue.issue('u1', tokens.next(), now);
      await redis.redis.script('FLUSH');
      await expect(queue.issue('u2', tokens.next(), now)).resolves.toMatchObject({ created: true, state: { position: 2 } });
    } finally {
      await redis.cleanup();
    }
  });

  it('answers DependencyUnavailableError at once when Redis cannot be reached', async () => {
    const client = createRedis('redis://127.0.0.1:1');
    try {
      const queue = new RedisQueue(client, { prefix: 'down:' });
      const started = Date.now();
      await expect(queue.issue('u1', tokens.next(), now)).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(queue.status(tokens.next(), now)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      await expect(queue.admit(now, 1, 1_000)).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(queue.counts(now)).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(queue.ping()).rejects.toBeInstanceOf(DependencyUnavailableError);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      client.disconnect();
    }
  });
});
