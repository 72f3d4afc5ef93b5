import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { Database } from './schema.js';

export interface CreateKyselyOptions {
  /** A Postgres server; when absent, embedded PGlite in `dataDir`. */
  readonly databaseUrl?: string;
  /** PGlite's data folder (created if missing), or `memory://` for a throwaway database. */
  readonly dataDir: string;
  readonly poolSize?: number;
  /** How long to wait for a Postgres connection before the database counts as down. */
  readonly connectTimeoutMs?: number;
}

const IN_MEMORY = 'memory://';

/**
 * The same Kysely code runs on both: pg's defaults already hand back
 * `timestamptz` as Date, `integer` as number and `jsonb` parsed, and PGlite's
 * do too. `bigint` stays a string on pg (only ids are bigint, never read as
 * numbers).
 */
export async function createKysely(options: CreateKyselyOptions): Promise<Kysely<Database>> {
  if (options.databaseUrl !== undefined) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    });
    // A client whose server went away emits 'error' (on the pool while idle, on
    // the client while a transaction holds it between queries); unheard, that
    // crashes the process. The next query on it fails and is translated where it
    // runs, and the pool discards a broken client when it is released.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  if (!options.dataDir.startsWith(IN_MEMORY)) await mkdir(options.dataDir, { recursive: true });
  const pglite = await PGlite.create(options.dataDir);
  // PGlite is one session: the dialect hands it to one transaction at a time, others queue.
  return new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
}
