/**
 * Every time bound of the service, in one place, each with why it has its
 * value. They are not independent: the rule they serve is that the work
 * under a lock ends (commit, rollback, 503 or 409) before the lock's lease
 * could be lost, whatever a dependency does, so that nothing ever commits
 * unprotected and no request hangs. test/unit/time-bounds.test.ts checks
 * every relation stated here, so a change that breaks one fails the suite.
 *
 * Not environment variables on purpose: each value is derived from the
 * lease and from the others, and a knob for one of them alone could
 * silently break a relation. Change them here, together.
 */

/**
 * The lock's lease: app/container.ts gives it to both LockPort adapters
 * (adapters/redis/redis-lock.ts and adapters/memory/memory-lock.ts,
 * `defaultLeaseMs`), 10 s. A lease is refreshed every third of it while
 * work runs, and lost only if refreshing fails for this long (Redis gone,
 * the process paused).
 */
export const LOCK_LEASE_MS = 10_000;

/** How often a held lease is refreshed (both adapters: a third of the lease). */
export const LOCK_REFRESH_INTERVAL_MS = Math.floor(LOCK_LEASE_MS / 3);

/**
 * How long a write waits for keys another request holds: the wallet's
 * (charge, pay) and the buyer's own (reserve). app/container.ts passes it
 * to each use case (`lockWaitMs`, `userLockWaitMs`, `walletWaitMs`). Not under a lock yet, so it does not count
 * against the lease; it counts against the request.
 */
export const LOCK_WAIT_MS = 2_000;

/** One Redis command, sent or queued (adapters/redis/create-redis.ts, `commandTimeout`). */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;

/**
 * Waiting for a pooled Postgres connection, a new one's TCP connect and
 * startup included (pg-pool `connectionTimeoutMillis`). A transaction under
 * a lock waits for its connection like everyone else, so this is part of
 * the work under the lock. 2 s: a local or same-region server connects in
 * milliseconds; a pool with no free connection for 2 s is overloaded, and
 * a 503 then is better than a lock held while waiting.
 */
export const DB_CONNECT_TIMEOUT_MS = 2_000;

/**
 * Postgres `lock_timeout`: the longest one statement waits for a row (or
 * table, or advisory) lock. Under the application's lock a row is never
 * contended by the service itself (every writer of a row takes its key
 * first), so a wait means a session that skipped the lock (an operator's
 * transaction, a stuck job): 1 s is plenty for a legitimate one. Below
 * `statement_timeout`, so that a lock wait ends as 55P03 lock_not_available,
 * which is 409 LOCK_BUSY ("busy, try again"), not as a statement timeout.
 */
export const DB_LOCK_TIMEOUT_MS = 1_000;

/**
 * Postgres `statement_timeout`: the longest one statement runs, waits
 * included. Every statement of the service is a point read or write, or a
 * read of one schedule's seats (at most 1,000 rows), taking milliseconds;
 * 1.5 s is two orders of magnitude above that under load. A statement
 * ended by it answers 57014 query_canceled: 503 SERVICE_UNAVAILABLE.
 */
export const DB_STATEMENT_TIMEOUT_MS = 1_500;

/**
 * pg's client-side `query_timeout`: the longest the client waits for an
 * answer to one query. For when the server does not answer at all (a
 * black-holed network, a frozen server), where `statement_timeout` cannot
 * help. Above `statement_timeout` by 500 ms, so that with a live server its
 * own cancel (a clean error on a connection that stays usable) always comes
 * first. A connection whose query timed out here is destroyed at once
 * (adapters/kysely/create-kysely.ts), never reused.
 */
export const DB_QUERY_TIMEOUT_MS = DB_STATEMENT_TIMEOUT_MS + 500;

/**
 * No statement of a transaction starts later than this after the
 * transaction was asked for (KyselyTransactionManager's `budgetMs`);
 * statement timeouts alone would let a transaction of many slow statements
 * run as long as their sum. 4 s is a hundred times a payment's transaction
 * under load. A transaction past it rolls back with 503.
 */
export const DB_TRANSACTION_BUDGET_MS = 4_000;

/**
 * The longest a transaction can take, from asking for a connection to its
 * COMMIT or ROLLBACK being answered, when every bound above is hit in the
 * worst order: its statements start within the budget (or the first one is
 * refused once connecting and BEGIN took longer), the last one runs up to
 * the query timeout, then COMMIT or ROLLBACK up to the query timeout again.
 * (A query that times out destroys its connection, so the ROLLBACK after it
 * fails at once.) 8 s, below the 10 s lease: the work under a lock always
 * ends before its lease could be lost.
 */
export const DB_TRANSACTION_MAX_MS = Math.max(DB_TRANSACTION_BUDGET_MS, DB_CONNECT_TIMEOUT_MS + DB_QUERY_TIMEOUT_MS) + 2 * DB_QUERY_TIMEOUT_MS;

