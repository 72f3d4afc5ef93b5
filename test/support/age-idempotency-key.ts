import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../../adapters/kysely/schema.js';

/** What time passing does to a stored Idempotency-Key: `created_at` moves `ms` into the past (a negative `ms` makes it younger). */
export async function ageKyselyIdempotencyKey(db: Kysely<Database>, scope: string, key: string, ms: number): Promise<void> {
  const result = await sql`
    update idempotency_keys set created_at = created_at - ${ms}::double precision * interval '1 millisecond'
    where scope = ${scope} and key = ${key}
  `.execute(db);
  if (result.numAffectedRows !== 1n) throw new Error(`no stored idempotency key ${JSON.stringify([scope, key])}`);
}
