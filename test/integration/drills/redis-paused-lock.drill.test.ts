/**
 * Locks left behind by a paused Redis (issue 8, found in drill 2). While
 * Redis is paused (SIGSTOP) the connection stays open: a command the lock
 * sends is not lost, it waits in the server and runs when Redis resumes,
 * long after the client gave up on it at its 1 s command timeout. Without
 * care, that late command takes (or extends) the key for a whole lease on
 * behalf of a request that already answered 503 or rolled back: the next
 * buyer of the seat gets 409 LOCK_BUSY, a retried payment
 * IDEMPOTENCY_IN_PROGRESS, for up to 10 s.
 *
 * Each case runs a redis-server of its own (never the shared one), the
 * service's client (createRedis: 1 s command timeout) and the production
 * lease (10 s), so that a key left behind is unmistakable. After resuming,
 * a PING on the holder's own connection is the synchronisation point: its
 * answer comes after every command queued before it on that connection
 * (the late acquire or refresh, and the cleanup sent behind it) has run.
 * Each case checks that the late command did run (the fencing counter
 * moved, or the key outlived the pause), so that it cannot pass for want
 * of a key to leave behind.
 */
import { once } from 'node:events';
import net from 'node:net';
import type { Redis } from 'ioredis';
import { expireIfEqualLua } from 'redis-semaphore/lib/mutex/refresh.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedis } from '../../../adapters/redis/create-redis.js';
import { RedisLock } from '../../../adapters/redis/redis-lock.js';
import { LOCK_LEASE_MS, REDIS_COMMAND_TIMEOUT_MS } from '../../../app/time-bounds.js';
import { DependencyUnavailableError, LeaseLostError } from '../../../core/domain/errors.js';
import { lockKeys } from '../../../core/keys.js';
import { aborted, deferred } from '../../support/deferred.js';
import type { DrillRedisServer } from '../../support/drill-redis-server.js';
import { startDrillRedisServer } from '../../support/drill-redis-server.js';

const PREFIX = 'drill:';
const failFast = { wait: { kind: 'fail-fast' } } as const;
/** Scheduling on a busy two-core machine. */
const SLACK_MS = 1_000;

