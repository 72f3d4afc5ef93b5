import { ValidationError } from './errors.js';

/**
 * The core validates its own inputs so that every adapter (HTTP, CLI, tests)
 * gets the same rules; the HTTP edge validates shapes before this.
 */
export function requireIntegerInRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value)) throw new ValidationError(field, 'must be an integer');
  if (value < min || value > max) throw new ValidationError(field, `must be from ${min} to ${max}`);
}

/** Ids and user ids: short, URL-safe, no spaces. Exported so the HTTP edge documents the same rule. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const ID_RULE = 'must be 1 to 64 letters, digits or _ . : -';

export function requireId(field: string, value: string): void {
  if (!ID_PATTERN.test(value)) {
    throw new ValidationError(field, ID_RULE);
  }
}

export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;
export const IDEMPOTENCY_KEY_RULE = 'must be 1 to 128 visible ASCII characters';

export function requireIdempotencyKey(value: string): void {
  if (!IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw new ValidationError('Idempotency-Key', IDEMPOTENCY_KEY_RULE);
  }
}
