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
import { ageKyselyIdempotencyKey } from '../support/age-idempotency-key.js';
import { describeTransactionContract } from './transaction.contract.js';

// A data folder on disk, as the embedded mode uses; one PGlite for the file (starting one takes a while).
let folder: string;
let db: Kysely<Database>;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'pglite-contract-'));
  db = await createKysely({ dataDir: join(folder, 'data') });
  await migrateToLatest(db);
});

afterAll(async () => {
  await db?.destroy();
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
});

describeTransactionContract(
  'kysely on pglite',
  async () => ({
    tx: new KyselyTransactionManager(db),
    // kysely-pglite-dialect hands PGlite's one session to one transaction at a time.
    serialisesTransactions: true,
    ageIdempotencyKey: (scope, key, ms) => ageKyselyIdempotencyKey(db, scope, key, ms),
    cleanup: async () => {
      await sql`truncate user_points, point_history, idempotency_keys restart identity`.execute(db);
    },
  }),
);
