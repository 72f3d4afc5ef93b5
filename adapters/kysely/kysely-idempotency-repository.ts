import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { ClaimResult, IdempotencyRepository } from '../../core/ports/idempotency.repository.js';
import type { Database } from './schema.js';

export class KyselyIdempotencyRepository implements IdempotencyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async claim(request: { readonly scope: string; readonly key: string; readonly fingerprint: string }): Promise<ClaimResult> {
    for (;;) {
      // On the primary key, an INSERT waits for a transaction that wrote the same
      // key and has not ended; DO NOTHING once it committed, inserts if it rolled back.
      const inserted = await this.db
        .insertInto('idempotency_keys')
        .values({ scope: request.scope, key: request.key, fingerprint: request.fingerprint, response: null })
        .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
        .returning('scope')
        .executeTakeFirst();
      if (inserted !== undefined) return { claimed: true };
      // READ COMMITTED: this statement's snapshot is newer than the insert's, so it sees the committed row.
      const existing = await this.db
        .selectFrom('idempotency_keys')
        .select(['scope', 'key', 'fingerprint', 'response'])
        .where('scope', '=', request.scope)
        .where('key', '=', request.key)
        .executeTakeFirst();
      // Gone in between (a purge of old keys): claim again.
      if (existing !== undefined) return { claimed: false, existing };
    }
  }

  async complete(scope: string, key: string, response: unknown): Promise<void> {
    const result = await this.db
      .updateTable('idempotency_keys')
      .set({ response: response === undefined ? null : JSON.stringify(response) })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new Error(`idempotency key ${JSON.stringify([scope, key])} was not claimed in this transaction`);
  }

  /**
   * One bounded batch. The inner SELECT walks the created_at index from
   * the oldest row and stops after `limit` (never a scan of the table);
   * `FOR UPDATE SKIP LOCKED` takes those rows' locks, passing over rows a
   * concurrent purger (or a claimer) holds, so purgers neither wait for
   * nor collide with each other; the DELETE then finds them by primary key.
   * `created_at` was stamped by `now()` at the claim, and is compared with
   * `now()` here: one clock on both sides. Rows a transaction has claimed
   * but not committed are invisible, so a key in flight is never purged.
   */
  async purgeOlderThan(olderThanMs: number, limit: number): Promise<number> {
    const result = await sql`
      delete from idempotency_keys
      where (scope, key) in (
        select scope, key from idempotency_keys
        where created_at <= now() - ${olderThanMs}::double precision * interval '1 millisecond'
        order by created_at
        limit ${limit}
        for update skip locked
      )
    `.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}
