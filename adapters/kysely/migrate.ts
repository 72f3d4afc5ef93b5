import type { Kysely } from 'kysely';
import { Migrator } from 'kysely';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations/index.js';

/**
 * Brings the schema to the latest migration. Safe when several instances
 * start at once: on Postgres (and PGlite, the same adapter) Kysely's Migrator
 * holds a session advisory lock (`pg_advisory_lock`) around reading the
 * executed migrations and running the pending ones in one transaction, so a
 * second instance waits, then finds nothing left to do.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((result) => result.status === 'Error');
  const name = failed === undefined ? 'the migration setup' : `migration ${failed.migrationName}`;
  throw new Error(`database migration failed in ${name}: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}
