import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BalanceLimitExceededError, InsufficientPointsError, LeaseLostError } from '../../core/domain/errors.js';
import type { TransactionPort } from '../../core/ports/transaction.port.js';
import { deferred } from '../support/deferred.js';

export interface TransactionFixture {
  readonly tx: TransactionPort;
  /**
   * The database is one session (PGlite): a transaction waits for the one
   * before it to end instead of running beside it. Readers then cannot see
   * uncommitted writes either, but they wait for the commit instead of
   * answering at once, so a test must not hold a transaction open while it
   * awaits another one (that would wait forever).
   */
  readonly serialisesTransactions?: boolean;
  cleanup(): Promise<void>;
}

const LIMIT = 1_000;
const at = new Date('2026-01-01T00:00:00Z');

/** What every TransactionPort (and its repositories) promises; run against each adapter. */
export function describeTransactionContract(name: string, createFixture: () => Promise<TransactionFixture>): void {
  describe(`TransactionPort contract: ${name}`, () => {
    let fixture: TransactionFixture;
    let tx: TransactionPort;
    const balance = (userId: string) => tx.run((uow) => uow.points.balanceOf(userId));

    beforeEach(async () => {
      fixture = await createFixture();
      tx = fixture.tx;
    });
    afterEach(async () => fixture.cleanup());

    it('commits when the work resolves', async () => {
      await expect(tx.run((uow) => uow.points.credit('u1', 300, LIMIT))).resolves.toBe(300);
      await expect(balance('u1')).resolves.toBe(300);
      await expect(balance('never-charged')).resolves.toBe(0);
    });

    it('reads committed data outside a transaction, and passes errors on', async () => {
      await tx.run((uow) => uow.points.credit('u1', 300, LIMIT));
      await expect(tx.read((uow) => uow.points.balanceOf('u1'))).resolves.toBe(300);
      const boom = new Error('boom');
      await expect(tx.read(async () => Promise.reject(boom))).rejects.toBe(boom);
    });

    it('rolls back and rethrows when the work throws', async () => {
      const boom = new Error('boom');
      await expect(
        tx.run(async (uow) => {
          await uow.points.credit('u1', 300, LIMIT);
          await uow.points.appendHistory({ userId: 'u1', kind: 'CHARGE', amount: 300, balanceAfter: 300, at });
          throw boom;
        }),
      ).rejects.toBe(boom);
      await expect(balance('u1')).resolves.toBe(0);
      await expect(tx.run((uow) => uow.points.history('u1', 10))).resolves.toEqual([]);
    });

    it('rolls back with LeaseLostError when the signal fired before commit', async () => {
      const controller = new AbortController();
      const run = tx.run(
        async (uow) => {
          await uow.points.credit('u1', 300, LIMIT);
          controller.abort();
          return 'done';
        },
        { signal: controller.signal },
      );
      await expect(run).rejects.toBeInstanceOf(LeaseLostError);
      await expect(balance('u1')).resolves.toBe(0);
    });

    it('hides uncommitted writes from other transactions', async () => {
      const commit = deferred();
      const written = deferred();
      const writer = tx.run(async (uow) => {
        await uow.points.credit('u1', 300, LIMIT);
        written.resolve();
        await commit.promise;
      });
      await written.promise;
      if (fixture.serialisesTransactions === true) {
        const events: string[] = [];
        const reader = balance('u1').then((seen) => {
          events.push(`read ${seen}`);
          return seen;
        });
        events.push('writer commits');
        commit.resolve();
        await writer;
        await expect(reader).resolves.toBe(300);
        expect(events).toEqual(['writer commits', 'read 300']);
        return;
      }
      await expect(balance('u1')).resolves.toBe(0);
      commit.resolve();
      await writer;
      await expect(balance('u1')).resolves.toBe(300);
    });

    it('holds a written row until commit: a second writer waits, then builds on the committed value', async () => {
      const events: string[] = [];
      const commit = deferred();
      const written = deferred();
      const first = tx.run(async (uow) => {
        await uow.points.credit('u1', 300, LIMIT);
        written.resolve();
        await commit.promise;
        events.push('first commits');
      });
      await written.promise;
      const second = tx.run(async (uow) => {
        const after = await uow.points.credit('u1', 200, LIMIT);
        events.push('second credited');
        return after;
      });
      commit.resolve();
      await first;
      await expect(second).resolves.toBe(500);
      expect(events).toEqual(['first commits', 'second credited']);
    });

    it('guards the balance: over the limit or below zero writes nothing', async () => {
      await tx.run((uow) => uow.points.credit('u1', 900, LIMIT));
      await expect(tx.run((uow) => uow.points.credit('u1', 101, LIMIT))).rejects.toBeInstanceOf(BalanceLimitExceededError);
      await expect(tx.run((uow) => uow.points.debit('u1', 901))).rejects.toBeInstanceOf(InsufficientPointsError);
      await expect(tx.run((uow) => uow.points.debit('never-charged', 1))).rejects.toBeInstanceOf(InsufficientPointsError);
      await expect(tx.run((uow) => uow.points.credit('u1', 100, LIMIT))).resolves.toBe(1_000);
      await expect(tx.run((uow) => uow.points.debit('u1', 1_000))).resolves.toBe(0);
    });

    it('lists history newest first, per user, up to the limit, each entry with a position that grows with every append', async () => {
      await tx.run(async (uow) => {
        await uow.points.appendHistory({ userId: 'u1', kind: 'CHARGE', amount: 10, balanceAfter: 10, at });
        await uow.points.appendHistory({ userId: 'u2', kind: 'CHARGE', amount: 99, balanceAfter: 99, at });
      });
      await tx.run((uow) => uow.points.appendHistory({ userId: 'u1', kind: 'USE', amount: 4, balanceAfter: 6, at }));
      await tx.run((uow) => uow.points.appendHistory({ userId: 'u1', kind: 'CHARGE', amount: 5, balanceAfter: 11, at }));
      const items = await tx.run((uow) => uow.points.history('u1', 2));
      expect(items).toEqual([
        { userId: 'u1', kind: 'CHARGE', amount: 5, balanceAfter: 11, at, position: expect.any(Number) },
        { userId: 'u1', kind: 'USE', amount: 4, balanceAfter: 6, at, position: expect.any(Number) },
      ]);
      expect(items[0]!.position).toBeGreaterThan(items[1]!.position);
      await expect(tx.run((uow) => uow.points.history('nobody', 10))).resolves.toEqual([]);
    });

    it('walks the history a page at a time with `before`: every entry exactly once, also when entries are appended between pages', async () => {
      const entry = (amount: number) => ({ userId: 'u1', kind: 'CHARGE' as const, amount, balanceAfter: amount, at });
      for (let amount = 1; amount <= 7; amount++) {
        await tx.run(async (uow) => {
          await uow.points.appendHistory(entry(amount));
          await uow.points.appendHistory({ ...entry(100 + amount), userId: 'u2' });
        });
      }
      const seen: number[] = [];
      let before: number | undefined;
      for (let page = 0; page < 10; page++) {
        const items = await tx.read((uow) => uow.points.history('u1', 3, before));
        if (items.length === 0) break;
        if (before !== undefined) expect(items.every((item) => item.position < before!)).toBe(true);
        seen.push(...items.map((item) => item.amount));
        before = items.at(-1)!.position;
        // Newer than every cursor handed out so far: never in a later page.
        await tx.run((uow) => uow.points.appendHistory(entry(1_000 + page)));
      }
      expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    });

    it('claims an idempotency key once and hands later claimers the stored answer', async () => {
      const request = { scope: 'charge-points:u1', key: 'k1', fingerprint: '{"amount":5}' };
      await expect(
        tx.run(async (uow) => {
          const claim = await uow.idempotency.claim(request);
          await uow.idempotency.complete(request.scope, request.key, { balance: 5 });
          return claim;
        }),
      ).resolves.toEqual({ claimed: true });
      await expect(tx.run((uow) => uow.idempotency.claim(request))).resolves.toEqual({
        claimed: false,
        existing: { ...request, response: { balance: 5 } },
      });
      await expect(tx.run((uow) => uow.idempotency.claim({ ...request, scope: 'charge-points:u2' }))).resolves.toEqual({ claimed: true });
    });

    it('makes a concurrent claimer of the same key wait for the first, then see what it committed (or claim it after a rollback)', async () => {
      const request = { scope: 's', key: 'k', fingerprint: 'f' };
      for (const outcome of ['commit', 'rollback'] as const) {
        const key = `${request.key}-${outcome}`;
        const finish = deferred();
        const claimed = deferred();
        const first = tx.run(async (uow) => {
          await uow.idempotency.claim({ ...request, key });
          await uow.idempotency.complete(request.scope, key, { from: 'first' });
          claimed.resolve();
          await finish.promise;
          if (outcome === 'rollback') throw new Error('rolled back');
        });
        await claimed.promise;
        const second = tx.run(async (uow) => {
          const claim = await uow.idempotency.claim({ ...request, key });
          if (claim.claimed) await uow.idempotency.complete(request.scope, key, { from: 'second' });
          return claim;
        });
        finish.resolve();
        await first.catch(() => undefined);
        const expected =
          outcome === 'commit' ? { claimed: false, existing: { ...request, key, response: { from: 'first' } } } : { claimed: true };
        await expect(second).resolves.toEqual(expected);
      }
    });
  });
}
