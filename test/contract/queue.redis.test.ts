import { describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../adapters/redis/create-redis.js';
import { RedisQueue } from '../../adapters/redis/redis-queue.js';
import { RandomTokenGenerator } from '../../adapters/system/random-token-generator.js';
import { DependencyUnavailableError } from '../../core/domain/errors.js';
import type { AdmissionRules } from '../../core/domain/queue.js';
import { createIsolatedRedis, type IsolatedRedis } from '../support/isolated-redis.js';
import { describeQueueContract } from './queue.contract.js';

describeQueueContract('redis', async () => {
  const redis = createIsolatedRedis(inject('redisUrl'));
  return {
    queue: new RedisQueue(redis.redis, { prefix: redis.prefix }),
    remnants: (token, userId) => remnants(redis, token, userId),
    cleanup: redis.cleanup,
  };
});

/** Every key and hash field of the layout (queue-scripts.ts) that still names `token`. */
async function remnants({ redis, prefix }: IsolatedRedis, token: string, userId: string): Promise<string[]> {
  const key = (name: string) => `${prefix}queue:${name}`;
  const found: (string | false)[] = await Promise.all([
    redis.zscore(key('waiting'), token).then((score) => score !== null && 'waiting'),
    redis.zscore(key('seen'), token).then((score) => score !== null && 'seen'),
    redis.zscore(key('active'), token).then((score) => score !== null && 'active'),
    redis.hexists(key('token-user'), token).then((exists) => exists === 1 && 'token-user'),
    redis.hget(key('user-token'), userId).then((value) => value === token && 'user-token'),
    redis.exists(key(`spent:${token}`)).then((exists) => exists === 1 && 'spent'),
  ]);
  return found.filter((place): place is string => place !== false);
}

/** What the Redis queue does beyond the contract: its layout, big rounds, a flushed script cache, Redis down. */
describe('RedisQueue', () => {
  const tokens = new RandomTokenGenerator();
  const now = new Date('2026-01-01T00:00:00Z');
  const rules = (activeMax: number, activeTtlMs = 1_000, presenceTimeoutMs = 60_000): AdmissionRules => ({ activeMax, activeTtlMs, presenceTimeoutMs });

  it('keeps everything under its prefix, in a fixed set of keys (no key per user)', async () => {
    const redis = createIsolatedRedis(inject('redisUrl'));
    try {
      const queue = new RedisQueue(redis.redis, { prefix: redis.prefix });
      for (let i = 0; i < 50; i++) await queue.issue(`u${i}`, tokens.next(), now);
      await queue.admit(now, rules(10));
      const keys = await redis.redis.keys(`${redis.prefix}*`);
      expect(keys.map((key) => key.slice(redis.prefix.length)).sort()).toEqual([
        'queue:active',
        'queue:admitted',
        'queue:seen',
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
      await queue.admit(now, rules(1, 60_000));
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
      await expect(queue.admit(now, rules(2_500))).resolves.toMatchObject({ admitted: 2_500, waiting: 500 });
      const active = await redis.redis.zrange(`${redis.prefix}queue:active`, 0, -1);
      const byArrival = [...issued].sort((a, b) => (a.state.status === 'WAITING' && b.state.status === 'WAITING' ? a.state.position - b.state.position : 0));
      expect(new Set(active)).toEqual(new Set(byArrival.slice(0, 2_500).map((t) => t.token)));
    } finally {
      await redis.cleanup();
    }
  });

  it('drops more absent waiters in one round than one Lua unpack can take, leaving no key or hash field of theirs', async () => {
    const redis = createIsolatedRedis(inject('redisUrl'));
    try {
      const queue = new RedisQueue(redis.redis, { prefix: redis.prefix });
      const later = new Date(now.getTime() + 60_000);
      await Promise.all(Array.from({ length: 3_000 }, (_, i) => queue.issue(`gone-${i}`, tokens.next(), now)));
      const stayed = await queue.issue('stayed', tokens.next(), later);
      await expect(queue.admit(later, rules(1))).resolves.toEqual({ admitted: 1, expired: 0, dropped: 3_000, waiting: 0, admittedTotal: 1 });
      const key = (name: string) => `${redis.prefix}queue:${name}`;
      await expect(redis.redis.zcard(key('waiting'))).resolves.toBe(0);
      await expect(redis.redis.zcard(key('seen'))).resolves.toBe(0);
      await expect(redis.redis.hgetall(key('token-user'))).resolves.toEqual({ [stayed.token]: 'stayed' });
      await expect(redis.redis.hgetall(key('user-token'))).resolves.toEqual({ stayed: stayed.token });
      await expect(redis.redis.zrange(key('active'), 0, -1)).resolves.toEqual([stayed.token]);
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
      await expect(queue.current('u1', now)).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(queue.leave('u1', now)).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(queue.extend(tokens.next(), now, now)).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(queue.admit(now, rules(1))).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(queue.counts(now)).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(queue.ping()).rejects.toBeInstanceOf(DependencyUnavailableError);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      client.disconnect();
    }
  });
});
