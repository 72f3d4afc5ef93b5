import type { MigratedDatabase } from '../support/migrated-database.js';
import { createMigratedDatabase } from '../support/migrated-database.js';
import { sql } from 'kysely';
import { afterAll, beforeAll, inject } from 'vitest';
import { createKysely } from '../../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../../adapters/kysely/kysely-transaction.js';
import { createIsolatedDatabase } from '../support/isolated-database.js';
import { describeReservationContract, describeSeatLimitMigration } from './reservation.contract.js';

// One database for the file (creating one per test is slow); each test empties the tables after itself.
let database: MigratedDatabase;

beforeAll(async () => {
  database = await createMigratedDatabase(inject('databaseUrl'));
});

afterAll(async () => database?.drop());

describeReservationContract('kysely on postgres', async () => ({
  tx: new KyselyTransactionManager(database.db),
  // Resolves once some session of this database waits on a lock: the second transaction has really reached the server and blocks.
  blocked: async () => {
    const name = new URL(database.url).pathname.slice(1);
    for (;;) {
      const { rows } = await sql`select 1 from pg_stat_activity where datname = ${name} and wait_event_type = 'Lock'`.execute(database.db);
      if (rows.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  },
  cleanup: async () => {
    await sql`truncate payments, reservations, seats, schedules, concerts, user_schedule_seats`.execute(database.db);
  },
}));

describeSeatLimitMigration('kysely on postgres', async () => {
  const fresh = await createIsolatedDatabase(inject('databaseUrl'));
  const db = await createKysely({ databaseUrl: fresh.url, dataDir: 'memory://' });
  return {
    db,
    close: async () => {
      await db.destroy();
      await fresh.drop();
    },
  };
});
