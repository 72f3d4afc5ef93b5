import { DependencyUnavailableError, DomainError, LockBusyError } from '../../core/domain/errors.js';

// Node socket errors: the server cannot be reached or went away.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// SQLSTATEs that mean "the server cannot serve you now", not "your query is wrong".
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, in recovery)
  '53300', // too_many_connections
  '57014', // query_canceled: statement_timeout ended it (or an operator's pg_cancel_backend); the server is too slow now
  '25P03', // idle_in_transaction_session_timeout: the server ended a session whose transaction sat idle (its process froze)
]);

/** What pg rejects a query with when `query_timeout` passes without an answer. */
const QUERY_READ_TIMEOUT = 'Query read timeout';

/** True when pg gave up waiting for the answer to a query (`query_timeout`): the connection is in an unknown state. */
export function isClientQueryTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === QUERY_READ_TIMEOUT;
}

// Errors that pg, pg-pool, Kysely and PGlite raise with a message only, no code.
const UNAVAILABLE_MESSAGES = [
  'Connection terminated', // pg: server closed the socket; pg-pool: connect timeout
  'timeout exceeded when trying to connect', // pg-pool: no client free within connectionTimeoutMillis
  'is not queryable', // pg: client already broken or closed
  'Cannot use a pool after calling end on the pool',
  'driver has already been destroyed', // Kysely after destroy(): shutting down
  'PGlite is closed',
  'PGLite not initialized', // kysely-pglite-dialect after its PGlite was closed
  QUERY_READ_TIMEOUT, // pg's query_timeout: the server or the network did not answer
];

/** True when the error (or one it wraps) says the database cannot be reached, rather than that a query failed. */
export function isConnectionError(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const { code, message, cause, errors } = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    // Class 08: connection exception.
    if (code.length === 5 && code.startsWith('08')) return true;
  }
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((text) => message.includes(text))) return true;
  // Node reports a failed dual-stack connect as an AggregateError of one error per address.
  if (Array.isArray(errors) && errors.some((inner) => isConnectionError(inner, depth + 1))) return true;
  return isConnectionError(cause, depth + 1);
}

/** 23514: a CHECK constraint refused the row; the repositories turn it into the rule it guards. */
export function isCheckViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23514';
}

/**
 * 55P03 lock_not_available: a row lock stayed held past `lock_timeout`, by
 * a session that skipped the application lock (the service's own writers
 * take a resource's key before its row). Busy, like a held key: 409.
 */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * 40P01 deadlock, 40001 serialization failure: Postgres rolled this
 * transaction back so that a concurrent one could go on. Only writers that
 * skip the application lock can meet it; the request may simply be retried.
 * And 55P03, above.
 */
const RETRYABLE_SQLSTATES = new Set(['40P01', '40001', LOCK_NOT_AVAILABLE]);

/**
 * What a use case may see from this adapter: its own domain errors and
 * errors thrown by its work unchanged, an unreachable database as
 * `DependencyUnavailableError` (so is a statement ended by a time bound:
 * 57014, a client query timeout), a deadlock victim or a lock wait past
 * `lock_timeout` as `LockBusyError` (409, retry). Any other database error is a bug (bad SQL,
 * a constraint no repository expects) and stays as it is, so that it
 * surfaces as a 500 with its SQLSTATE, not as a 503 that invites retries.
 */
export function translateError(error: unknown): unknown {
  if (error instanceof DomainError) return error;
  if (isConnectionError(error)) return new DependencyUnavailableError('database', { cause: error });
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && RETRYABLE_SQLSTATES.has(code)) return new LockBusyError('database');
  return error;
}
