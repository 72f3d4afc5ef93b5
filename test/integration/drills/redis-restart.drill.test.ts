/**
 * Redis restarted: what survives and what does not. Each case runs a
 * redis-server of its own (never the shared one) in a temporary folder,
 * stops it with `redis-cli shutdown` and starts it again on the same port
 * and folder. The service's own client (createRedis) stays connected
 * throughout and reconnects by itself, as an instance would.
 *
 * - With AOF (`--appendonly yes --appendfsync everysec`, as docker-compose
 *   runs it): the waiting line keeps its order, the ACTIVE tokens their
 *   expiries, and the lock's fencing counter goes on from where it was.
 *   (SHUTDOWN fsyncs; a crash would lose at most the last second.)
 * - Without persistence: all of that is gone. Every token is unknown, so
 *   everyone queues again, and fencing tokens start again from 1.
 * - Drill 3 of DESIGN.md's failure model: restarted empty in the middle of
 *   held locks, each holder whose lease vanished rolls back; a holder that
 *   had committed before stays committed.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { KyselyTransactionManager } from '../../../adapters/kysely/kysely-transaction.js';
import { createRedis } from '../../../adapters/redis/create-redis.js';
import { RedisLock } from '../../../adapters/redis/redis-lock.js';
import { RedisQueue } from '../../../adapters/redis/redis-queue.js';
import { RandomTokenGenerator } from '../../../adapters/system/random-token-generator.js';
import { LeaseLostError } from '../../../core/domain/errors.js';
import { BALANCE_LIMIT } from '../../../core/domain/points.js';
import type { AdmissionRules, TokenState } from '../../../core/domain/queue.js';
import { lockKeys } from '../../../core/keys.js';
import type { Lease } from '../../../core/ports/lock.port.js';
import { aborted, deferred } from '../../support/deferred.js';
import type { DrillRedisServer } from '../../support/drill-redis-server.js';
import { startDrillRedisServer } from '../../support/drill-redis-server.js';
import type { MigratedDatabase } from '../../support/migrated-database.js';
import { createMigratedDatabase } from '../../support/migrated-database.js';

const PREFIX = 'drill:';

/** Restarts the server under a connected client, and resolves once that client is ready again (it reconnects on its own). */
async function restart(server: DrillRedisServer, client: Redis): Promise<void> {
  await server.shutdown();
  const ready = once(client, 'ready');
  await server.start();
  await ready;
}

const tokens = new RandomTokenGenerator();
/** Real time: the spent-token keys and lock leases run on Redis's clock. ACTIVE tokens live 10 minutes, far past the drill. */
const rules = (activeMax: number): AdmissionRules => ({ activeMax, activeTtlMs: 600_000, presenceTimeoutMs: 600_000 });

interface QueueScene {
  readonly queue: RedisQueue;
  readonly lock: RedisLock;
  readonly issued: readonly { readonly userId: string; readonly token: string }[];
  readonly now: Date;
  /** Every token's state right before the restart. */
  readonly before: readonly (TokenState | undefined)[];
  /** The last fencing token drawn before the restart. */
  readonly fence: number;
}

/** Ten users in line, the first three admitted, and a few locks taken (the fencing counter moves). */
async function queueScene(client: Redis): Promise<QueueScene> {
  const queue = new RedisQueue(client, { prefix: PREFIX });
  const lock = new RedisLock(client, { prefix: PREFIX });
  const now = new Date();
  const issued: { userId: string; token: string }[] = [];
  for (let i = 0; i < 10; i++) {
    const userId = `user-${i}`;
    issued.push({ userId, token: (await queue.issue(userId, tokens.next(), now)).token });
  }
  await expect(queue.admit(now, rules(3))).resolves.toMatchObject({ admitted: 3, waiting: 7 });
  let fence = 0;
  for (let i = 0; i < 5; i++) fence = await lock.withLock([lockKeys.seat('s1', i)], async (lease) => lease.fencingTokens.get(lockKeys.seat('s1', i)) ?? 0, failFast);
  const before = await Promise.all(issued.map(({ token }) => queue.status(token, now)));
  return { queue, lock, issued, now, before, fence };
}

