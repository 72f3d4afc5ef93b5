import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import { DomainError, IdempotencyInProgressError } from '../../core/domain/errors.js';
import { MethodNotAllowedError } from './method-not-allowed.js';
import type { ErrorBody } from './schemas.js';

/** Every error code of API.md and its status: the one place codes meet HTTP. */
export const STATUS_BY_CODE = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  TOKEN_REQUIRED: 401,
  TOKEN_INVALID: 401,
  TOKEN_NOT_ACTIVE: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  SEAT_UNAVAILABLE: 409,
  SEAT_LIMIT_REACHED: 409,
  RESERVATION_NOT_PENDING: 409,
  RESERVATION_EXPIRED: 409,
  INSUFFICIENT_POINTS: 409,
  BALANCE_LIMIT_EXCEEDED: 409,
  LOCK_BUSY: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof STATUS_BY_CODE;

export interface ErrorResponse {
  readonly status: ContentfulStatusCode;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;
  /** True when the error is not an expected one: a bug, to be logged with its stack. */
  readonly unexpected: boolean;
}

function isKnownCode(code: string): code is ErrorCode {
  return Object.hasOwn(STATUS_BY_CODE, code);
}

function answer(code: ErrorCode, message: string, headers: Record<string, string> = {}): ErrorResponse {
  return { status: STATUS_BY_CODE[code], body: { error: { code, message } }, headers, unexpected: code === 'INTERNAL' };
}

/** Headers an answer carries besides its body: when to retry, what a path allows. */
function headersOf(error: DomainError): Record<string, string> {
  if (error instanceof IdempotencyInProgressError) return { 'Retry-After': String(error.retryAfterSeconds) };
  if (error instanceof MethodNotAllowedError) return { Allow: error.allow.join(', ') };
  return {};
}

/**
 * Maps anything a handler throws to the API's error answer: domain errors by
 * their code; Hono's own 4xx (malformed JSON, wrong Content-Type) to
 * VALIDATION_FAILED, since the client sent something unreadable;
 * anything else to 500 INTERNAL without leaking its message.
 */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (error instanceof DomainError) {
    if (!isKnownCode(error.code)) return answer('INTERNAL', 'internal error');
    return answer(error.code, error.message, headersOf(error));
  }
  if (error instanceof HTTPException) {
    if (error.status === 404) return answer('NOT_FOUND', 'not found');
    if (error.status === 415) return answer('VALIDATION_FAILED', 'Content-Type: must be application/json');
    if (error.status === 400 && /json/i.test(error.message)) return answer('VALIDATION_FAILED', 'body: must be valid JSON');
    if (error.status < 500) return answer('VALIDATION_FAILED', error.message || 'bad request');
  }
  return answer('INTERNAL', 'internal error');
}
