import type { Kysely } from 'kysely';
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
}
