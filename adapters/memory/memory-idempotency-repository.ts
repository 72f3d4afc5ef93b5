import type { ClaimResult, IdempotencyRecord, IdempotencyRepository } from '../../core/ports/idempotency.repository.js';
import type { MemoryDatabase, MemoryTransaction } from './memory-database.js';
import type { Tick } from './tick.js';

const KEYS = 'idempotency_keys';

/** A stored key, stamped when claimed as Postgres's `created_at DEFAULT now()` is. */
interface StoredRecord extends IdempotencyRecord {
  /** Milliseconds on this database's own clock (the wall clock, as Postgres's `now()`). */
  readonly createdAt: number;
}

/**
 * With `guarded`, a claim takes the key's row lock first, like an INSERT on a
 * unique index: a second claimer waits for the first to end, then sees its
 * record. Without it, check-then-insert races (for property tests' teeth).
 *
 * The memory database has no delete: a purged key is written as
 * `undefined`, which every read takes for "no row" (the table keeps the
 * entry; this store lives only as long as a test).
 */
export class MemoryIdempotencyRepository implements IdempotencyRepository {
  constructor(
    private readonly tx: MemoryTransaction,
    private readonly tick: Tick,
    private readonly guarded: boolean,
  ) {}

  async claim(request: { scope: string; key: string; fingerprint: string }): Promise<ClaimResult> {
    await this.tick();
    const id = rowId(request.scope, request.key);
    if (this.guarded) await this.tx.lockRow(KEYS, id);
    const existing = this.tx.read<StoredRecord>(KEYS, id);
    if (existing !== undefined) return { claimed: false, existing: withoutStamp(existing) };
    if (!this.guarded) {
      await this.tick();
      await this.tx.lockRow(KEYS, id);
    }
    this.tx.write(KEYS, id, { ...request, response: undefined, createdAt: Date.now() } satisfies StoredRecord);
    return { claimed: true };
  }

  async complete(scope: string, key: string, response: unknown): Promise<void> {
    await this.tick();
    const id = rowId(scope, key);
    const claimed = this.tx.read<StoredRecord>(KEYS, id);
    if (claimed === undefined) throw new Error(`idempotency key ${id} was not claimed in this transaction`);
    this.tx.write(KEYS, id, { ...claimed, response });
  }

  /** As the Postgres statement: oldest first, rows another transaction holds skipped (SKIP LOCKED), uncommitted claims of others unseen. */
  async purgeOlderThan(olderThanMs: number, limit: number): Promise<number> {
    await this.tick();
    const cutoff = Date.now() - olderThanMs;
    const old = this.tx
      .rows<StoredRecord | undefined>(KEYS)
      .filter((record): record is StoredRecord => record !== undefined && record.createdAt <= cutoff)
      .sort((a, b) => a.createdAt - b.createdAt);
    let deleted = 0;
    for (const record of old) {
      if (deleted >= limit) break;
      const id = rowId(record.scope, record.key);
      if (!this.tx.tryLockRow(KEYS, id)) continue;
      // Re-read under the lock, as Postgres re-checks a row it locked: another purger may have taken it and committed.
      if (this.tx.read<StoredRecord>(KEYS, id) === undefined) continue;
      this.tx.write(KEYS, id, undefined);
      deleted++;
    }
    return deleted;
  }
}

/**
 * For tests, what time passing does to a stored key: makes it `ms` older.
 * (The Kysely fixtures do the same with an UPDATE of `created_at`.)
 */
export function ageMemoryIdempotencyKey(db: MemoryDatabase, scope: string, key: string, ms: number): void {
  const table = db.committedTable(KEYS);
  const id = rowId(scope, key);
  const record = table.get(id) as StoredRecord | undefined;
  if (record === undefined) throw new Error(`no committed idempotency key ${id}`);
  table.set(id, { ...record, createdAt: record.createdAt - ms } satisfies StoredRecord);
}

function withoutStamp(record: StoredRecord): IdempotencyRecord {
  const { createdAt: _createdAt, ...rest } = record;
  return rest;
}

function rowId(scope: string, key: string): string {
  return JSON.stringify([scope, key]);
}
