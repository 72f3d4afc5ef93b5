import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { afterAll, beforeAll } from 'vitest';
import { createKysely } from '../../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../../adapters/kysely/kysely-transaction.js';
import { migrateToLatest } from '../../adapters/kysely/migrate.js';
import type { Database } from '../../adapters/kysely/schema.js';
import { describeReservationContract, describeSeatLimitMigration } from './reservation.contract.js';

// A data folder on disk, as the embedded mode uses; one PGlite for the file (starting one takes a while).
let folder: string;
let db: Kysely<Database>;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'pglite-reservation-contract-'));
  db = await createKysely({ dataDir: join(folder, 'data') });
  await migrateToLatest(db);
});

afterAll(async () => {
  await db?.destroy();
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
});

// kysely-pglite-dialect hands PGlite's one session to one transaction at a time: a second one is queued, not blocked on a row.
describeReservationContract('kysely on pglite', async () => ({
  tx: new KyselyTransactionManager(db),
  blocked: async () => {},
  cleanup: async () => {
    await sql`truncate payments, reservations, seats, schedules, concerts, user_schedule_seats`.execute(db);
  },
}), { serialisesTransactions: true });

describeSeatLimitMigration('kysely on pglite', async () => {
  const fresh = await createKysely({ dataDir: 'memory://' });
  return { db: fresh, close: () => fresh.destroy() };
});