const failFast = { wait: { kind: 'fail-fast' } } as const;

describe('Redis restarted', () => {
  let server: DrillRedisServer | undefined;
  let client: Redis | undefined;
  afterEach(async () => {
    client?.disconnect();
    client = undefined;
    await server?.remove();
    server = undefined;
  });

  it('with AOF: the line keeps its order, the ACTIVE tokens their expiries, and fencing tokens keep growing', async () => {
    server = await startDrillRedisServer({ persistence: 'aof' });
    client = createRedis(server.url);
    const scene = await queueScene(client);
    expect(scene.before.map((state) => state?.status)).toEqual([...Array(3).fill('ACTIVE'), ...Array(7).fill('WAITING')]);

    await restart(server, client);

    const { queue, lock, issued, now } = scene;
    await expect(Promise.all(issued.map(({ token }) => queue.status(token, now)))).resolves.toEqual(scene.before);
    for (const { userId, token } of issued) await expect(queue.current(userId, now)).resolves.toMatchObject({ token });
    // The next round admits the next two in arrival order: the sequence the line is ordered by survived too.
    await expect(queue.admit(now, rules(5))).resolves.toMatchObject({ admitted: 2, waiting: 5 });
    await expect(queue.status(issued[3]!.token, now)).resolves.toMatchObject({ status: 'ACTIVE' });
    await expect(queue.status(issued[4]!.token, now)).resolves.toMatchObject({ status: 'ACTIVE' });
    await expect(queue.status(issued[5]!.token, now)).resolves.toMatchObject({ status: 'WAITING', position: 1 });
    // A newcomer joins at the end of the line, behind everyone who was there before the restart.
    await expect(queue.issue('newcomer', tokens.next(), now)).resolves.toMatchObject({ created: true, state: { status: 'WAITING', position: 6 } });
    const fence = await lock.withLock(['seat:s1:0'], async (lease) => lease.fencingTokens.get('seat:s1:0') ?? 0, failFast);
    expect(fence).toBeGreaterThan(scene.fence);
  });

  it('without persistence: every token is gone (everyone queues again) and fencing tokens start over', async () => {
    server = await startDrillRedisServer({ persistence: 'none' });
    client = createRedis(server.url);
    const scene = await queueScene(client);

    await restart(server, client);

    // What is lost: the line and the admissions. Nobody keeps a place; each user must take a new token and queue again.
    const { queue, lock, issued, now } = scene;
    await expect(Promise.all(issued.map(({ token }) => queue.status(token, now)))).resolves.toEqual(issued.map(() => undefined));
    await expect(queue.counts(now)).resolves.toEqual({ waiting: 0, active: 0 });
    await expect(queue.issue(issued[9]!.userId, tokens.next(), now)).resolves.toMatchObject({ created: true, state: { status: 'WAITING', position: 1 } });
    // And the fencing counter: the next token is 1 again, below tokens handed out before the restart.
    const fence = await lock.withLock(['seat:s1:0'], async (lease) => lease.fencingTokens.get('seat:s1:0') ?? 0, failFast);
    expect(fence).toBe(1);
    expect(fence).toBeLessThan(scene.fence);
  });

  describe('in the middle of held locks (drill 3)', () => {
    let database: MigratedDatabase;
    beforeAll(async () => {
      database = await createMigratedDatabase(inject('databaseUrl'));
    });
    afterAll(async () => database?.drop());

    const LEASE_MS = 1_000;
    const balance = async (userId: string) =>
      (await database.db.selectFrom('user_points').select('balance').where('user_id', '=', userId).executeTakeFirst())?.balance ?? 0;

    /** How long a held transaction goes on working: three leases, so a loss must be noticed while it works. */
    const WORK_MS = 3 * LEASE_MS;

    /**
     * Holds `point:{userId}` and credits inside a transaction bound to the
     * lease, works for `workMs` (or until the lease is lost, when its next
     * statement fails), credits again and commits.
     */
    function holder(lock: RedisLock, tx: KyselyTransactionManager, userId: string, workMs: number) {
      const inside = deferred<Lease>();
      const done = lock.withLock(
        [lockKeys.points(userId)],
        (lease) =>
          tx.run(
            async (uow) => {
              await uow.points.credit(userId, 100, BALANCE_LIMIT);
              inside.resolve(lease);
              await Promise.race([sleep(workMs, undefined, { ref: false }), aborted(lease.signal)]);
              await uow.points.credit(userId, 100, BALANCE_LIMIT);
              return 'committed';
            },
            { signal: lease.signal },
          ),
        { ...failFast, leaseMs: LEASE_MS },
      );
      return { inside: inside.promise, done };
    }

    it('restarted empty: every holder whose lease vanished rolls back; what committed before stays; the keys are free again', async () => {
      server = await startDrillRedisServer({ persistence: 'none' });
      client = createRedis(server.url);
      const lock = new RedisLock(client, { prefix: PREFIX });
      const tx = new KyselyTransactionManager(database.db);

      // One charge commits before the fault.
      const early = holder(lock, tx, 'early', 0);
      await expect(early.done).resolves.toBe('committed');

      const holders = ['held-1', 'held-2', 'held-3'].map((userId) => ({ userId, ...holder(lock, tx, userId, WORK_MS) }));
      const leases = await Promise.all(holders.map((h) => h.inside));
      const faultAt = Date.now();
      await restart(server, client);

      // Each notices at its next refresh (every LEASE_MS / 3) that its key is gone, and its transaction rolls back.
      const outcomes = await Promise.allSettled(holders.map((h) => h.done));
      const noticedWithinMs = Date.now() - faultAt;
      expect(outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.value))).toEqual(holders.map(() => expect.any(LeaseLostError)));
      expect(leases.every((lease) => lease.signal.aborted)).toBe(true);
      for (const { userId } of holders) await expect(balance(userId)).resolves.toBe(0);
      await expect(balance('early')).resolves.toBe(200);
      // Within about a refresh interval of the restart (a third of the lease), long before the work would have ended.
      expect(noticedWithinMs).toBeLessThan(WORK_MS);

      // The keys are free on the new, empty server: the next charges go through.
      const after = holders.map(({ userId }) => holder(lock, tx, userId, 0));
      await expect(Promise.all(after.map((h) => h.done))).resolves.toEqual(holders.map(() => 'committed'));
      for (const { userId } of holders) await expect(balance(userId)).resolves.toBe(200);
    });

    it('restarted with AOF within the lease: the holders keep their keys (the lock keys and their expiries are in the AOF) and commit', async () => {
      server = await startDrillRedisServer({ persistence: 'aof' });
      client = createRedis(server.url);
      // A lease long enough that the restart fits well inside it on a loaded machine.
      const lock = new RedisLock(client, { prefix: PREFIX, defaultLeaseMs: 5_000 });
      const tx = new KyselyTransactionManager(database.db);
      const proceed = deferred();
      const kept = ['kept-1', 'kept-2'].map((userId) => {
        const inside = deferred<Lease>();
        const done = lock.withLock(
          [lockKeys.points(userId)],
          (lease) =>
            tx.run(
              async (uow) => {
                await uow.points.credit(userId, 100, BALANCE_LIMIT);
                inside.resolve(lease);
                await Promise.race([proceed.promise, aborted(lease.signal)]);
                await uow.points.credit(userId, 100, BALANCE_LIMIT);
                return 'committed';
              },
              { signal: lease.signal },
            ),
          failFast,
        );
        return { userId, inside: inside.promise, done };
      });
      await Promise.all(kept.map((h) => h.inside));

      await restart(server, client);

      // The keys are still taken after the restart: nobody else gets in.
      for (const { userId } of kept) {
        await expect(lock.withLock([lockKeys.points(userId)], async () => 'intruder', failFast)).rejects.toMatchObject({ code: 'LOCK_BUSY' });
      }
      proceed.resolve();
      await expect(Promise.all(kept.map((h) => h.done))).resolves.toEqual(['committed', 'committed']);
      for (const { userId } of kept) await expect(balance(userId)).resolves.toBe(200);
    });
  });
});
