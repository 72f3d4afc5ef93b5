import { IdempotencyInProgressError, IdempotencyKeyReusedError, LockBusyError } from '../domain/errors.js';
import { lockKeys } from '../keys.js';
import type { LockPort } from '../ports/lock.port.js';
import type { UnitOfWork } from '../ports/transaction.port.js';

/** A request that carried an Idempotency-Key, scoped to who and what it acts on. */
export interface IdempotentRequest {
  readonly scope: string;
  readonly key: string;
  /** The request body in a canonical form: the same key with another body is refused. */
  readonly fingerprint: string;
}

export function idempotentRequest(scope: string, key: string | undefined, body: Record<string, unknown>): IdempotentRequest | undefined {
  if (key === undefined) return undefined;
  const canonical = Object.fromEntries(Object.entries(body).sort(([a], [b]) => a.localeCompare(b)));
  return { scope, key, fingerprint: JSON.stringify(canonical) };
}

/** How long a client should wait before retrying a request that is still running. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Holds the key's own lock, fail-fast, for the whole request: a second
 * request with the same key while the first runs answers
 * IDEMPOTENCY_IN_PROGRESS at once instead of queueing behind it.
 */
export async function guardInFlight<T>(lock: LockPort, request: IdempotentRequest | undefined, work: () => Promise<T>): Promise<T> {
  if (request === undefined) return work();
  const key = lockKeys.idempotency(request.scope, request.key);
  try {
    return await lock.withLock([key], work, { wait: { kind: 'fail-fast' } });
  } catch (error) {
    if (error instanceof LockBusyError && error.key === key) throw new IdempotencyInProgressError(RETRY_AFTER_SECONDS);
    throw error;
  }
}

/**
 * Inside the transaction, before any write: claims the key (a unique index
 * guards it, lock or no lock). Answers the stored response when the key was
 * used before with the same body, throws when it was used with another one,
 * and answers undefined when this request owns the key and must call
 * `uow.idempotency.complete` with its answer before commit.
 */
export async function claimOrReplay<T>(uow: UnitOfWork, request: IdempotentRequest | undefined): Promise<T | undefined> {
  if (request === undefined) return undefined;
  const result = await uow.idempotency.claim(request);
  if (result.claimed) return undefined;
  if (result.existing.fingerprint !== request.fingerprint) throw new IdempotencyKeyReusedError();
  return result.existing.response as T;
}