describe('a paused Redis leaves no lock behind (RedisLock)', () => {
  let server: DrillRedisServer | undefined;
  const clients: Redis[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((client) => client.disconnect());
    await server?.remove();
    server = undefined;
  });

  /** One service instance: its own connection (the service's client) and its lock. */
  function instance(url: string) {
    const redis = createRedis(url);
    clients.push(redis);
    return { redis, lock: new RedisLock(redis, { prefix: PREFIX }) };
  }

  /**
   * As on a server the service has used for a while: the lock's scripts
   * (acquire, release, refresh) in its cache. A late EVALSHA of a script
   * the server does not know is answered NOSCRIPT and does nothing, so on a
   * fresh server the late acquire and refreshes would leave nothing behind.
   */
  async function warmScripts({ redis, lock }: ReturnType<typeof instance>): Promise<void> {
    await lock.withLock(['warm-up'], async () => undefined, failFast);
    await expireIfEqualLua(redis, [`${PREFIX}lock:warm-up`, 'no-one', LOCK_LEASE_MS]);
  }

  it('an acquire that timed out while Redis was paused runs when it resumes, and its key is deleted right behind it: the next buyer gets the seat', async () => {
    server = await startDrillRedisServer();
    const a = instance(server.url);
    const b = instance(server.url);
    const seat = lockKeys.seat('s1', 7);
    await warmScripts(a);
    await b.redis.ping();
    const fenceBefore = Number(await b.redis.get(`${PREFIX}fence`));

    server.pause();
    const started = performance.now();
    let ran = false;
    const attempt = a.lock.withLock([seat], async () => void (ran = true), failFast);
    await expect(attempt).rejects.toBeInstanceOf(DependencyUnavailableError);
    // The request answered 503 at the command timeout, never ran its work.
    expect(performance.now() - started).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + SLACK_MS);
    expect(ran).toBe(false);

    server.resume();
    await a.redis.ping();
    // The acquire did run after the resume (it drew a fencing token), so there was a key to leave behind...
    expect(Number(await b.redis.get(`${PREFIX}fence`))).toBe(fenceBefore + 1);
    // ...and it is gone: no key held by no one, the other instance takes the seat at once.
    expect(await b.redis.pttl(`${PREFIX}lock:${seat}`)).toBe(-2);
    await expect(b.lock.withLock([seat], async () => 'mine', failFast)).resolves.toBe('mine');
  });

  it('the same for a waiting acquire (a wallet): the attempt that timed out is undone, and the keys taken before it are released', async () => {
    // A server fresh from a restart: the release script is not in its cache yet (the acquire script gets there
    // with the first key). The release of the first key times out like the rest, and its EVALSHA is answered
    // NOSCRIPT, to no one, after the resume: the delete sent behind it must not depend on the script cache.
    server = await startDrillRedisServer();
    const a = instance(server.url);
    const b = instance(server.url);
    const wallet = lockKeys.points('u1');
    const reservation = lockKeys.reservation('r1');
    // Taken before the pause: the keys of a payment are acquired one by one, and the pause falls between two of them.
    const firstKeyTaken = deferred();
    const redisPaused = deferred();
    const originalEvalsha = a.redis.evalsha.bind(a.redis);
    let acquires = 0;
    // Pauses Redis right before the second acquire is sent, the way a pause lands between two round trips.
    a.redis.evalsha = (async (...args: Parameters<Redis['evalsha']>) => {
      if (++acquires === 2) {
        firstKeyTaken.resolve();
        await redisPaused.promise;
      }
      return originalEvalsha(...args);
    }) as Redis['evalsha'];
    void firstKeyTaken.promise.then(() => {
      server?.pause();
      redisPaused.resolve();
    });

    const attempt = a.lock.withLock([wallet, reservation], async () => 'never', { wait: { kind: 'wait', maxWaitMs: 2_000 } });
    await expect(attempt).rejects.toBeInstanceOf(DependencyUnavailableError);
    a.redis.evalsha = originalEvalsha;

    server.resume();
    await a.redis.ping();
    expect(await b.redis.get(`${PREFIX}fence`)).toBe('2');
    for (const key of [wallet, reservation]) expect({ key, pttl: await b.redis.pttl(`${PREFIX}lock:${key}`) }).toEqual({ key, pttl: -2 });
    await expect(b.lock.withLock([wallet, reservation], async () => 'mine', failFast)).resolves.toBe('mine');
  });

  it('a holder that gave its lease up while Redis was paused: the refreshes still queued run on resume, and the key is deleted behind them', async () => {
    server = await startDrillRedisServer();
    const a = instance(server.url);
    const b = instance(server.url);
    const wallet = lockKeys.points('u2');
    await warmScripts(a);

    // The key cannot expire on the server before this instant: it was set, with the lease, after the call.
    const sentAt = performance.now();
    const inside = deferred();
    const resumedAt = deferred<number>();
    const holder = a.lock.withLock(
      [wallet],
      async (lease) => {
        inside.resolve();
        // Refreshes time out from here on. The holder keeps going while the lease is sure to outlast the next
        // refresh, and gives it up (the signal) about 7.7 s in: a refresh interval plus a command timeout before the end.
        await aborted(lease.signal);
        // Resumed at once, while the key still lives on the server for another ~2 s: the refreshes queued
        // there (compare-and-PEXPIRE) now run and would keep it for a whole new lease, for no one.
        server?.resume();
        resumedAt.resolve(performance.now());
        return lease.signal.reason;
      },
      failFast,
    );
    await inside.promise;
    server.pause();
    await expect(holder).resolves.toBeInstanceOf(LeaseLostError);
    // The case is only meaningful if Redis resumed before the key's own end there (the refreshes then extend it).
    expect(await resumedAt.promise).toBeLessThan(sentAt + LOCK_LEASE_MS - 500);

    await a.redis.ping();
    expect(await b.redis.pttl(`${PREFIX}lock:${wallet}`)).toBe(-2);
    await expect(b.lock.withLock([wallet], async () => 'mine', failFast)).resolves.toBe('mine');
  }, 30_000);

  it('an acquire whose connection dropped while Redis was paused is sent again on the next connection, and deleted right behind it', async () => {
    server = await startDrillRedisServer();
    const link = await cuttableLink(server.port);
    try {
      const a = instance(`redis://127.0.0.1:${link.port}`);
      const b = instance(server.url);
      const seat = lockKeys.seat('s1', 8);
      await warmScripts(a);
      await b.redis.ping();
      const fenceBefore = Number(await b.redis.get(`${PREFIX}fence`));

      server.pause();
      // withLock writes the acquire before it returns; then the network drops the connection, and the client
      // reconnects to a server that accepts the connection and answers nothing yet. The acquire times out while
      // the client has no ready connection: there is nowhere to send the cleanup now...
      const attempt = a.lock.withLock([seat], async () => 'never', failFast);
      // (Not events.once: the client also emits the connection's 'error', which would reject it.)
      const dropped = new Promise((resolve) => a.redis.once('close', resolve));
      link.cut();
      await dropped;
      await expect(attempt).rejects.toBeInstanceOf(DependencyUnavailableError);
      expect(a.redis.status).not.toBe('ready');

      // ...and on the next connection ioredis sends the unanswered acquire again, before it says 'ready'.
      const ready = once(a.redis, 'ready');
      server.resume();
      await ready;
      await a.redis.ping();
      expect(Number(await b.redis.get(`${PREFIX}fence`))).toBeGreaterThan(fenceBefore);
      expect(await b.redis.pttl(`${PREFIX}lock:${seat}`)).toBe(-2);
      await expect(b.lock.withLock([seat], async () => 'mine', failFast)).resolves.toBe('mine');
    } finally {
      await link.close();
    }
  });
});

/** A TCP link to the drill's Redis that the network can cut: every connection it carries closes at once, both ways. */
async function cuttableLink(upstreamPort: number) {
  const open = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    cut: () => open.forEach((socket) => socket.destroy()),
    close: async () => {
      open.forEach((socket) => socket.destroy());
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
