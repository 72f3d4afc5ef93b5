import { TokenInvalidError, TokenRequiredError } from './errors.js';

/** Where a live queue token stands. A token that is in neither state is not live (never issued, expired, or spent: see TokenState). */
export type LiveTokenState =
  | { readonly status: 'WAITING'; readonly userId: string; /** 1-based: 1 is next in line. */ readonly position: number }
  | { readonly status: 'ACTIVE'; readonly userId: string; readonly expiresAt: Date };

/**
 * What a token lookup answers: a live state, or SPENT for an ACTIVE token
 * that payment ended (`QueuePort.expire`) before its own expiry. A SPENT
 * token still names its user until that expiry, but it is not live: it holds
 * no slot, never becomes ACTIVE again, and its user may take a new token. It
 * is kept only so that a payment retried with it may replay its stored answer.
 */
export type TokenState = LiveTokenState | { readonly status: 'SPENT'; readonly userId: string };

/** A user's live token, as `QueuePort.current` answers it. */
export interface LiveToken {
  readonly token: string;
  readonly state: LiveTokenState;
}

export interface IssuedToken extends LiveToken {
  /** False when the user already had a live token: this is that token, unchanged. */
  readonly created: boolean;
}

/** What one admission round applies (QUEUE_* in API.md, in ms). */
export interface AdmissionRules {
  /** Tokens ACTIVE at once, at most. */
  readonly activeMax: number;
  /** How long a newly ACTIVE token lives. */
  readonly activeTtlMs: number;
  /** A WAITING token not seen for this long is dropped before admission. */
  readonly presenceTimeoutMs: number;
}

export interface AdmissionResult {
  /** Waiters this round promoted to ACTIVE. */
  readonly admitted: number;
  /** ACTIVE tokens this round found past their expiry and dropped. */
  readonly expired: number;
  /** WAITING tokens this round dropped because their users stopped asking (presence timed out). */
  readonly dropped: number;
  /** Waiters left in line after the round: more than 0 means the round was capacity-bound. */
  readonly waiting: number;
  /** Tokens ever admitted by any instance: a counter shared by every instance, to measure the admission rate. */
  readonly admittedTotal: number;
}

export interface QueueCounts {
  readonly waiting: number;
  /** ACTIVE tokens not yet expired at the given time. */
  readonly active: number;
}

/**
 * What a token looks like on the wire: the generator makes 22 base64url
 * characters (128 random bits); the bound keeps junk out of storage keys.
 */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * The token a request carries, checked before any lookup: none (or an empty
 * one) is TOKEN_REQUIRED; one that cannot be a token is TOKEN_INVALID, like an
 * unknown one, so that probing learns nothing from the answer.
 */
export function requireTokenFormat(token: string | undefined): string {
  if (token === undefined || token === '') throw new TokenRequiredError();
  if (!TOKEN_PATTERN.test(token)) throw new TokenInvalidError();
  return token;
}
