import type { Kysely } from 'kysely';
import { createKysely } from '../../adapters/kysely/create-kysely.js';
import { migrateToLatest } from '../../adapters/kysely/migrate.js';
import type { Database } from '../../adapters/kysely/schema.js';
import { createIsolatedDatabase } from './isolated-database.js';

/** A database of its own on the test Postgres, migrated to the latest schema, with a Kysely on it. */
export interface MigratedDatabase {
  readonly url: string;
  readonly db: Kysely<Database>;
  /** Closes the pool, then drops the database. */
  drop(): Promise<void>;
}

export async function createMigratedDatabase(serverUrl: string): Promise<MigratedDatabase> {
  const isolated = await createIsolatedDatabase(serverUrl);
  const db = await createKysely({ databaseUrl: isolated.url, dataDir: 'memory://' });
  await migrateToLatest(db);
  return {
    url: isolated.url,
    db,
    drop: async () => {
      await db.destroy();
      await isolated.drop();
    },
  };
}
