import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { STATUS_BY_CODE, toErrorResponse } from '../../adapters/http/error-mapper.js';
import {
  BalanceLimitExceededError,
  DependencyUnavailableError,
  DomainError,
  ForbiddenError,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  InsufficientPointsError,
  LeaseLostError,
  LockBusyError,
  NotFoundError,
  ReservationExpiredError,
  ReservationNotPendingError,
  SeatLimitReachedError,
  SeatUnavailableError,
  TokenInvalidError,
  TokenNotActiveError,
  TokenRequiredError,
  UnauthenticatedError,
  ValidationError,
} from '../../core/domain/errors.js';

describe('toErrorResponse', () => {
  it.each([
    [new ValidationError('amount', 'must be an integer'), 400],
    [new UnauthenticatedError(), 401],
    [new UnauthenticatedError('send Authorization: Bearer <ADMIN_TOKEN>'), 401],
    [new TokenRequiredError(), 401],
    [new TokenInvalidError(), 401],
    [new TokenNotActiveError(12), 403],
    [new ForbiddenError('not yours'), 403],
    [new NotFoundError('no such seat'), 404],
    [new SeatUnavailableError('s1', 7), 409],
    [new SeatLimitReachedError('s1', 4), 409],
    [new ReservationNotPendingError('r1', 'CONFIRMED'), 409],
    [new ReservationExpiredError('r1'), 409],
    [new InsufficientPointsError(10, 20), 409],
    [new BalanceLimitExceededError(100), 409],
    [new LockBusyError('seat:s1:7'), 409],
    [new IdempotencyKeyReusedError(), 409],
    [new LeaseLostError(), 503],
    [new DependencyUnavailableError('database'), 503],
  ])('maps %s to %i with its code and message', (error, status) => {
    const response = toErrorResponse(error);
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ error: { code: error.code, message: error.message } });
    expect(response.unexpected).toBe(false);
  });

  it('adds Retry-After to IDEMPOTENCY_IN_PROGRESS', () => {
    const response = toErrorResponse(new IdempotencyInProgressError(3));
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('IDEMPOTENCY_IN_PROGRESS');
    expect(response.headers).toEqual({ 'Retry-After': '3' });
  });

  it('covers every code of API.md', () => {
    const apiCodes = {
      400: ['VALIDATION_FAILED'],
      401: ['UNAUTHENTICATED', 'TOKEN_REQUIRED', 'TOKEN_INVALID'],
      403: ['TOKEN_NOT_ACTIVE', 'FORBIDDEN'],
      404: ['NOT_FOUND'],
      409: [
        'SEAT_UNAVAILABLE',
        'SEAT_LIMIT_REACHED',
        'RESERVATION_NOT_PENDING',
        'RESERVATION_EXPIRED',
        'INSUFFICIENT_POINTS',
        'BALANCE_LIMIT_EXCEEDED',
        'LOCK_BUSY',
        'IDEMPOTENCY_KEY_REUSED',
        'IDEMPOTENCY_IN_PROGRESS',
      ],
      503: ['SERVICE_UNAVAILABLE'],
    };
    for (const [status, codes] of Object.entries(apiCodes)) {
      for (const code of codes) expect(STATUS_BY_CODE[code as keyof typeof STATUS_BY_CODE], code).toBe(Number(status));
    }
  });

  // API.md lists 405 METHOD_NOT_ALLOWED (a known path with another method); the mapper has no such code yet.
  it('has 405 for METHOD_NOT_ALLOWED, as API.md lists it', () => {
    expect((STATUS_BY_CODE as Record<string, number>).METHOD_NOT_ALLOWED).toBe(405);
  });

  it('gives UNAUTHENTICATED one message whatever was wrong with the token, and SEAT_LIMIT_REACHED the limit', () => {
    expect(toErrorResponse(new UnauthenticatedError()).body.error.message).toMatch(/Authorization: Bearer/);
    expect(toErrorResponse(new SeatLimitReachedError('s1', 4)).body.error.message).toContain('4');
  });

  it("maps Hono's malformed JSON and wrong Content-Type to 400 VALIDATION_FAILED", () => {
    expect(toErrorResponse(new HTTPException(400, { message: 'Malformed JSON in request body' })).body.error).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'body: must be valid JSON',
    });
    expect(toErrorResponse(new HTTPException(415, { message: 'Unsupported Media Type' })).status).toBe(400);
  });

  it('answers 500 INTERNAL for anything else, without its message, and flags it for the log', () => {
    for (const error of [new Error('password=hunter2 at db'), new TypeError('x is undefined'), 'a string', undefined]) {
      const response = toErrorResponse(error);
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
      expect(response.unexpected).toBe(true);
    }
  });

  it('answers 500 for a domain error whose code has no status (a code added without its mapping)', () => {
    class NewError extends DomainError {
      readonly code = 'SOMETHING_NEW';
    }
    expect(toErrorResponse(new NewError('x'))).toMatchObject({ status: 500, unexpected: true });
  });
});
