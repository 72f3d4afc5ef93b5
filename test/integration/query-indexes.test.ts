import type { CompiledQuery } from 'kysely';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKysely } from '../../adapters/kysely/create-kysely.js';
import { KyselyReservationRepository } from '../../adapters/kysely/kysely-reservation-repository.js';
import { migrateToLatest } from '../../adapters/kysely/migrate.js';
import type { Database } from '../../adapters/kysely/schema.js';
import type { MigratedDatabase } from '../support/migrated-database.js';
import { createMigratedDatabase } from '../support/migrated-database.js';

/**
 * Migration 0005 (reports/queries.md, "Under heavy traffic"): paying counts
 * the buyer's PENDING holds, and that count must read the buyer's PENDING
 * rows through reservations_pending_user_id_expires_at_idx, not AND the
 * buyer's whole history with every live hold of the sale.
 */
const INDEX = 'reservations_pending_user_id_expires_at_idx';
const SCHEDULES = 20;
const SEATS = 1_000;
const USERS = 1_000;

let database: MigratedDatabase;
/** The statement the repository sends, captured from Kysely's log: the test plans exactly that text. */
let counted: { sql: string; parameters: readonly unknown[]; pending: number };

beforeAll(async () => {
  database = await createMigratedDatabase(inject('databaseUrl'));
  // Enough rows for the planner to choose by cost: 20,000 reservations of 1,000 buyers, one in ten a live hold.
  await sql`insert into concerts (id, title, venue) values ('c1', 'Concert', 'Hall')`.execute(database.db);
  await sql`
    insert into schedules (id, concert_id, starts_at, total_seats)
    select 's' || s, 'c1', now() + interval '30 days', ${SEATS}::int from generate_series(1, ${SCHEDULES}::int) as s
  `.execute(database.db);
  await sql`
    insert into seats (schedule_id, seat_no, price, status, held_by, held_until)
    select 's' || (i / ${SEATS}::int + 1), i % ${SEATS}::int + 1, 100,
           case when i % 10 = 0 then 'HELD' else 'AVAILABLE' end,
           case when i % 10 = 0 then 'r' || i end,
           case when i % 10 = 0 then now() + interval '1 hour' end
    from generate_series(0, ${SCHEDULES * SEATS - 1}::int) as i
  `.execute(database.db);
  await sql`
    insert into reservations (id, user_id, schedule_id, seat_no, price, status, expires_at)
    select 'r' || i, 'user-' || (i % ${USERS}::int), 's' || (i / ${SEATS}::int + 1), i % ${SEATS}::int + 1, 100,
           case when i % 10 = 0 then 'PENDING' else 'EXPIRED' end,
           case when i % 10 = 0 then now() + interval '1 hour' else now() - interval '1 day' end
    from generate_series(0, ${SCHEDULES * SEATS - 1}::int) as i
  `.execute(database.db);
  await sql`vacuum analyze reservations`.execute(database.db);

  // The statement exactly as the repository sends it, from Kysely's log, with its parameters.
  const logged: CompiledQuery[] = [];
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 1 }) }),
    log: (event) => {
      if (event.level === 'query') logged.push(event.query);
    },
  });
  try {
    const pending = await new KyselyReservationRepository(db).countPending('user-0', new Date());
    const query = logged[0]!;
    counted = { sql: query.sql, parameters: query.parameters, pending };
  } finally {
    await db.destroy();
  }
});

afterAll(async () => database?.drop());

describe('0005 reservations_pending_user_id_expires_at_idx', () => {
  it('is what the count of a buyer’s PENDING holds reads', async () => {
    const plan = await planOf(counted.sql, counted.parameters);
    expect(plan).toContain(INDEX);
    // user-0 holds every tenth reservation of seats i ≡ 0 (mod 1,000 buyers): 20 live holds.
    expect(counted.pending).toBe(20);
  });

  it('is missed when absent: the same statement then plans without it (this test can fail)', async () => {
    const plan = await planOf(counted.sql, counted.parameters, true);
    expect(plan).not.toContain(INDEX);
  });
});

describe('0005 on PGlite', () => {
  it('creates the same partial index', async () => {
    const db = await createKysely({ dataDir: 'memory://' });
    try {
      await migrateToLatest(db);
      const { rows } = await sql<{ indexdef: string }>`select indexdef from pg_indexes where indexname = ${INDEX}`.execute(db);
      expect(rows[0]?.indexdef).toMatch(/\(user_id, expires_at\) WHERE \(status = 'PENDING'::text\)/);
    } finally {
      await db.destroy();
    }
    // Starting PGlite (WebAssembly Postgres) and migrating it takes seconds, more on a busy machine.
  }, 120_000);
});

async function planOf(text: string, parameters: readonly unknown[], withoutIndex = false): Promise<string> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query('begin');
    if (withoutIndex) await client.query(`drop index ${INDEX}`);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain ${text}`, [...parameters]);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  } finally {
    // DROP INDEX inside the transaction: rolled back with it.
    await client.query('rollback');
    await client.end();
  }
}
