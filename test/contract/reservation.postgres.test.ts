import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { afterAll, beforeAll, inject } from 'vitest';
import { createKysely } from '../../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../../adapters/kysely/kysely-transaction.js';
import { migrateToLatest } from '../../adapters/kysely/migrate.js';
import type { Database } from '../../adapters/kysely/schema.js';
import type { IsolatedDatabase } from '../support/isolated-database.js';
import { createIsolatedDatabase } from '../support/isolated-database.js';
import { describeReservationContract } from './reservation.contract.js';

// One database for the file (creating one per test is slow); each test empties the tables after itself.
let database: IsolatedDatabase;
let db: Kysely<Database>;

beforeAll(async () => {
  database = await createIsolatedDatabase(inject('databaseUrl'));
  db = await createKysely({ databaseUrl: database.url, dataDir: 'memory://' });
  await migrateToLatest(db);
});

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

describeReservationContract('kysely on postgres', async () => ({
  tx: new KyselyTransactionManager(db),
  // Resolves once some session of this database waits on a lock: the second transaction has really reached the server and blocks.
  blocked: async () => {
    const name = new URL(database.url).pathname.slice(1);
    for (;;) {
      const { rows } = await sql`select 1 from pg_stat_activity where datname = ${name} and wait_event_type = 'Lock'`.execute(db);
      if (rows.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  },
  cleanup: async () => {
    await sql`truncate payments, reservations, seats, schedules, concerts`.execute(db);
  },
}));
