import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockBusyError } from '../../core/domain/errors.js';
import type { LockPort } from '../../core/ports/lock.port.js';
import { aborted, deferred } from '../support/deferred.js';

export interface LockFixture {
  readonly lock: LockPort;
  readonly leaseMs: number;
  /**
   * Makes the adapter lose the key's lease as a pause or a restart would
   * (memory: the clock jumps; Redis: the key vanishes by a raw DEL, which
   * announces nothing to the key's waiters).
   */
  loseLease(key: string): Promise<void>;
  cleanup(): Promise<void>;
}

export interface LockFixtureOptions {
  /**
   * The longest a waiter of an adapter that can poll goes without looking
   * at a held key, however it is told of releases (Redis: the fallback
   * poll, and the poll while its subscription is not confirmed). Adapters
   * that never poll ignore it.
   */
  readonly pollMs?: number;
}

const failFast = { wait: { kind: 'fail-fast' } } as const;
const patient = { wait: { kind: 'wait', maxWaitMs: 10_000 } } as const;

/** What every LockPort promises; run against each adapter. */
export function describeLockContract(name: string, createFixture: (options?: LockFixtureOptions) => Promise<LockFixture>): void {
  describe(`LockPort contract: ${name}`, () => {
    let fixture: LockFixture;
    let lock: LockPort;
    const extra: LockFixture[] = [];
    beforeEach(async () => {
      fixture = await createFixture();
      lock = fixture.lock;
    });
    afterEach(async () => {
      await Promise.all(extra.splice(0).map((other) => other.cleanup()));
      await fixture.cleanup();
    });

    async function fixtureWith(options: LockFixtureOptions): Promise<LockFixture> {
      const other = await createFixture(options);
      extra.push(other);
      return other;
    }

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

    describe('waiting for a contended key', () => {
      /** Far longer than the test may take: a waiter that has to poll to see a release does not finish in time. */
      const NEVER_POLLS_MS = 10_000;
      const promptly = 3_000;

      it('hands a released key to the next waiter at once, not at its next poll', async () => {
        const { lock: slow } = await fixtureWith({ pollMs: NEVER_POLLS_MS });
        // One contended round first: the adapter may set up how it hears releases on the first wait.
        await contend(slow, 'warm', 2);
        const started = Date.now();
        // A line of five behind a holder: each hand-over after the first is a release waking a waiter already waiting.
        const order = await contend(slow, 'point:hot', 6);
        expect(order).toHaveLength(6);
        // Five hand-overs; polling, the second alone would take NEVER_POLLS_MS.
        expect(Date.now() - started).toBeLessThan(promptly);
      }, 4 * NEVER_POLLS_MS);

      it('lets no waiter starve: callers that come straight back for the key queue behind those already waiting', async () => {
        const { lock: slow } = await fixtureWith({ pollMs: NEVER_POLLS_MS });
        await contend(slow, 'warm', 2);
        const contenders = 4;
        const rounds = 8;
        const turns: number[] = [];
        const waiting = { wait: { kind: 'wait', maxWaitMs: NEVER_POLLS_MS } } as const;
        const entered = deferred();
        const release = deferred();
        // Everyone starts behind one holder, so each is in line before the first hand-over.
        const holder = slow.withLock(['point:fair'], async () => {
          entered.resolve();
          await release.promise;
        }, waiting);
        await entered.promise;
        const loops = Array.from({ length: contenders }, async (_, who) => {
          for (let round = 0; round < rounds; round++) {
            await slow.withLock(['point:fair'], async () => void turns.push(who), waiting);
          }
        });
        release.resolve();
        await holder;
        await Promise.all(loops);
        // Every contender had every one of its turns...
        for (let who = 0; who < contenders; who++) expect(turns.filter((t) => t === who)).toHaveLength(rounds);
        // ...and none had two in a row while others waited: after its release it came back behind them.
        const repeats = turns.slice(1).filter((who, i) => who === turns[i]);
        expect(repeats).toEqual([]);
      }, 4 * NEVER_POLLS_MS);

      it('recovers a release it was not told of (a key that vanished): the waiter still gets the key within its wait', async () => {
        const { lock: lossy, loseLease, leaseMs } = await fixtureWith({ pollMs: 200 });
        const entered = deferred();
        const holder = lossy.withLock(['point:lost'], async (lease) => {
          entered.resolve();
          await aborted(lease.signal);
        }, { wait: { kind: 'fail-fast' }, leaseMs });
        await entered.promise;
        const waiter = lossy.withLock(['point:lost'], async () => 'mine', { wait: { kind: 'wait', maxWaitMs: 5_000 } });
        await loseLease('point:lost');
        await expect(waiter).resolves.toBe('mine');
        await holder;
      });
    });

    it('keeps the signal quiet while the lease holds', async () => {
      const signal = await lock.withLock(['calm'], async (lease) => lease.signal, failFast);
      expect(signal.aborted).toBe(false);
    });
  });
}

/**
 * `callers` withLock calls of one key at once, each holding it for a
 * moment; resolves with the order they got in. The first one takes the
 * key, every later one waits for a release.
 */
async function contend(lock: LockPort, key: string, callers: number): Promise<number[]> {
  const order: number[] = [];
  const entered = deferred();
  const release = deferred();
  const first = lock.withLock([key], async () => {
    order.push(0);
    entered.resolve();
    await release.promise;
  }, failFast);
  await entered.promise;
  const rest = Array.from({ length: callers - 1 }, (_, i) =>
    lock.withLock([key], async () => void order.push(i + 1), { wait: { kind: 'wait', maxWaitMs: 60_000 } }),
  );
  release.resolve();
  await Promise.all([first, ...rest]);
  return order;
}
