import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * A buyer's PENDING holds, by their end. Paying counts the buyer's holds
 * still PENDING (inside the payment's transaction, under its locks) to know
 * whether the payment spends the queue token. Without this index Postgres
 * answers it by ANDing two bitmaps: every reservation the buyer ever made
 * (reservations_user_id_position_idx) and every live hold of every buyer
 * (reservations_pending_expires_at_idx), so its cost grows with the buyer's
 * history and with the size of the sale in progress, and it is paid while
 * the seat, reservation and wallet locks are held. With it, the count is an
 * index-only scan of that buyer's PENDING rows (a handful: the seat limit
 * bounds them). reports/queries.md measures both.
 *
 * A plain CREATE INDEX: Kysely runs each migration in a transaction, where
 * CONCURRENTLY is not allowed, and on a large reservations table the build
 * blocks reserves and payments for its duration. For such a database, build
 * it first by hand with CREATE INDEX CONCURRENTLY (same name and definition);
 * IF NOT EXISTS then makes this migration a no-op.
 */
// Migrations take Kysely<any>: they must keep working after schema.ts has moved on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('reservations_pending_user_id_expires_at_idx')
    .ifNotExists()
    .on('reservations')
    .columns(['user_id', 'expires_at'])
    .where(sql.ref('status'), '=', 'PENDING')
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('reservations_pending_user_id_expires_at_idx').ifExists().execute();
}
