/**
 * What the Redis lock does beyond the LockPort contract: refreshing a lease
 * in real time, releasing safely after a loss, and failing fast when Redis is
 * gone. These wait on real time (leases are Redis TTLs), in multiples of a
 * short lease.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../adapters/redis/create-redis.js';
import { RedisLock } from '../../adapters/redis/redis-lock.js';
import { DependencyUnavailableError, LeaseLostError, LockBusyError } from '../../core/domain/errors.js';
import { aborted, deferred } from '../support/deferred.js';
import type { IsolatedRedis } from '../support/isolated-redis.js';
import { createIsolatedRedis } from '../support/isolated-redis.js';

const leaseMs = 300;
const failFast = { wait: { kind: 'fail-fast' } } as const;

describe('RedisLock', () => {
  let redis: IsolatedRedis;
  let lock: RedisLock;
  beforeEach(() => {
    redis = createIsolatedRedis(inject('redisUrl'));
    lock = new RedisLock(redis.redis, { prefix: redis.prefix, defaultLeaseMs: leaseMs });
  });
  afterEach(async () => redis.cleanup());

  it('refreshes the lease while work runs past it: the signal stays quiet and the key stays taken', async () => {
    // Longer than the file's lease: a refresh every third of it must survive event-loop stalls of a loaded CI machine.
    const refreshedLeaseMs = 900;
    const outcome = await lock.withLock(
      ['seat:s1:1'],
      async (lease) => {
        await sleep(2 * refreshedLeaseMs);
        const intruder = lock.withLock(['seat:s1:1'], async () => 'never', failFast);
        await expect(intruder).rejects.toBeInstanceOf(LockBusyError);
        await sleep(refreshedLeaseMs);
        return lease.signal.aborted ? 'lost' : 'held';
      },
      { ...failFast, leaseMs: refreshedLeaseMs },
    );
    expect(outcome).toBe('held');
    await expect(lock.withLock(['seat:s1:1'], async () => 'free', failFast)).resolves.toBe('free');
  });

  it("releasing after the lease was lost leaves the new holder's key alone", async () => {
    const lost = deferred();
    const release = deferred();
    const secondIn = deferred();
    // A long lease: the first holder never refreshes during the test, so it has not noticed the loss when it releases.
    const first = lock.withLock(
      ['seat:s1:2'],
      async () => {
        lost.resolve();
        await release.promise;
        return 'first done';
      },
      { ...failFast, leaseMs: 10_000 },
    );
    await lost.promise;
    await redis.redis.del(`${redis.prefix}lock:seat:s1:2`);
    const freeSecond = deferred();
    const second = lock.withLock(
      ['seat:s1:2'],
      async () => {
        secondIn.resolve();
        await freeSecond.promise;
      },
      failFast,
    );
    await secondIn.promise;
    release.resolve();
    await expect(first).resolves.toBe('first done');
    await expect(lock.withLock(['seat:s1:2'], async () => 'never', failFast)).rejects.toBeInstanceOf(LockBusyError);
    freeSecond.resolve();
    await second;
  });

  it('fires the signal, and still returns the work, when Redis becomes unreachable while work runs', async () => {
    const client = createRedis(inject('redisUrl'));
    const cut = new RedisLock(client, { prefix: redis.prefix, defaultLeaseMs: leaseMs });
    const started = Date.now();
    const outcome = await cut.withLock(
      ['point:u1'],
      async (lease) => {
        client.disconnect();
        await aborted(lease.signal);
        return lease.signal.reason;
      },
      failFast,
    );
    expect(outcome).toBeInstanceOf(LeaseLostError);
    // Within about a lease (one failed refresh is tolerated, the second ends it), not after a command timeout or never.
    expect(Date.now() - started).toBeLessThan(2 * leaseMs);
  });

  describe('when Redis is down', () => {
    it('rejects withLock and ping with DependencyUnavailableError quickly', async () => {
      const client = createRedis('redis://127.0.0.1:1');
      const down = new RedisLock(client, { prefix: redis.prefix });
      try {
        let ran = false;
        const started = Date.now();
        const locked = down.withLock(['seat:s1:3'], async () => {
          ran = true;
        }, { wait: { kind: 'wait', maxWaitMs: 10_000 } });
        await expect(locked).rejects.toBeInstanceOf(DependencyUnavailableError);
        await expect(locked).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', dependency: 'lock' });
        await expect(down.ping()).rejects.toBeInstanceOf(DependencyUnavailableError);
        expect(ran).toBe(false);
        expect(Date.now() - started).toBeLessThan(1_500);
      } finally {
        client.disconnect();
      }
    });
  });
});
