/**
 * What the Redis lock does beyond the LockPort contract: refreshing a lease
 * in real time, releasing safely after a loss, handing a key over through
 * its release channel (across instances, after a lost message or a dropped
 * subscription, and closing the subscriber with its client), and failing
 * fast when Redis is gone. These wait on real time (leases are Redis TTLs),
 * in multiples of a short lease.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, inject, it, onTestFinished } from 'vitest';
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

  describe('hand-over through the release channel', () => {
    /** Far longer than any of these tests: a waiter that had to poll to see a release would not finish. */
    const noPolling = { unsubscribedPollMs: 10_000, fallbackPollMs: 10_000 };

    it('publishes each release on <prefix>lock-released, with the key; a release that deleted nothing publishes nothing', async () => {
      const listener = redis.redis.duplicate();
      try {
        const heard: string[] = [];
        listener.on('message', (_channel: string, key: string) => heard.push(key));
        await listener.subscribe(`${redis.prefix}lock-released`);
        await lock.withLock(['point:u7', 'seat:s1:4'], async () => undefined, failFast);
        // The key vanished under its holder (a restart, an expiry): its release deletes nothing and announces nothing.
        await lock.withLock(['seat:s1:5'], async () => void (await redis.redis.del(`${redis.prefix}lock:seat:s1:5`)), failFast);
        await listener.ping(); // answered after every message published before it
        expect(heard.sort()).toEqual([`${redis.prefix}lock:point:u7`, `${redis.prefix}lock:seat:s1:4`]);
      } finally {
        listener.disconnect();
      }
    });

    it("wakes a waiter of another process (its own client and subscriber) at the holder's release", async () => {
      const otherClient = redis.redis.duplicate();
      onTestFinished(() => otherClient.disconnect());
      const other = new RedisLock(otherClient, { prefix: redis.prefix, defaultLeaseMs: leaseMs, ...noPolling });
      const here = new RedisLock(redis.redis, { prefix: redis.prefix, defaultLeaseMs: leaseMs, ...noPolling });
      const entered = deferred();
      const release = deferred();
      const holder = here.withLock(['point:u8'], async () => {
        entered.resolve();
        await release.promise;
      }, failFast);
      await entered.promise;
      const waiting = other.withLock(['point:u8'], async () => 'mine', { wait: { kind: 'wait', maxWaitMs: 30_000 } });
      // The waiter's subscription is live once Redis counts it: from then on the release reaches it.
      await untilSubscribed(`${redis.prefix}lock-released`);
      release.resolve();
      await holder;
      const releasedAt = Date.now();
      await expect(waiting).resolves.toBe('mine');
      expect(Date.now() - releasedAt).toBeLessThan(noPolling.fallbackPollMs / 4);
    }, 30_000);

    it('recovers a release that announced nothing (the key deleted by hand) by its fallback poll, within its wait', async () => {
      const fallbackPollMs = 300;
      const client = redis.redis.duplicate();
      onTestFinished(() => client.disconnect());
      const waiterLock = new RedisLock(client, { prefix: redis.prefix, defaultLeaseMs: leaseMs, unsubscribedPollMs: 10_000, fallbackPollMs });
      // Its subscription confirmed first (a contended round), so that nothing but the fallback poll can find the key free.
      const warm = await holdFor(lock, 'point:warm');
      const warmed = waiterLock.withLock(['point:warm'], async () => undefined, { wait: { kind: 'wait', maxWaitMs: 30_000 } });
      await untilSubscribed(`${redis.prefix}lock-released`);
      await warm();
      await warmed;

      const release = await holdFor(lock, 'point:u10', 10_000);
      const waiting = waiterLock.withLock(['point:u10'], async () => 'mine', { wait: { kind: 'wait', maxWaitMs: 5_000 } });
      await client.ping(); // answered after the waiter's first attempt: it has been refused, and waits
      await redis.redis.del(`${redis.prefix}lock:point:u10`);
      const deletedAt = Date.now();
      await expect(waiting).resolves.toBe('mine');
      expect(Date.now() - deletedAt).toBeLessThan(fallbackPollMs + 1_000);
      await release();
    }, 30_000);

    it('a release missed while the subscription dropped is found at once (on the drop, or once subscribed again), not at the fallback poll', async () => {
      const name = `lock-test-${process.pid}-${Date.now()}-drop`;
      const client = createRedis(inject('redisUrl'), { name });
      onTestFinished(() => client.disconnect());
      const own = new RedisLock(client, { prefix: redis.prefix, defaultLeaseMs: leaseMs, fallbackPollMs: 10_000 });
      const release = await holdFor(lock, 'point:u11', 10_000);
      const waiting = own.withLock(['point:u11'], async () => 'mine', { wait: { kind: 'wait', maxWaitMs: 8_000 } });
      const subscriberName = `${name}-lock-releases`;
      await until(async () => (await clientNames()).includes(subscriberName));
      await untilSubscribed(`${redis.prefix}lock-released`);
      // The key goes without a word (its holder lost it), and the connection that would have heard a release drops.
      await redis.redis.del(`${redis.prefix}lock:point:u11`);
      const droppedAt = Date.now();
      await redis.redis.client('KILL', 'ID', String(await clientId(subscriberName)));
      await expect(waiting).resolves.toBe('mine');
      expect(Date.now() - droppedAt).toBeLessThan(2_000);
      await release();
    }, 30_000);

    it('closes its subscriber connection when the client it was made from ends', async () => {
      const name = `lock-test-${process.pid}-${Date.now()}`;
      const client = createRedis(inject('redisUrl'), { name });
      const own = new RedisLock(client, { prefix: redis.prefix, defaultLeaseMs: leaseMs });
      const release = await holdFor(own, 'point:u9');
      const waiting = own.withLock(['point:u9'], async () => undefined, { wait: { kind: 'wait', maxWaitMs: 5_000 } });
      const subscriberName = `${name}-lock-releases`;
      await until(async () => (await clientNames()).includes(subscriberName));
      await release();
      await waiting;
      await client.quit();
      await until(async () => !(await clientNames()).includes(subscriberName));
    });

    async function holdFor(on: RedisLock, key: string, holdLeaseMs = leaseMs): Promise<() => Promise<void>> {
      const entered = deferred();
      const release = deferred();
      const done = on.withLock([key], async () => {
        entered.resolve();
        await release.promise;
      }, { ...failFast, leaseMs: holdLeaseMs });
      await entered.promise;
      return async () => {
        release.resolve();
        await done;
      };
    }

    async function untilSubscribed(channel: string): Promise<void> {
      await until(async () => {
        const [, count] = (await redis.redis.pubsub('NUMSUB', channel)) as [string, number];
        return Number(count) > 0;
      });
    }

    async function clientId(name: string): Promise<number> {
      const list = (await redis.redis.client('LIST')) as string;
      const line = list.split('\n').find((l) => l.includes(` name=${name} `));
      return Number(/(?:^| )id=(\d+)/.exec(line ?? '')?.[1]);
    }

    async function clientNames(): Promise<string[]> {
      const list = (await redis.redis.client('LIST')) as string;
      return list.split('\n').map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '');
    }
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

/** Polls a condition until it holds, for at most five seconds. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await sleep(20);
  }
}
