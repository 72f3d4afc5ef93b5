import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * The catalog (concerts, schedules, seats) and the sale (reservations,
 * payments). The constraints are the guards that keep the invariants even
 * without the lock: a seat is HELD exactly when it names its holder and the
 * hold's end; one PENDING or CONFIRMED reservation per seat (a partial
 * unique index); one payment per reservation.
 */
// Migrations take Kysely<any>: they must keep working after schema.ts has moved on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('concerts')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('title', 'text', (col) => col.notNull())
    .addColumn('venue', 'text', (col) => col.notNull())
    // clock_timestamp(), not now(): concerts made in one transaction still list in the order they were made.
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`clock_timestamp()`))
    .execute();

  await db.schema
    .createTable('schedules')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('concert_id', 'text', (col) => col.notNull().references('concerts.id'))
    .addColumn('starts_at', 'timestamptz', (col) => col.notNull())
    .addColumn('total_seats', 'integer', (col) => col.notNull().check(sql`total_seats > 0`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // The schedules of a concert, by start time, without a sort.
  await db.schema.createIndex('schedules_concert_id_starts_at_idx').on('schedules').columns(['concert_id', 'starts_at']).execute();

  await db.schema
    .createTable('seats')
    .addColumn('schedule_id', 'text', (col) => col.notNull().references('schedules.id'))
    .addColumn('seat_no', 'integer', (col) => col.notNull().check(sql`seat_no > 0`))
    .addColumn('price', 'integer', (col) => col.notNull().check(sql`price >= 0`))
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status IN ('AVAILABLE', 'HELD', 'SOLD')`))
    .addColumn('held_by', 'text')
    .addColumn('held_until', 'timestamptz')
    .addPrimaryKeyConstraint('seats_pkey', ['schedule_id', 'seat_no'])
    .addCheckConstraint(
      'seats_held_has_holder',
      sql`(status = 'HELD' AND held_by IS NOT NULL AND held_until IS NOT NULL) OR (status <> 'HELD' AND held_by IS NULL AND held_until IS NULL)`,
    )
    .execute();

  await db.schema
    .createTable('reservations')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('schedule_id', 'text', (col) => col.notNull())
    .addColumn('seat_no', 'integer', (col) => col.notNull())
    .addColumn('price', 'integer', (col) => col.notNull().check(sql`price >= 0`))
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status IN ('PENDING', 'CONFIRMED', 'EXPIRED')`))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    // The seat's key columns are never updated and seat writes take FOR NO KEY UPDATE: this check never waits on a hold.
    .addForeignKeyConstraint('reservations_seat_fkey', ['schedule_id', 'seat_no'], 'seats', ['schedule_id', 'seat_no'])
    .execute();
  // The guard against double booking: one live (PENDING or CONFIRMED) reservation per seat.
  await db.schema
    .createIndex('reservations_live_seat_key')
    .on('reservations')
    .columns(['schedule_id', 'seat_no'])
    .unique()
    .where(sql.ref('status'), 'in', ['PENDING', 'CONFIRMED'])
    .execute();
  // The sweeper's scan: ended PENDING holds, oldest first.
  await db.schema
    .createIndex('reservations_pending_expires_at_idx')
    .on('reservations')
    .columns(['expires_at', 'id'])
    .where(sql.ref('status'), '=', 'PENDING')
    .execute();

  await db.schema
    .createTable('payments')
    .addColumn('id', 'text', (col) => col.primaryKey())
    // Unique: a reservation is paid at most once.
    .addColumn('reservation_id', 'text', (col) => col.notNull().unique().references('reservations.id'))
    .addColumn('user_id', 'text', (col) => col.notNull())
    // Zero for a free seat (prices may be 0); a payment never moves points the other way.
    .addColumn('amount', 'integer', (col) => col.notNull().check(sql`amount >= 0`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('payments').execute();
  await db.schema.dropTable('reservations').execute();
  await db.schema.dropTable('seats').execute();
  await db.schema.dropTable('schedules').execute();
  await db.schema.dropTable('concerts').execute();
}
