/**
 * Admission on real Redis from several OS processes at once, as several app
 * instances run it: the limit holds and the first arrivals, exactly, get
 * in; with half the line gone silent, exactly the first present ones do,
 * and nothing of the silent is left.
 */
import { describe, expect, inject, it, vi } from 'vitest';
import { RedisQueue } from '../../adapters/redis/redis-queue.js';
import { RandomTokenGenerator } from '../../adapters/system/random-token-generator.js';
import { createIsolatedRedis, type IsolatedRedis } from '../support/isolated-redis.js';
import { runWorker } from '../support/spawn-worker.js';

const PROCESSES = 3;
const ROUNDS_PER_PROCESS = 4;
const WAITERS = 1_000;
const ACTIVE_MAX = 100;
const PRESENCE_MS = 120_000;
const t0 = Date.parse('2026-01-01T00:00:00Z');

/** Every process connected and waiting at the barrier, then all let go at once: answers what each round admitted and dropped. */
async function raceAdmitters(redis: IsolatedRedis, nowMs: number): Promise<{ admitted: number[]; dropped: number[] }> {
  const barrier = `${redis.prefix}barrier`;
  const workers = Array.from({ length: PROCESSES }, () =>
    runWorker<{ admitted: number[]; dropped: number[] }>(new URL('./workers/admit-worker.ts', import.meta.url), {
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: redis.prefix,
      BARRIER_KEY: barrier,
      ACTIVE_MAX: String(ACTIVE_MAX),
      ROUNDS: String(ROUNDS_PER_PROCESS),
      NOW_MS: String(nowMs),
      PRESENCE_TIMEOUT_MS: String(PRESENCE_MS),
    }),
  );
  await vi.waitFor(async () => expect(await redis.redis.get(`${barrier}:ready`)).toBe(String(PROCESSES)), { timeout: 30_000, interval: 50 });
  await redis.redis.rpush(`${barrier}:go`, ...Array<string>(PROCESSES).fill('go'));
  const results = await Promise.all(workers);
  const admitted = results.flatMap((r) => r.admitted);
  expect(admitted).toHaveLength(PROCESSES * ROUNDS_PER_PROCESS);
  return { admitted, dropped: results.flatMap((r) => r.dropped) };
}

const sum = (numbers: readonly number[]) => numbers.reduce((total, n) => total + n, 0);

describe('queue admission on real Redis', () => {
  it(`${PROCESSES} processes × ${ROUNDS_PER_PROCESS} concurrent rounds, ${WAITERS} waiting, limit ${ACTIVE_MAX}: exactly the first ${ACTIVE_MAX} by arrival are ACTIVE`, async () => {
    const redis = createIsolatedRedis(inject('redisUrl'));
    try {
      const queue = new RedisQueue(redis.redis, { prefix: redis.prefix });
      const generator = new RandomTokenGenerator();
      const tokens: string[] = [];
      // One after another: arrival order is this loop's order.
      for (let i = 0; i < WAITERS; i++) tokens.push((await queue.issue(`user-${i}`, generator.next(), new Date(t0))).token);

      const { admitted, dropped } = await raceAdmitters(redis, t0 + 1_000);
      expect(sum(admitted)).toBe(ACTIVE_MAX);
      expect(sum(dropped)).toBe(0);

      const active = await redis.redis.zrange(`${redis.prefix}queue:active`, 0, -1);
      expect(new Set(active)).toEqual(new Set(tokens.slice(0, ACTIVE_MAX)));
      expect(await redis.redis.zrange(`${redis.prefix}queue:waiting`, 0, -1)).toEqual(tokens.slice(ACTIVE_MAX));
      const now = new Date(t0 + 1_000);
      await expect(queue.status(tokens[ACTIVE_MAX - 1] as string, now)).resolves.toMatchObject({ status: 'ACTIVE', userId: `user-${ACTIVE_MAX - 1}` });
      await expect(queue.status(tokens[ACTIVE_MAX] as string, now)).resolves.toMatchObject({ status: 'WAITING', position: 1 });
      await expect(queue.counts(now)).resolves.toEqual({ waiting: WAITERS - ACTIVE_MAX, active: ACTIVE_MAX });
    } finally {
      await redis.cleanup();
    }
  });

  it(`the same with every other waiter silent past the timeout: exactly the first ${ACTIVE_MAX} present are ACTIVE, the silent all gone`, async () => {
    const redis = createIsolatedRedis(inject('redisUrl'));
    try {
      const queue = new RedisQueue(redis.redis, { prefix: redis.prefix });
      const generator = new RandomTokenGenerator();
      const tokens: string[] = [];
      for (let i = 0; i < WAITERS; i++) tokens.push((await queue.issue(`user-${i}`, generator.next(), new Date(t0))).token);
      // The even ones ask halfway through the timeout; the odd ones are never heard from again.
      for (let i = 0; i < WAITERS; i += 2) await queue.current(`user-${i}`, new Date(t0 + PRESENCE_MS / 2));
      const present = tokens.filter((_, i) => i % 2 === 0);
      const silent = tokens.filter((_, i) => i % 2 === 1);

      // Exactly the timeout after the silent were last seen: all of them are absent, none of the others.
      const nowMs = t0 + PRESENCE_MS;
      const { admitted, dropped } = await raceAdmitters(redis, nowMs);
      expect(sum(admitted)).toBe(ACTIVE_MAX);
      expect(sum(dropped)).toBe(silent.length);

      const key = (name: string) => `${redis.prefix}queue:${name}`;
      expect(new Set(await redis.redis.zrange(key('active'), 0, -1))).toEqual(new Set(present.slice(0, ACTIVE_MAX)));
      expect(await redis.redis.zrange(key('waiting'), 0, -1)).toEqual(present.slice(ACTIVE_MAX));
      expect(await redis.redis.zrange(key('seen'), 0, -1)).toHaveLength(present.length - ACTIVE_MAX);
      const tokenUser = await redis.redis.hgetall(key('token-user'));
      const userToken = await redis.redis.hgetall(key('user-token'));
      expect(Object.keys(tokenUser).sort()).toEqual([...present].sort());
      expect(Object.values(userToken).sort()).toEqual([...present].sort());
      const now = new Date(nowMs);
      await expect(queue.status(silent[0] as string, now)).resolves.toBeUndefined();
      await expect(queue.status(present[ACTIVE_MAX] as string, now)).resolves.toMatchObject({ status: 'WAITING', position: 1, userId: `user-${2 * ACTIVE_MAX}` });
      await expect(queue.counts(now)).resolves.toEqual({ waiting: present.length - ACTIVE_MAX, active: ACTIVE_MAX });
    } finally {
      await redis.cleanup();
    }
  });
});
