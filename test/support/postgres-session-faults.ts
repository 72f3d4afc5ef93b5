/**
 * Session-level faults on a database of a test's own, on the shared test
 * Postgres: another session holding a row lock, backends terminated. They
 * touch only sessions of that one database, never the server.
 */
import pg from 'pg';

/** Polls `condition` every `intervalMs` until it holds; throws naming `what` once `timeoutMs` has passed. */
export async function pollUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 5_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A session of its own holding row locks in an open transaction, as an operator's forgotten transaction would. */
export interface RowLocker {
  /** The backend's pid, to tell it apart from the service's sessions. */
  readonly pid: number;
  /** Ends the transaction (rolled back) and the session. */
  release(): Promise<void>;
}

/** Opens a session on `databaseUrl`, begins a transaction and runs `lockingSql` in it (a `SELECT ... FOR UPDATE`, say), then keeps it open. */
export async function holdRowLocks(databaseUrl: string, lockingSql: string, parameters: readonly unknown[] = []): Promise<RowLocker> {
  // No time bounds on this session: it is the fault.
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  await client.query('begin');
  const locked = await client.query(lockingSql, [...parameters]);
  if (locked.rowCount === 0) throw new Error(`nothing to lock: ${lockingSql}`);
  let released: Promise<void> | undefined;
  return {
    pid: rows[0]!.pid,
    release: () =>
      (released ??= (async () => {
        await client.query('rollback').catch(() => undefined);
        await client.end().catch(() => undefined);
      })()),
  };
}

/** A session on the server's maintenance database, for looking at and acting on the sessions of one test database. */
export interface DatabaseObserver {
  /** Sessions of the database other than `except`, waiting on a heavyweight lock (a row lock, here). */
  lockWaiters(except?: readonly number[]): Promise<number>;
  /** Sessions of the database other than `except`, in the given state ('idle in transaction', 'active', ...); all states if none. */
  sessions(state?: string, except?: readonly number[]): Promise<number>;
  /** pg_terminate_backend on every session of the database but `except`; answers how many were signalled. */
  terminateAll(except?: readonly number[]): Promise<number>;
  close(): Promise<void>;
}

export async function observeDatabase(serverUrl: string, databaseUrl: string): Promise<DatabaseObserver> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: serverUrl });
  client.on('error', () => undefined);
  await client.connect();
  const count = async (where: string, parameters: unknown[]): Promise<number> => {
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and not (pid = any($2::int[])) and ${where}`,
      [name, ...parameters],
    );
    return rows[0]!.n;
  };
  return {
    lockWaiters: (except = []) => count(`wait_event_type = 'Lock'`, [[...except]]),
    sessions: (state, except = []) => (state === undefined ? count('true', [[...except]]) : count('state = $3', [[...except], state])),
    terminateAll: async (except = []) => {
      const { rows } = await client.query<{ n: number }>(
        'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and not (pid = any($2::int[]))',
        [name, [...except]],
      );
      return rows[0]!.n;
    },
    close: () => client.end(),
  };
}
