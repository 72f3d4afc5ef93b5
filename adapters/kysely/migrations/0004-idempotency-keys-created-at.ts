import type { Kysely } from 'kysely';

/**
 * Stored Idempotency-Keys are purged once older than their retention
 * (IDEMPOTENCY_RETENTION_HOURS), a bounded batch at a time, oldest first.
 * This index lets each batch read just the oldest rows instead of scanning
 * the whole table (which holds a retention's worth of keys, or everything
 * ever stored on a database that ran before the purge existed).
 *
 * A plain CREATE INDEX: Kysely runs each migration in a transaction, where
 * CONCURRENTLY is not allowed. It blocks writes to idempotency_keys while it
 * builds, which on a large table delays keyed charges and payments during the
 * deploy; build it CONCURRENTLY by hand first on such a database (this then
 * finds it and does nothing).
 */
// Migrations take Kysely<any>: they must keep working after schema.ts has moved on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('idempotency_keys_created_at_idx').ifNotExists().on('idempotency_keys').column('created_at').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('idempotency_keys_created_at_idx').ifExists().execute();
}
