import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// Migrations take Kysely<any>: they must keep working after schema.ts has moved on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('user_points')
    .addColumn('user_id', 'text', (col) => col.primaryKey())
    .addColumn('balance', 'integer', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    // The last guard: even a write that skips the repository cannot overdraw or overfill a wallet.
    .addCheckConstraint('user_points_balance_range', sql`balance >= 0 AND balance <= 100000000`)
    .execute();

  await db.schema
    .createTable('point_history')
    .addColumn('id', 'bigint', (col) => col.generatedAlwaysAsIdentity().primaryKey())
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind IN ('CHARGE', 'USE')`))
    .addColumn('amount', 'integer', (col) => col.notNull().check(sql`amount > 0`))
    .addColumn('balance_after', 'integer', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .execute();
  // History is read per user, newest first: this index answers it without a sort.
  await db.schema
    .createIndex('point_history_user_id_id_idx')
    .on('point_history')
    .columns(['user_id', 'id desc'])
    .execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('scope', 'text', (col) => col.notNull())
    .addColumn('key', 'text', (col) => col.notNull())
    .addColumn('fingerprint', 'text', (col) => col.notNull())
    .addColumn('response', 'jsonb')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    // The unique index is what makes a claim safe without the lock.
    .addPrimaryKeyConstraint('idempotency_keys_pkey', ['scope', 'key'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
  await db.schema.dropTable('point_history').execute();
  await db.schema.dropTable('user_points').execute();
}
