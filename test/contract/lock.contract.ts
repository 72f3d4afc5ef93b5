import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockBusyError } from '../../core/domain/errors.js';
import type { LockPort } from '../../core/ports/lock.port.js';
import { aborted, deferred } from '../support/deferred.js';

export interface LockFixture {
  readonly lock: LockPort;
  readonly leaseMs: number;
  /** Makes the adapter lose the key's lease as a pause or a restart would (memory: the clock jumps; Redis: the key vanishes). */
  loseLease(key: string): Promise<void>;
  cleanup(): Promise<void>;
}

const failFast = { wait: { kind: 'fail-fast' } } as const;
const patient = { wait: { kind: 'wait', maxWaitMs: 10_000 } } as const;

/** What every LockPort promises; run against each adapter. */
export function describeLockContract(name: string, createFixture: () => Promise<LockFixture>): void {
  describe(`LockPort contract: ${name}`, () => {
    let fixture: LockFixture;
    let lock: LockPort;
    beforeEach(async () => {
      fixture = await createFixture();
      lock = fixture.lock;
    });
    afterEach(async () => fixture.cleanup());

    it('lets one holder in at a time', async () => {
      let inside = 0;
      let most = 0;
      const runs = Array.from({ length: 20 }, () =>
        lock.withLock(
          ['k'],
          async () => {
            inside++;
            most = Math.max(most, inside);
            await Promise.resolve();
            await new Promise((resolve) => setImmediate(resolve));
            inside--;
          },
          { ...patient, leaseMs: fixture.leaseMs },
        ),
      );
      await Promise.all(runs);
      expect(most).toBe(1);
    });

    it('fails fast with LOCK_BUSY while another holds the key, and frees it after', async () => {
      const release = deferred();
      const entered = deferred();
      const holder = lock.withLock(['seat:s1:7'], async () => {
        entered.resolve();
        await release.promise;
      }, failFast);
      await entered.promise;
      const busy = lock.withLock(['seat:s1:7'], async () => 'never', failFast);
      await expect(busy).rejects.toBeInstanceOf(LockBusyError);
      await expect(busy).rejects.toMatchObject({ code: 'LOCK_BUSY', key: 'seat:s1:7' });
      release.resolve();
      await holder;
      await expect(lock.withLock(['seat:s1:7'], async () => 'mine', failFast)).resolves.toBe('mine');
    });

    it('waits a bounded time: gives up with LOCK_BUSY, or gets the key once it is released', async () => {
      const release = deferred();
      const entered = deferred();
      const holder = lock.withLock(['point:u1'], async () => {
        entered.resolve();
        await release.promise;
      }, failFast);
      await entered.promise;
      await expect(lock.withLock(['point:u1'], async () => 'never', { wait: { kind: 'wait', maxWaitMs: 150 } })).rejects.toBeInstanceOf(
        LockBusyError,
      );
      const waiter = lock.withLock(['point:u1'], async () => 'after', patient);
      release.resolve();
      await holder;
      await expect(waiter).resolves.toBe('after');
    });

    it('sorts and de-duplicates keys, so opposite orders cannot deadlock', async () => {
      const seen = await lock.withLock(['b', 'a', 'b'], async (lease) => [...lease.fencingTokens.keys()], failFast);
      expect(seen).toEqual(['a', 'b']);
      const rounds = Array.from({ length: 15 }, (_, i) =>
        lock.withLock(i % 2 === 0 ? ['x', 'y'] : ['y', 'x'], async () => new Promise((resolve) => setImmediate(resolve)), patient),
      );
      await expect(Promise.all(rounds)).resolves.toHaveLength(15);
    });

    it('releases the keys it took when a later key is busy', async () => {
      const release = deferred();
      const entered = deferred();
      const holder = lock.withLock(['b'], async () => {
        entered.resolve();
        await release.promise;
      }, failFast);
      await entered.promise;
      await expect(lock.withLock(['a', 'b'], async () => 'never', failFast)).rejects.toMatchObject({ key: 'b' });
      await expect(lock.withLock(['a'], async () => 'free', failFast)).resolves.toBe('free');
      release.resolve();
      await holder;
    });

    it('releases the keys when the work throws, and passes the error on', async () => {
      const boom = new Error('boom');
      await expect(lock.withLock(['k'], async () => Promise.reject(boom), failFast)).rejects.toBe(boom);
      await expect(lock.withLock(['k'], async () => 'free', failFast)).resolves.toBe('free');
    });

    it('gives each acquisition of a key a greater fencing token', async () => {
      const tokens: number[] = [];
      for (let i = 0; i < 5; i++) {
        tokens.push(await lock.withLock(['fence'], async (lease) => lease.fencingTokens.get('fence') ?? -1, failFast));
      }
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1] ?? Infinity);
    });

    it("keeps a key's tokens growing after many other keys came and went (a forgotten key does not start again)", async () => {
      const fence = (key: string) => lock.withLock([key], async (lease) => lease.fencingTokens.get(key) ?? -1, failFast);
      const before = await fence('seat:s9:1');
      for (let i = 0; i < 200; i++) await fence(`seat:s9:${i + 2}`);
      await expect(fence('seat:s9:1')).resolves.toBeGreaterThan(before);
    });

    it('fires the lease signal when the lease is lost, and lets a new holder in with a greater token', async () => {
      const entered = deferred<number>();
      const first = lock.withLock(
        ['lost'],
        async (lease) => {
          entered.resolve(lease.fencingTokens.get('lost') ?? -1);
          await aborted(lease.signal);
          return lease.signal.aborted;
        },
        { ...failFast, leaseMs: fixture.leaseMs },
      );
      const firstToken = await entered.promise;
      await fixture.loseLease('lost');
      const secondToken = await lock.withLock(['lost'], async (lease) => lease.fencingTokens.get('lost') ?? -1, patient);
      expect(secondToken).toBeGreaterThan(firstToken);
      await expect(first).resolves.toBe(true);
    });

    it('keeps the signal quiet while the lease holds', async () => {
      const signal = await lock.withLock(['calm'], async (lease) => lease.signal, failFast);
      expect(signal.aborted).toBe(false);
    });
  });
}
