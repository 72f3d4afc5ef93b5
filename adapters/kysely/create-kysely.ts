import { mkdir } from 'node:fs/promises';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { initPGliteDataDir } from './pglite-initdb.js';
import type { Database } from './schema.js';
import { isClientQueryTimeout } from './translate-error.js';

/**
 * How long a Postgres session may spend on what; app/time-bounds.ts says why
 * each value. All optional: a field left out means no bound of that kind.
 */
export interface DatabaseTimeBounds {
  /** Postgres `statement_timeout`: one statement, waits included (57014 past it). */
  readonly statementTimeoutMs?: number;
  /** Postgres `lock_timeout`: one wait for a lock (55P03 past it). */
  readonly lockTimeoutMs?: number;
  /** Postgres `idle_in_transaction_session_timeout`: the server ends a session idle this long inside a transaction. */
  readonly idleInTransactionTimeoutMs?: number;
  /** pg's client-side `query_timeout`: no answer this long, and the connection is given up (destroyed, never reused). */
  readonly queryTimeoutMs?: number;
  /** TCP keepalive on every connection, first probe after this much silence. */
  readonly keepAliveInitialDelayMs?: number;
}

export interface CreateKyselyOptions {
  /** A Postgres server; when absent, embedded PGlite in `dataDir`. */
  readonly databaseUrl?: string;
  /** PGlite's data folder (created if missing), or `memory://` for a throwaway database. */
  readonly dataDir: string;
  readonly poolSize?: number;
  /** How long to wait for a Postgres connection (a pooled one, or a new one's connect) before the database counts as down. */
  readonly connectTimeoutMs?: number;
  /**
   * Postgres only. PGlite is one in-process session: no network to stall,
   * no other session to hold a lock, and no timer to cancel a statement
   * with, so it ignores them.
   */
  readonly timeBounds?: DatabaseTimeBounds;
}

const IN_MEMORY = 'memory://';

/**
 * PGlite's Postgres settings. shared_buffers is resident in full from the
 * start (measured: 128MB, Postgres's default, costs 130 MB of RSS at open;
 * 16MB, 16 MB), and the embedded mode serves one small deployment: its
 * tables fit, and a page evicted from the buffers comes back from the OS
 * page cache (PGlite reads its files through Node's fs), a copy, not a
 * disk read. Passed to initdb too, which then needs less memory itself.
 * PGlite's `initialMemory` cannot help: its WebAssembly module declares
 * 128 MiB as the minimum, and pages never touched are not resident anyway.
 */
export const PGLITE_SETTINGS: readonly string[] = ['-c', 'shared_buffers=16MB'];

/**
 * The same Kysely code runs on both: pg's defaults already hand back
 * `timestamptz` as Date, `integer` as number and `jsonb` parsed, and PGlite's
 * do too. `bigint` stays a string on pg (only ids are bigint, never read as
 * numbers).
 *
 * The server-side bounds are sent per connection, as startup parameters
 * (pg's `statement_timeout`, `lock_timeout`, `idle_in_transaction_session_timeout`
 * options), rather than with `SET LOCAL` in each transaction: they cost no
 * round trip (a SET LOCAL would add one to every transaction, about a tenth
 * of a payment's), and they also bound what runs outside a transaction
 * (reads on the pool, the health check). Migrations, which need longer,
 * run on a Kysely of their own made with longer bounds (app/application.ts).
 */
export async function createKysely(options: CreateKyselyOptions): Promise<Kysely<Database>> {
  if (options.databaseUrl !== undefined) {
    const bounds = options.timeBounds ?? {};
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      ...(bounds.statementTimeoutMs === undefined ? {} : { statement_timeout: bounds.statementTimeoutMs }),
      ...(bounds.lockTimeoutMs === undefined ? {} : { lock_timeout: bounds.lockTimeoutMs }),
      ...(bounds.idleInTransactionTimeoutMs === undefined ? {} : { idle_in_transaction_session_timeout: bounds.idleInTransactionTimeoutMs }),
      ...(bounds.queryTimeoutMs === undefined ? {} : { query_timeout: bounds.queryTimeoutMs }),
      ...(bounds.keepAliveInitialDelayMs === undefined ? {} : { keepAlive: true, keepAliveInitialDelayMillis: bounds.keepAliveInitialDelayMs }),
    });
    // A client whose server went away emits 'error' (on the pool while idle, on
    // the client while a transaction holds it between queries); unheard, that
    // crashes the process. The next query on it fails and is translated where it
    // runs, and the pool discards a broken client when it is released.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool: new TimeoutDiscardingPool(pool) }) });
  }
  // Loaded in the embedded mode only: a distributed instance never parses PGlite's half a megabyte of JavaScript.
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([import('@electric-sql/pglite'), import('kysely-pglite-dialect')]);
  if (!options.dataDir.startsWith(IN_MEMORY)) {
    await mkdir(options.dataDir, { recursive: true });
    await initPGliteDataDir(options.dataDir, PGLITE_SETTINGS);
  }
  // The settings at every start as well: a folder made before they existed has PGlite's defaults in its postgresql.conf.
  const pglite = await PGlite.create(options.dataDir, { startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS], initDbStartParams: [...PGLITE_SETTINGS] });
  // PGlite is one session: the dialect hands it to one transaction at a time, others queue.
  return new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
}

/**
 * pg's `query_timeout` rejects the query but keeps the connection, with the
 * query still in flight on it: the next query (the transaction's ROLLBACK,
 * or the next user of a pooled client) would queue behind an answer that
 * may never come, and wait out its own timeout. A connection that went
 * silent is given up instead: ended at once (pg destroys the socket of a
 * client with a query in flight), so whatever follows on it fails fast, the
 * pool drops it on release, and the server ends the session's transaction
 * (rolled back) when it notices.
 */
class TimeoutDiscardingPool implements PostgresPool {
  private readonly clients = new WeakMap<pg.PoolClient, TimeoutDiscardingClient>();

  constructor(private readonly pool: pg.Pool) {}

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    // One wrapper per pg client: Kysely keys its connection objects by client.
    let wrapped = this.clients.get(client);
    if (wrapped === undefined) {
      wrapped = new TimeoutDiscardingClient(client);
      this.clients.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

class TimeoutDiscardingClient implements PostgresPoolClient {
  constructor(private readonly client: pg.PoolClient) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(query: string | PostgresCursor<R>, parameters: ReadonlyArray<unknown> = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // The dialect is built without a cursor class: streaming never reaches here.
    if (typeof query !== 'string') throw new Error('cursors are not supported');
    return this.client.query(query, [...parameters]).then(
      (result) => result as unknown as PostgresQueryResult<R>,
      (error: unknown) => {
        if (isClientQueryTimeout(error)) this.client.end().catch(() => undefined);
        throw error;
      },
    );
  }

  release(destroy?: boolean): void {
    this.client.release(destroy);
  }
}
