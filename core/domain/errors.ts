/**
 * Expected business failures. Each class carries the stable `code` of
 * API.md; the HTTP edge maps codes to statuses in one place. Adapters throw
 * these (never their own exception types) so use cases stay framework-free.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
}

export class InsufficientPointsError extends DomainError {
  readonly code = 'INSUFFICIENT_POINTS';
  constructor(balance: number, needed: number) {
    super(`balance ${balance} is less than ${needed}`);
  }
}

export class BalanceLimitExceededError extends DomainError {
  readonly code = 'BALANCE_LIMIT_EXCEEDED';
  constructor(limit: number) {
    super(`a balance may not pass ${limit} points`);
  }
}

/**
 * No valid access token: none sent, malformed, expired, badly signed, or
 * signed with an algorithm this service does not accept. The message never
 * says which, so that a probe learns nothing from it.
 */
export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message = 'a valid access token is required: send Authorization: Bearer <access token>') {
    super(message);
  }
}

/** No queue token came with a request that needs one (no `Queue-Token` header). */
export class TokenRequiredError extends DomainError {
  readonly code = 'TOKEN_REQUIRED';
  constructor() {
    super('a queue token is required: send Queue-Token: <token>');
  }
}

/**
 * The queue token is unknown, malformed, expired, spent, or another user's:
 * the client must take a new one. One answer for all of them, so that a
 * token of someone else's reveals nothing about its user.
 */
export class TokenInvalidError extends DomainError {
  readonly code = 'TOKEN_INVALID';
  constructor() {
    super('the queue token is unknown, expired or not yours; take a new one');
  }
}

/** The queue token is real but still waiting: it may not reserve or pay yet. */
export class TokenNotActiveError extends DomainError {
  readonly code = 'TOKEN_NOT_ACTIVE';
  constructor(readonly position: number) {
    super(`the queue token is still waiting (position ${position})`);
  }
}

export class SeatUnavailableError extends DomainError {
  readonly code = 'SEAT_UNAVAILABLE';
  constructor(scheduleId: string, seatNo: number) {
    super(`seat ${seatNo} of schedule ${scheduleId} is held or sold`);
  }
}

/** The user already holds or has bought MAX_SEATS_PER_USER seats of this schedule. */
export class SeatLimitReachedError extends DomainError {
  readonly code = 'SEAT_LIMIT_REACHED';
  constructor(
    scheduleId: string,
    readonly limit: number,
  ) {
    super(`you already hold or have bought ${limit} seats of schedule ${scheduleId}, the most one buyer may`);
  }
}

export class ReservationNotPendingError extends DomainError {
  readonly code = 'RESERVATION_NOT_PENDING';
  constructor(reservationId: string, status: string) {
    super(`reservation ${reservationId} is ${status}, not PENDING`);
  }
}

export class ReservationExpiredError extends DomainError {
  readonly code = 'RESERVATION_EXPIRED';
  constructor(reservationId: string) {
    super(`the hold of reservation ${reservationId} has ended`);
  }
}

/** The lock could not be had: fail-fast found it held, or the bounded wait ran out. */
export class LockBusyError extends DomainError {
  readonly code = 'LOCK_BUSY';
  constructor(readonly key: string) {
    super(`resource ${key} is busy, try again`);
  }
}

/**
 * The lock's lease ended while work ran (Redis restart, a long pause). The
 * transaction under it was rolled back; nothing was written.
 */
export class LeaseLostError extends DomainError {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor() {
    super('the lock lease was lost before commit; nothing was written, retry');
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor() {
    super('this Idempotency-Key was used with another request');
  }
}

export class IdempotencyInProgressError extends DomainError {
  readonly code = 'IDEMPOTENCY_IN_PROGRESS';
  constructor(readonly retryAfterSeconds: number) {
    super('a request with this Idempotency-Key is still running');
  }
}

/** A dependency (database, Redis) is down. Nothing was half-written. */
export class DependencyUnavailableError extends DomainError {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(
    readonly dependency: 'database' | 'lock' | 'cache' | 'queue' | 'identity',
    options?: { cause?: unknown },
  ) {
    super(`${dependency} is unavailable`);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
