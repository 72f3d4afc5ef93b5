import { describe, expect, it } from 'vitest';
import { ageMemoryIdempotencyKey } from '../../adapters/memory/memory-idempotency-repository.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import type { TransactionPort } from '../../core/ports/transaction.port.js';
import { PurgeIdempotencyKeys } from '../../core/usecases/purge-idempotency-keys.js';

const HOUR = 3_600_000;
const scope = 'charge-points:u1';

async function stored(tx: MemoryTransactionManager, keys: readonly string[], ageMs: number): Promise<void> {
  for (const key of keys) {
    await tx.run(async (uow) => {
      await uow.idempotency.claim({ scope, key, fingerprint: 'f' });
      await uow.idempotency.complete(scope, key, { key });
    });
    if (ageMs !== 0) ageMemoryIdempotencyKey(tx.db, scope, key, ageMs);
  }
}

/** Which of `keys` are still stored: a stored key replays, a purged one is claimed afresh (the memory `read` never commits). */
async function stillStored(tx: TransactionPort, keys: readonly string[]): Promise<string[]> {
  const kept: string[] = [];
  for (const key of keys) {
    const claim = await tx.read((uow) => uow.idempotency.claim({ scope, key, fingerprint: 'f' }));
    if (!claim.claimed) kept.push(key);
  }
  return kept;
}

/** Counts the transactions a round opens: one per batch. */
function counting(tx: TransactionPort): { tx: TransactionPort; batches: () => number } {
  let batches = 0;
  return {
    tx: { run: (work, options) => ((batches += 1), tx.run(work, options)), read: (work) => tx.read(work), ping: () => tx.ping() },
    batches: () => batches,
  };
}

describe('PurgeIdempotencyKeys', () => {
  const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

  it('deletes the keys past the retention, one short transaction per batch, and keeps the rest', async () => {
    const db = new MemoryTransactionManager();
    await stored(db, keys('old', 7), 25 * HOUR);
    await stored(db, keys('kept', 3), 23 * HOUR);
    const { tx, batches } = counting(db);
    const purge = new PurgeIdempotencyKeys(tx, { retentionMs: 24 * HOUR, batchSize: 3, maxBatchesPerRound: 10 });

    await expect(purge.execute()).resolves.toEqual({ purged: 7, backlog: false });
    // 3 + 3 + 1: the short batch ends the round.
    expect(batches()).toBe(3);
    await expect(stillStored(db, [...keys('old', 7), ...keys('kept', 3)])).resolves.toEqual(keys('kept', 3));
  });

  it('stops a round at its bound with a backlog, and the next round goes on', async () => {
    const db = new MemoryTransactionManager();
    await stored(db, keys('old', 10), 48 * HOUR);
    const { tx, batches } = counting(db);
    const purge = new PurgeIdempotencyKeys(tx, { retentionMs: 24 * HOUR, batchSize: 2, maxBatchesPerRound: 3 });

    await expect(purge.execute()).resolves.toEqual({ purged: 6, backlog: true });
    expect(batches()).toBe(3);
    await expect(purge.execute()).resolves.toEqual({ purged: 4, backlog: false });
    await expect(purge.execute()).resolves.toEqual({ purged: 0, backlog: false });
  });

  it('lets rounds of several instances run at once: each key is purged once, no young key is', async () => {
    const db = new MemoryTransactionManager();
    await stored(db, keys('old', 40), 30 * HOUR);
    await stored(db, keys('young', 5), HOUR);
    const settings = { retentionMs: 24 * HOUR, batchSize: 4, maxBatchesPerRound: 100 };
    const rounds = await Promise.all([1, 2, 3].map(() => new PurgeIdempotencyKeys(db, settings).execute()));
    expect(rounds.reduce((sum, round) => sum + round.purged, 0)).toBe(40);
    await expect(stillStored(db, [...keys('old', 40), ...keys('young', 5)])).resolves.toEqual(keys('young', 5));
  });
});
