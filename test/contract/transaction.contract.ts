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

/** What the transaction contract needs besides: moving a stored key's age, as time passing would. */
export interface TransactionContractFixture extends TransactionFixture {
  /** Makes a committed Idempotency-Key `ms` older (negative: younger); throws when there is no such key. */
  ageIdempotencyKey(scope: string, key: string, ms: number): Promise<void>;
}

const LIMIT = 1_000;
const at = new Date('2026-01-01T00:00:00Z');

/** What every TransactionPort (and its repositories) promises; run against each adapter. */
export function describeTransactionContract(name: string, createFixture: () => Promise<TransactionContractFixture>): void {
  describe(`TransactionPort contract: ${name}`, () => {
    let fixture: TransactionContractFixture;
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

    it("runs beforeCommit last, inside the transaction, with the work's result; its writes commit with the work's", async () => {
      const steps: string[] = [];
      const result = await tx.run(
        async (uow) => {
          await uow.points.credit('u1', 300, LIMIT);
          steps.push('work');
          return 300;
        },
        {
          beforeCommit: async (uow, credited) => {
            steps.push(`beforeCommit saw ${credited} and a balance of ${await uow.points.balanceOf('u1')}`);
            await uow.points.appendHistory({ userId: 'u1', kind: 'CHARGE', amount: credited, balanceAfter: credited, at });
          },
        },
      );
      expect(result).toBe(300);
      expect(steps).toEqual(['work', 'beforeCommit saw 300 and a balance of 300']);
      await expect(balance('u1')).resolves.toBe(300);
      await expect(tx.run((uow) => uow.points.history('u1', 10))).resolves.toMatchObject([{ kind: 'CHARGE', amount: 300 }]);
    });

    it('rolls back the work and the hook when beforeCommit throws, and rejects with what it threw', async () => {
      const tooLate = new Error('too late');
      const run = tx.run((uow) => uow.points.credit('u1', 300, LIMIT), {
        beforeCommit: async (uow) => {
          await uow.points.appendHistory({ userId: 'u1', kind: 'CHARGE', amount: 300, balanceAfter: 300, at });
          throw tooLate;
        },
      });
      await expect(run).rejects.toBe(tooLate);
      await expect(balance('u1')).resolves.toBe(0);
      await expect(tx.run((uow) => uow.points.history('u1', 10))).resolves.toEqual([]);
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

    describe('purging old idempotency keys', () => {
      const HOUR = 3_600_000;
      const scope = 'charge-points:u1';
      const store = (key: string) =>
        tx.run(async (uow) => {
          await uow.idempotency.claim({ scope, key, fingerprint: 'f' });
          await uow.idempotency.complete(scope, key, { key });
        });
      const purge = (olderThanMs: number, limit: number) => tx.run((uow) => uow.idempotency.purgeOlderThan(olderThanMs, limit));
      /** Claims each key in a transaction that commits: a purged key is claimed afresh, a kept one replays. */
      const claimEach = (keys: readonly string[]) =>
        Promise.all(keys.map((key) => tx.run((uow) => uow.idempotency.claim({ scope, key, fingerprint: 'f' })).then((claim) => claim.claimed)));

      it('deletes keys older than the retention, oldest first, at most `limit` at a time, and keeps younger ones', async () => {
        for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) await store(key);
        // Oldest last in the order they were stored (and written): a batch that took rows as they lie would take k1.
        await fixture.ageIdempotencyKey(scope, 'k1', 3 * HOUR);
        await fixture.ageIdempotencyKey(scope, 'k2', 4 * HOUR);
        await fixture.ageIdempotencyKey(scope, 'k3', 5 * HOUR);
        await fixture.ageIdempotencyKey(scope, 'k4', HOUR / 2);

        await expect(purge(HOUR, 2)).resolves.toBe(2);
        // The batch took the two oldest, k3 and k2: k1 is still there (ageing it throws otherwise); made young again, nothing is left to purge.
        await fixture.ageIdempotencyKey(scope, 'k1', -3 * HOUR);
        await expect(purge(HOUR, 2)).resolves.toBe(0);
        await fixture.ageIdempotencyKey(scope, 'k1', 3 * HOUR);
        await expect(purge(HOUR, 2)).resolves.toBe(1);
        await expect(purge(HOUR, 2)).resolves.toBe(0);

        await expect(claimEach(['k1', 'k2', 'k3', 'k4', 'k5'])).resolves.toEqual([true, true, true, false, false]);
        await expect(tx.run((uow) => uow.idempotency.claim({ scope, key: 'k4', fingerprint: 'f' }))).resolves.toEqual({
          claimed: false,
          existing: { scope, key: 'k4', fingerprint: 'f', response: { key: 'k4' } },
        });
      });

      it('never deletes a key still in flight, however old by the clock; once committed it may go', async () => {
        if (fixture.serialisesTransactions === true) return; // one session: no purge can run beside an open claim
        const request = { scope, key: 'in-flight', fingerprint: 'f' };
        const claimed = deferred();
        const finish = deferred();
        const claimer = tx.run(async (uow) => {
          await uow.idempotency.claim(request);
          claimed.resolve();
          await finish.promise;
          await uow.idempotency.complete(scope, request.key, 'done');
        });
        await claimed.promise;
        // A retention of 0: every committed key is old enough; only being in flight spares it.
        await expect(purge(0, 100)).resolves.toBe(0);
        finish.resolve();
        await claimer;
        await expect(tx.run((uow) => uow.idempotency.claim(request))).resolves.toEqual({ claimed: false, existing: { ...request, response: 'done' } });
        await expect(purge(0, 100)).resolves.toBe(1);
      });

      it('lets two purgers work at once: each takes rows the other does not hold, without waiting, and each row goes once', { timeout: 10_000 }, async () => {
        if (fixture.serialisesTransactions === true) return; // one session: the second purger can only run after the first
        const old = Array.from({ length: 10 }, (_, i) => `old-${i}`);
        const young = ['young-1', 'young-2', 'young-3'];
        for (const key of [...old, ...young]) await store(key);
        for (const key of old) await fixture.ageIdempotencyKey(scope, key, 2 * HOUR);

        const firstBatch = deferred<number>();
        const finishFirst = deferred();
        const first = tx.run(async (uow) => {
          firstBatch.resolve(await uow.idempotency.purgeOlderThan(HOUR, 4));
          await finishFirst.promise;
        });
        await expect(firstBatch.promise).resolves.toBe(4);
        // The first purger's transaction is open and holds its 4 rows: the second skips them (a purger that waited would hang here).
        await expect(purge(HOUR, 4)).resolves.toBe(4);
        finishFirst.resolve();
        await first;
        await expect(purge(HOUR, 100)).resolves.toBe(2);
        await expect(claimEach(young)).resolves.toEqual([false, false, false]);
        await expect(claimEach(old)).resolves.toEqual(old.map(() => true));
      });

      it('lets several purgers loop at once until nothing is old: the counts add up to the old rows exactly', async () => {
        const old = Array.from({ length: 25 }, (_, i) => `old-${i}`);
        const young = ['young-1', 'young-2'];
        for (const key of [...old, ...young]) await store(key);
        for (const key of old) await fixture.ageIdempotencyKey(scope, key, 2 * HOUR);
        const purger = async () => {
          let total = 0;
          for (;;) {
            const deleted = await purge(HOUR, 3);
            total += deleted;
            if (deleted === 0) return total;
          }
        };
        const totals = await Promise.all([purger(), purger(), purger(), purger()]);
        expect(totals.reduce((a, b) => a + b, 0)).toBe(old.length);
        await expect(claimEach(young)).resolves.toEqual([false, false]);
      });
    });
  });
}
