/**
 * The in-process lock of the embedded mode runs for the life of the process
 * and locks a new key for every seat, reservation, wallet and
 * Idempotency-Key: it must forget a key once no one holds or waits for it,
 * while fencing tokens keep growing for every key (the LockPort contract
 * checks the rest).
 */
import { describe, expect, it } from 'vitest';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { LockBusyError } from '../../core/domain/errors.js';
import { aborted, deferred } from '../support/deferred.js';
import { holdLock } from '../support/hold-lock.js';
import { ManualClock } from '../support/manual-clock.js';

const failFast = { wait: { kind: 'fail-fast' } } as const;
const token = (lease: { fencingTokens: ReadonlyMap<string, number> }, key: string): number => lease.fencingTokens.get(key) ?? -1;

describe('MemoryLock memory', () => {
  it('keeps nothing of 100,000 distinct keys once they are released, and their fencing tokens only grow', async () => {
    const lock = new MemoryLock(new ManualClock());
    const first = await lock.withLock(['seat:s1:1'], async (lease) => token(lease, 'seat:s1:1'), failFast);
    let last = first;
    let grew = true;
    for (let i = 0; i < 100_000; i++) {
      const key = `seat:s${i % 97}:${i}`;
      const fence = await lock.withLock([key], async (lease) => token(lease, key), failFast);
      grew &&= fence > last;
      last = fence;
    }
    expect(grew).toBe(true);
    expect(lock.stateSize()).toEqual({ keys: 0, waiters: 0 });
    // A key forgotten long ago does not start again at 1: its next token is greater than every one before.
    const again = await lock.withLock(['seat:s1:1'], async (lease) => token(lease, 'seat:s1:1'), failFast);
    expect(again).toBeGreaterThan(last);
    expect(again).toBeGreaterThan(first);
  });

  it('keeps nothing of keys taken together, concurrently, some of them contended', async () => {
    const lock = new MemoryLock(new ManualClock());
    const patient = { wait: { kind: 'wait', maxWaitMs: 10_000 } } as const;
    const rounds = Array.from({ length: 2_000 }, (_, i) =>
      lock.withLock([`point:u${i % 50}`, `reservation:r${i}`, `seat:s1:${i % 7}`], async () => new Promise((resolve) => setImmediate(resolve)), patient),
    );
    await Promise.all(rounds);
    expect(lock.stateSize()).toEqual({ keys: 0, waiters: 0 });
  });

  it('forgets a waiter that gave up while the key is still held, and every waiter once the key is free', async () => {
    const lock = new MemoryLock(new ManualClock());
    const release = await holdLock(lock, ['point:u1']);
    // Each gives up at its deadline, in the line behind the holder.
    const givingUp = Array.from({ length: 5 }, () => lock.withLock(['point:u1'], async () => 'never', { wait: { kind: 'wait', maxWaitMs: 60 } }));
    const outcomes = await Promise.allSettled(givingUp);
    expect(outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.value))).toEqual(Array.from({ length: 5 }, () => expect.any(LockBusyError)));
    expect(lock.stateSize()).toEqual({ keys: 1, waiters: 0 });

    const patient = Array.from({ length: 5 }, () => lock.withLock(['point:u1'], async () => 'in', { wait: { kind: 'wait', maxWaitMs: 10_000 } }));
    await release();
    await expect(Promise.all(patient)).resolves.toEqual(['in', 'in', 'in', 'in', 'in']);
    expect(lock.stateSize()).toEqual({ keys: 0, waiters: 0 });
  });

  it('hands a released key straight to the first waiter: no caller can take it in between, and waiters are served in order', async () => {
    const lock = new MemoryLock(new ManualClock());
    const release = await holdLock(lock, ['point:u2']);
    const order: number[] = [];
    const finish = deferred();
    const waiters = [0, 1, 2].map((who) =>
      lock.withLock(['point:u2'], async () => {
        order.push(who);
        if (who === 0) await finish.promise;
      }, { wait: { kind: 'wait', maxWaitMs: 10_000 } }),
    );
    await release();
    // The release has returned: the key is the first waiter's already, not free for whoever looks first.
    await expect(lock.withLock(['point:u2'], async () => 'barged in', failFast)).rejects.toBeInstanceOf(LockBusyError);
    finish.resolve();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2]);
    expect(lock.stateSize()).toEqual({ keys: 0, waiters: 0 });
  });

  it('passes on the keys of a holder whose lease ran out on the clock to the next waiter, without waiting for its deadline', async () => {
    const clock = new ManualClock();
    const lock = new MemoryLock(clock, { defaultLeaseMs: 300 });
    const inside = deferred();
    const finish = deferred();
    // A holder that does not stop when its lease is lost (a paused process, a stuck query): it must not keep the key.
    const stale = lock.withLock(['point:u3'], async () => {
      inside.resolve();
      await finish.promise;
    }, failFast);
    await inside.promise;
    const waiter = lock.withLock(['point:u3'], async () => 'mine', { wait: { kind: 'wait', maxWaitMs: 60_000 } });
    // In line before the lease ends (else it would find the lease ended itself, on its first look).
    while (lock.stateSize().waiters === 0) await new Promise((resolve) => setImmediate(resolve));
    clock.advance(301);
    // The holder's refresh (every 100 ms) finds its lease ended and hands the key over.
    await expect(waiter).resolves.toBe('mine');
    finish.resolve();
    await stale;
  });

  it('forgets a key whose lease ran out on the clock once its new holder releases it', async () => {
    const clock = new ManualClock();
    const lock = new MemoryLock(clock, { defaultLeaseMs: 1_000 });
    const inside = deferred<number>();
    const finish = deferred();
    const stale = lock.withLock(
      ['seat:s1:9'],
      async (lease) => {
        inside.resolve(token(lease, 'seat:s1:9'));
        await aborted(lease.signal);
        await finish.promise;
      },
      failFast,
    );
    const staleToken = await inside.promise;
    clock.advance(1_001);
    const newToken = await lock.withLock(['seat:s1:9'], async (lease) => token(lease, 'seat:s1:9'), failFast);
    expect(newToken).toBeGreaterThan(staleToken);
    finish.resolve();
    await stale;
    expect(lock.stateSize()).toEqual({ keys: 0, waiters: 0 });
  });
});
