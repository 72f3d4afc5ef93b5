import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';

/** One statement as the driver sent it: its text and parameters, exactly what Postgres received. */
export interface SentStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
  /** Sent between BEGIN and COMMIT of one transaction. */
  readonly inTransaction: boolean;
  /** Round trip as the caller saw it, ms. */
  readonly ms: number;
}

const BEGIN = /^\s*(begin|start transaction)\b/i;
const END = /^\s*(commit|rollback)\b/i;
const COMMIT = /^\s*commit\s*$/i;

/**
 * A pg pool for Kysely that records every statement sent through it,
 * BEGIN and COMMIT included (Kysely's log hook sees only the queries it
 * compiles, not the transaction's own statements). With `dryRun`, every
 * COMMIT is sent as ROLLBACK: the use cases run to the end and believe they
 * committed, and the database is left as it was, so the same statements can
 * then be replayed under EXPLAIN ANALYZE on the state they first met.
 */
export class RecordingPool implements PostgresPool {
  private readonly clients = new WeakMap<pg.PoolClient, RecordingClient>();
  private log: SentStatement[] = [];

  constructor(
    private readonly pool: pg.Pool,
    readonly dryRun: boolean,
  ) {}

  /** The statements sent since the last call, and a fresh log. */
  take(): SentStatement[] {
    const taken = this.log;
    this.log = [];
    return taken;
  }

  record(statement: SentStatement): void {
    this.log.push(statement);
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    // One wrapper per pg client: Kysely keys its connection objects by client.
    let wrapped = this.clients.get(client);
    if (wrapped === undefined) {
      wrapped = new RecordingClient(client, this);
      this.clients.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

class RecordingClient implements PostgresPoolClient {
  private inTransaction = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly owner: RecordingPool,
  ) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(query: string | PostgresCursor<R>, parameters: ReadonlyArray<unknown> = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof query !== 'string') throw new Error('cursors are not supported');
    if (BEGIN.test(query)) this.inTransaction = true;
    const inTransaction = this.inTransaction || END.test(query);
    if (END.test(query)) this.inTransaction = false;
    const rewritten = this.owner.dryRun && COMMIT.test(query);
    const started = performance.now();
    return this.client.query(rewritten ? 'rollback' : query, [...parameters]).then((result) => {
      this.owner.record({ sql: query, params: parameters, inTransaction, ms: performance.now() - started });
      // Kysely reads the command tag of its COMMIT and treats ROLLBACK as a failed commit: answer as the COMMIT would have.
      const answered = rewritten ? { ...result, command: 'COMMIT' } : result;
      return answered as unknown as PostgresQueryResult<R>;
    });
  }

  release(destroy?: boolean): void {
    this.client.release(destroy);
  }
}
