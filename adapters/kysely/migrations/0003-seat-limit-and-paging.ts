import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * The seat limit's database guard and the order of a user's reservations.
 *
 * `user_schedule_seats` counts each user's PENDING and CONFIRMED reservations
 * of a schedule. Reserving increments it in one statement that refuses once
 * it is at the limit, and the statement's row lock makes a concurrent
 * reserve of the same user wait and re-check; expiring decrements it. The
 * limit itself is configuration (MAX_SEATS_PER_USER), so it lives in that
 * statement, not in a CHECK; the CHECK only keeps the count a count.
 *
 * `reservations.position` orders a user's reservations for cursor paging:
 * an identity grows with every insert, unlike `created_at` (one value per
 * transaction, shared by ties). point_history already has its identity `id`
 * and the index (user_id, id desc).
 */
// Migrations take Kysely<any>: they must keep working after schema.ts has moved on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('user_schedule_seats')
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('schedule_id', 'text', (col) => col.notNull())
    .addColumn('seats', 'integer', (col) => col.notNull())
    .addPrimaryKeyConstraint('user_schedule_seats_pkey', ['user_id', 'schedule_id'])
    .addCheckConstraint('user_schedule_seats_seats_not_negative', sql`seats >= 0`)
    .execute();
  // Reservations made before this migration count as much as those made after.
  await sql`
    insert into user_schedule_seats (user_id, schedule_id, seats)
    select user_id, schedule_id, count(*)
    from reservations
    where status in ('PENDING', 'CONFIRMED')
    group by user_id, schedule_id
  `.execute(db);

  // Numbered first in the order they were made, then handed to an identity that continues after them.
  await db.schema.alterTable('reservations').addColumn('position', 'bigint').execute();
  await sql`
    update reservations
    set position = numbered.n
    from (select id, row_number() over (order by created_at, id) as n from reservations) as numbered
    where reservations.id = numbered.id
  `.execute(db);
  await sql`alter table reservations alter column position set not null`.execute(db);
  await sql`alter table reservations alter column position add generated always as identity`.execute(db);
  await sql`
    select setval(pg_get_serial_sequence('reservations', 'position'), coalesce(max(position), 0) + 1, false)
    from reservations
  `.execute(db);
  // A user's reservations, newest first, a page at a time: no sort, and a cursor is an index seek.
  await db.schema.createIndex('reservations_user_id_position_idx').on('reservations').columns(['user_id', 'position desc']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('reservations_user_id_position_idx').execute();
  await db.schema.alterTable('reservations').dropColumn('position').execute();
  await db.schema.dropTable('user_schedule_seats').execute();
}
