/**
 * Admission on real Redis from several OS processes at once, as several app
 * instances run it: the limit holds and the first arrivals, exactly, get in.
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { RedisQueue } from '../../adapters/redis/redis-queue.js';
import { RandomTokenGenerator } from '../../adapters/system/random-token-generator.js';
import { createIsolatedRedis, type IsolatedRedis } from '../support/isolated-redis.js';
import { runWorker } from '../support/spawn-worker.js';

const PROCESSES = 3;
const ROUNDS_PER_PROCESS = 4;
const WAITERS = 1_000;
const ACTIVE_MAX = 100;

describe('queue admission on real Redis', () => {
  let redis: IsolatedRedis;
  beforeAll(() => {
    redis = createIsolatedRedis(inject('redisUrl'));
  });
  afterAll(async () => redis?.cleanup());

  it(`${PROCESSES} processes × ${ROUNDS_PER_PROCESS} concurrent rounds, ${WAITERS} waiting, limit ${ACTIVE_MAX}: exactly the first ${ACTIVE_MAX} by arrival are ACTIVE`, async () => {
    const queue = new RedisQueue(redis.redis, { prefix: redis.prefix });
    const generator = new RandomTokenGenerator();
    const tokens: string[] = [];
    // One after another: arrival order is this loop's order.
    for (let i = 0; i < WAITERS; i++) tokens.push((await queue.issue(`user-${i}`, generator.next(), new Date())).token);

    const barrier = `${redis.prefix}barrier`;
    const workers = Array.from({ length: PROCESSES }, () =>
      runWorker<{ admitted: number[] }>(new URL('./workers/admit-worker.ts', import.meta.url), {
        REDIS_URL: inject('redisUrl'),
        REDIS_PREFIX: redis.prefix,
        BARRIER_KEY: barrier,
        ACTIVE_MAX: String(ACTIVE_MAX),
        ROUNDS: String(ROUNDS_PER_PROCESS),
      }),
    );
    // Every process connected and waiting: open the barrier for all of them at once.
    await vi.waitFor(async () => expect(await redis.redis.get(`${barrier}:ready`)).toBe(String(PROCESSES)), { timeout: 30_000, interval: 50 });
    await redis.redis.rpush(`${barrier}:go`, ...Array<string>(PROCESSES).fill('go'));
    const results = await Promise.all(workers);

    const admitted = results.flatMap((r) => r.admitted);
    expect(admitted).toHaveLength(PROCESSES * ROUNDS_PER_PROCESS);
    expect(admitted.reduce((sum, n) => sum + n, 0)).toBe(ACTIVE_MAX);

    const active = await redis.redis.zrange(`${redis.prefix}queue:active`, 0, -1);
    expect(new Set(active)).toEqual(new Set(tokens.slice(0, ACTIVE_MAX)));
    expect(await redis.redis.zrange(`${redis.prefix}queue:waiting`, 0, -1)).toEqual(tokens.slice(ACTIVE_MAX));
    const now = new Date();
    await expect(queue.status(tokens[ACTIVE_MAX - 1] as string, now)).resolves.toMatchObject({ status: 'ACTIVE', userId: `user-${ACTIVE_MAX - 1}` });
    await expect(queue.status(tokens[ACTIVE_MAX] as string, now)).resolves.toMatchObject({ status: 'WAITING', position: 1 });
    await expect(queue.counts(now)).resolves.toEqual({ waiting: WAITERS - ACTIVE_MAX, active: ACTIVE_MAX });
  });
});
