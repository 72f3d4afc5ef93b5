/**
 * The bench's Postgres: the app's pool settings (size, time bounds) behind a
 * Kysely whose pool is timed. Inside a traced lock hold (`traces`), every
 * wait for a pooled connection and every statement is recorded with its
 * duration, for the lock-hold profile; outside one, nothing is recorded.
 * The pool also counts callers waiting for a connection, for the matrix.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../../adapters/kysely/schema.js';
import { DATABASE_TIME_BOUNDS } from '../../app/time-bounds.js';

/** One part of a lock hold: a wait for a pooled connection, or one statement (BEGIN, COMMIT, `update seats`, …). */
export interface TraceStep {
  readonly label: string;
  readonly ms: number;
}

/** What one traced lock hold spent its time on, in the order it happened. */
export interface Trace {
  readonly steps: TraceStep[];
}

export const traces = new AsyncLocalStorage<Trace>();

export interface PoolGauge {
  /** Callers waiting for a pooled connection right now. */
  waiting: number;
}

/** The statement's kind and table, enough to name a step: `BEGIN`, `update seats`, `insert into reservations`. */
export function statementLabel(text: string): string {
  const sql = text.trim().toLowerCase();
  if (sql.startsWith('start transaction') || sql.startsWith('begin')) return 'BEGIN';
  if (sql.startsWith('commit')) return 'COMMIT';
  if (sql.startsWith('rollback')) return 'ROLLBACK';
  const match = /^(select|insert into|update|delete from|with)\s+"?([a-z_]+)"?/.exec(sql);
  if (match === null) return sql.split(/\s+/, 1)[0] ?? 'statement';
  if (match[1] === 'with') return `with ${match[2]} (cte)`;
  if (match[1] === 'select') {
    const from = /\bfrom\s+"?([a-z_]+)"?/.exec(sql);
    return `select ${from?.[1] ?? match[2]}`;
  }
  return `${match[1]} ${match[2]}`;
}

class TimedPool implements PostgresPool {
  private readonly clients = new WeakMap<pg.PoolClient, TimedClient>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly gauge: PoolGauge,
  ) {}

  async connect(): Promise<PostgresPoolClient> {
    const trace = traces.getStore();
    const asked = performance.now();
    this.gauge.waiting++;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } finally {
      this.gauge.waiting--;
    }
    trace?.steps.push({ label: 'wait for a pooled connection', ms: performance.now() - asked });
    // One wrapper per pg client: Kysely keys its connection objects by client.
    let wrapped = this.clients.get(client);
    if (wrapped === undefined) {
      wrapped = new TimedClient(client);
      this.clients.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

class TimedClient implements PostgresPoolClient {
  constructor(private readonly client: pg.PoolClient) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(query: string | PostgresCursor<R>, parameters: ReadonlyArray<unknown> = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof query !== 'string') throw new Error('cursors are not supported');
    const trace = traces.getStore();
    const sent = performance.now();
    const done = () => trace?.steps.push({ label: statementLabel(query), ms: performance.now() - sent });
    return this.client.query(query, [...parameters]).then(
      (result) => {
        done();
        return result as unknown as PostgresQueryResult<R>;
      },
      (error: unknown) => {
        done();
        throw error;
      },
    );
  }

  release(destroy?: boolean): void {
    this.client.release(destroy);
  }
}

export interface BenchDatabase {
  readonly db: Kysely<Database>;
  readonly gauge: PoolGauge;
}

/** A pool like the app's (app/container.ts: DATABASE_POOL_SIZE, DATABASE_TIME_BOUNDS), timed. */
export function benchDatabase(databaseUrl: string, poolSize: number): BenchDatabase {
  const bounds = DATABASE_TIME_BOUNDS;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: bounds.connectTimeoutMs,
    statement_timeout: bounds.statementTimeoutMs,
    lock_timeout: bounds.lockTimeoutMs,
    idle_in_transaction_session_timeout: bounds.idleInTransactionTimeoutMs,
    query_timeout: bounds.queryTimeoutMs,
  });
  pool.on('error', () => undefined);
  const gauge: PoolGauge = { waiting: 0 };
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: new TimedPool(pool, gauge) }) }), gauge };
}

/** Connections of the bench database seen by the server, one sample. */
export interface ActivitySample {
  /** Running a statement that waits for a lock (a row lock, an advisory lock). */
  readonly lockWait: number;
  /** Inside a transaction, waiting for the application (its next statement, its COMMIT). */
  readonly idleInTx: number;
  readonly poolWaiting: number;
}

/**
 * Samples pg_stat_activity of the bench database on a connection of its own
 * (not from the pool) every `everyMs` until stopped, and the pool's queue
 * at the same instants.
 */
export async function sampleActivity(databaseUrl: string, gauge: PoolGauge, everyMs: number): Promise<{ stop: () => Promise<ActivitySample[]> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const samples: ActivitySample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ lock_wait: number; idle_in_tx: number }>(
        `select count(*) filter (where state = 'active' and wait_event_type = 'Lock')::int as lock_wait,
                count(*) filter (where state like 'idle in transaction%')::int as idle_in_tx
         from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
      );
      samples.push({ lockWait: rows[0]?.lock_wait ?? 0, idleInTx: rows[0]?.idle_in_tx ?? 0, poolWaiting: gauge.waiting });
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await client.end();
      return samples;
    },
  };
}