/**
 * Postgres `idle_in_transaction_session_timeout`: the server ends a session
 * whose transaction sat idle this long. The service awaits nothing but the
 * database inside a transaction, so a gap between two statements is event
 * loop lag (milliseconds); an idle transaction means its process is frozen
 * (SIGSTOP, a long GC pause, a debugger) or a bug leaked it. The server then
 * releases the row locks it held and its late COMMIT fails, and it does so
 * before the frozen holder's lease can end: the last refresh may have been
 * up to a refresh interval before its last statement, so the lease can end
 * as early as lease - refresh interval (6.7 s) after it. 5 s is below that,
 * and far above any real gap.
 */
export const DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = 5_000;

/**
 * TCP keepalive on pooled connections (pg `keepAliveInitialDelayMillis`):
 * the first probe after this much silence. It keeps an idle connection alive
 * through NATs and load balancers that drop silent flows after minutes (the
 * usual origin of a black-holed connection), and lets the kernel find a
 * vanished peer. It does not bound a request (Linux then probes every 75 s):
 * the query timeout does.
 */
export const DB_KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/**
 * The longest a request can legitimately take, each step at its bound: a
 * read before the lock (connect + query), the Idempotency-Key's fail-fast
 * lock and the keys' wait (the last attempt a Redis command), the work under
 * the lock, the release, and after commit the cache invalidation (a read and
 * a Redis command) and the queue update (a Redis command).
 */
const REQUEST_WORST_CASE_MS =
  2 * (DB_CONNECT_TIMEOUT_MS + DB_QUERY_TIMEOUT_MS) + LOCK_WAIT_MS + DB_TRANSACTION_MAX_MS + 5 * REDIS_COMMAND_TIMEOUT_MS;

/**
 * The HTTP request timeout (adapters/http/request-timeout.ts): a request
 * still running after this answers 503. A backstop, not a bound of its own:
 * it sits above the worst case of the bounds inside (REQUEST_WORST_CASE_MS,
 * 23 s), so it fires only when some dependency call has no bound (a bug);
 * below it, a 503 could be followed by the work committing. Rounded up to
 * 25 s.
 */
export const HTTP_REQUEST_TIMEOUT_MS = Math.ceil((REQUEST_WORST_CASE_MS + 1) / 5_000) * 5_000;

/** For the relations test: the worst case the request timeout must stay above. */
export const HTTP_REQUEST_WORST_CASE_MS = REQUEST_WORST_CASE_MS;

/** What adapters/kysely/create-kysely.ts threads into every Postgres connection. */
export const DATABASE_TIME_BOUNDS = {
  connectTimeoutMs: DB_CONNECT_TIMEOUT_MS,
  statementTimeoutMs: DB_STATEMENT_TIMEOUT_MS,
  lockTimeoutMs: DB_LOCK_TIMEOUT_MS,
  idleInTransactionTimeoutMs: DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  queryTimeoutMs: DB_QUERY_TIMEOUT_MS,
  keepAliveInitialDelayMs: DB_KEEPALIVE_INITIAL_DELAY_MS,
} as const;

/*
 * Shutdown (SIGTERM, SIGINT: app/main.ts, app/server.ts, app/application.ts).
 * The whole stop fits in Docker's default grace period, 10 s between
 * SIGTERM and SIGKILL, so that `docker stop` never kills the process while
 * it still closes things in order.
 */

/**
 * Requests in flight get this long to finish after the signal; then their
 * connections are cut. At least DB_TRANSACTION_MAX_MS, so that a
 * transaction already running at the signal ends by its own bounds (commit
 * or rollback), not by the exit. A request still running then is cut: a
 * transaction it started after the signal rolls back when the process
 * exits, and its client retries (a write with the same Idempotency-Key).
 */
export const SHUTDOWN_DRAIN_MS = 8_000;

/**
 * Then the background jobs, Redis and the database pool get this long to
 * close. Above REDIS_COMMAND_TIMEOUT_MS, the longest Redis's QUIT waits. A
 * pool still waiting then for a connection that was never given back (a
 * query with no bound) is left behind: the process exits, and Postgres
 * rolls back the transaction of a connection that is gone.
 */
export const SHUTDOWN_CLOSE_MS = 1_500;

/** app/main.ts exits this long after the signal whatever is still pending (the two steps above plus slack): the documented bound. */
export const SHUTDOWN_EXIT_MS = 10_000;

/*
 * Migrations (app/application.ts, at start, before the port serves).
 * They run on a connection of their own, not under the request bounds:
 * a schema change on a large table takes longer than 1.5 s, and a replica
 * that starts while another migrates waits on Kysely's migration lock for
 * as long as that takes. Still bounded, so a start against a stuck
 * database fails with a clear error instead of hanging for ever.
 */

/** `statement_timeout` and `lock_timeout` of the migration connection. */
export const MIGRATION_STATEMENT_TIMEOUT_MS = 5 * 60_000;

export const MIGRATION_TIME_BOUNDS = {
  connectTimeoutMs: DB_CONNECT_TIMEOUT_MS,
  statementTimeoutMs: MIGRATION_STATEMENT_TIMEOUT_MS,
  lockTimeoutMs: MIGRATION_STATEMENT_TIMEOUT_MS,
  queryTimeoutMs: MIGRATION_STATEMENT_TIMEOUT_MS + 500,
  keepAliveInitialDelayMs: DB_KEEPALIVE_INITIAL_DELAY_MS,
} as const;
