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
]);

// Errors that pg, pg-pool, Kysely and PGlite raise with a message only, no code.
const UNAVAILABLE_MESSAGES = [
  'Connection terminated', // pg: server closed the socket; pg-pool: connect timeout
  'timeout exceeded when trying to connect', // pg-pool: no client free within connectionTimeoutMillis
  'is not queryable', // pg: client already broken or closed
  'Cannot use a pool after calling end on the pool',
  'driver has already been destroyed', // Kysely after destroy(): shutting down
  'PGlite is closed',
  'PGLite not initialized', // kysely-pglite-dialect after its PGlite was closed
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
 * 40P01 deadlock, 40001 serialization failure: Postgres rolled this
 * transaction back so that a concurrent one could go on. Only writers that
 * skip the application lock can meet it; the request may simply be retried.
 */
const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']);

/**
 * What a use case may see from this adapter: its own domain errors and
 * errors thrown by its work unchanged, an unreachable database as
 * `DependencyUnavailableError`, a deadlock victim as `LockBusyError` (409,
 * retry). Any other database error is a bug (bad SQL,
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
