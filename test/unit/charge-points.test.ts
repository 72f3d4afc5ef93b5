import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { BalanceLimitExceededError, IdempotencyKeyReusedError, ValidationError } from '../../core/domain/errors.js';
import { BALANCE_LIMIT, MAX_CHARGE } from '../../core/domain/points.js';
import type { Lease, LockOptions, LockPort } from '../../core/ports/lock.port.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { GetBalance } from '../../core/usecases/get-balance.js';
import { GetPointHistory } from '../../core/usecases/get-point-history.js';
import { ManualClock } from '../support/manual-clock.js';

/** Remembers which keys were locked, to show that a bad request never takes a lock. */
class RecordingLock implements LockPort {
  readonly locked: string[][] = [];
  constructor(private readonly inner: LockPort) {}
  withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>, options: LockOptions): Promise<T> {
    this.locked.push([...keys]);
    return this.inner.withLock(keys, work, options);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
}

describe('ChargePoints', () => {
  let clock: ManualClock;
  let lock: RecordingLock;
  let tx: MemoryTransactionManager;
  let charge: ChargePoints;
  const balanceOf = (userId: string) => new GetBalance(tx).execute(userId).then((b) => b.balance);

  beforeEach(() => {
    clock = new ManualClock();
    lock = new RecordingLock(new MemoryLock(clock));
    tx = new MemoryTransactionManager();
    charge = new ChargePoints(lock, tx, clock);
  });

  it('adds points under the wallet lock and records a CHARGE in the history', async () => {
    await expect(charge.execute({ userId: 'u1', amount: 300 })).resolves.toEqual({ userId: 'u1', balance: 300, replayed: false });
    clock.advance(1_000);
    await charge.execute({ userId: 'u1', amount: 200 });
    expect(lock.locked).toEqual([['point:u1'], ['point:u1']]);
    await expect(balanceOf('u1')).resolves.toBe(500);
    await expect(new GetPointHistory(tx).execute({ userId: 'u1' })).resolves.toEqual({
      items: [
        { userId: 'u1', kind: 'CHARGE', amount: 200, balanceAfter: 500, at: new Date('2026-01-01T00:00:01Z') },
        { userId: 'u1', kind: 'CHARGE', amount: 300, balanceAfter: 300, at: new Date('2026-01-01T00:00:00Z') },
      ],
      nextCursor: undefined,
    });
  });

  it.each([
    ['zero', 0],
    ['negative', -5],
    ['a fraction', 1.5],
    ['over the maximum', MAX_CHARGE + 1],
    ['not a number', Number.NaN],
  ])('refuses an amount that is %s before taking any lock', async (_, amount) => {
    await expect(charge.execute({ userId: 'u1', amount })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'amount' });
    expect(lock.locked).toEqual([]);
  });

  it.each(['', 'x'.repeat(65), 'has space', 'slash/es'])('refuses the user id %j', async (userId) => {
    await expect(charge.execute({ userId, amount: 1 })).rejects.toBeInstanceOf(ValidationError);
    expect(lock.locked).toEqual([]);
  });

  it('refuses a charge that would pass the balance limit and writes nothing', async () => {
    for (let i = 0; i < BALANCE_LIMIT / MAX_CHARGE; i++) await charge.execute({ userId: 'rich', amount: MAX_CHARGE });
    await expect(charge.execute({ userId: 'rich', amount: 1 })).rejects.toBeInstanceOf(BalanceLimitExceededError);
    await expect(balanceOf('rich')).resolves.toBe(BALANCE_LIMIT);
    await expect(new GetPointHistory(tx).execute({ userId: 'rich', limit: 100 })).resolves.toMatchObject({ items: { length: 100 }, nextCursor: undefined });
  });

  it('replays the stored answer for a repeated Idempotency-Key and charges once', async () => {
    const first = await charge.execute({ userId: 'u1', amount: 300, idempotencyKey: 'abc' });
    await charge.execute({ userId: 'u1', amount: 50 });
    await expect(charge.execute({ userId: 'u1', amount: 300, idempotencyKey: 'abc' })).resolves.toEqual({ ...first, replayed: true });
    await expect(balanceOf('u1')).resolves.toBe(350);
  });

  it('refuses the same Idempotency-Key with another amount, and scopes keys per user', async () => {
    await charge.execute({ userId: 'u1', amount: 300, idempotencyKey: 'abc' });
    await expect(charge.execute({ userId: 'u1', amount: 301, idempotencyKey: 'abc' })).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    await expect(charge.execute({ userId: 'u2', amount: 301, idempotencyKey: 'abc' })).resolves.toMatchObject({ balance: 301, replayed: false });
  });
});

describe('GetPointHistory', () => {
  let clock: ManualClock;
  let tx: MemoryTransactionManager;
  let charge: ChargePoints;
  let history: GetPointHistory;

  beforeEach(() => {
    clock = new ManualClock();
    tx = new MemoryTransactionManager();
    charge = new ChargePoints(new MemoryLock(clock), tx, clock);
    history = new GetPointHistory(tx);
  });

  it('pages newest first, 50 by default; following nextCursor walks every entry exactly once while charges land at the head', async () => {
    for (let amount = 1; amount <= 55; amount++) await charge.execute({ userId: 'u1', amount });
    await charge.execute({ userId: 'u2', amount: 999 });
    const first = await history.execute({ userId: 'u1' });
    expect(first.items).toHaveLength(50);
    expect(first.items[0]).toMatchObject({ amount: 55, balanceAfter: (55 * 56) / 2 });
    expect(first.nextCursor).toMatch(/^c1\./);

    const head = await history.execute({ userId: 'u1', limit: 7 });
    const seen = head.items.map((entry) => entry.amount);
    let cursor = head.nextCursor;
    while (cursor !== undefined) {
      await charge.execute({ userId: 'u1', amount: 1_000 });
      const page = await history.execute({ userId: 'u1', limit: 7, cursor });
      seen.push(...page.items.map((entry) => entry.amount));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(Array.from({ length: 55 }, (_, i) => 55 - i));
    // The last page is exactly full: no cursor to an empty page.
    const two = await history.execute({ userId: 'u2', limit: 1 });
    expect(two).toEqual({ items: [expect.objectContaining({ amount: 999 })], nextCursor: undefined });
    await expect(history.execute({ userId: 'nobody' })).resolves.toEqual({ items: [], nextCursor: undefined });
  });

  it.each([0, 101, 1.5, Number.NaN])('refuses the limit %s, naming it', async (limit) => {
    await expect(history.execute({ userId: 'u1', limit })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'limit' });
  });

  it.each(['', 'abc', 'c1.', 'c1.-5', 'c1.0', 'c2.1', 'c1.zzzzzzzzzzzz'])('refuses the cursor %j, which this service never issued', async (cursor) => {
    await expect(history.execute({ userId: 'u1', cursor })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'cursor' });
  });

  it('refuses a bad user id', async () => {
    await expect(history.execute({ userId: 'has space' })).rejects.toMatchObject({ field: 'userId' });
  });
});
