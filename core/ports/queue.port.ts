import type { AdmissionResult, AdmissionRules, IssuedToken, LiveToken, QueueCounts, TokenState } from '../domain/queue.js';

/**
 * The waiting queue: a FIFO line of WAITING tokens and a bounded set of
 * ACTIVE ones. Time is always passed in (`now`), read by the caller from the
 * injected Clock, so that expiry is exact and tests move time instead of
 * sleeping. An ACTIVE token is live while `now < expiresAt`; a token that
 * `expire` spent is not live, but `status` still answers SPENT (and its user)
 * until that same instant.
 *
 * Every method is atomic with respect to every other call, from any
 * instance: callers never see a token between two states.
 * Every method rejects with `DependencyUnavailableError` when the store is down.
 */
export interface QueuePort {
  /**
   * Appends `candidate` for `userId` at the end of the line, unless the user
   * already has a live token: then answers that token with `created: false`
   * and `candidate` is dropped. One live token per user, also when two
   * requests of one user race. A user whose ACTIVE token has expired at
   * `now`, or was spent, gets the new one. Counts as presence: a WAITING
   * token, new or returned, is marked seen at `now`.
   */
  issue(userId: string, candidate: string, now: Date): Promise<IssuedToken>;

  /**
   * The user's live token (WAITING or ACTIVE at `now`), or undefined. Counts
   * as presence: a WAITING token is marked seen at `now`, so that admission
   * keeps it in line. O(log n).
   */
  current(userId: string, now: Date): Promise<LiveToken | undefined>;

  /**
   * The user leaves: a WAITING token is forgotten, an ACTIVE one frees its
   * slot at once (and is not kept as SPENT: nothing can be replayed with a
   * token given back). Nothing of it is left behind. Answers true when the
   * user had a live token at `now`.
   */
  leave(userId: string, now: Date): Promise<boolean>;

  /**
   * An ACTIVE token lives at least until `until`: its expiry becomes the
   * later of the two (a hold made near the token's end extends it to the
   * hold's end, never further). Answers false, changing nothing, when the
   * token is not ACTIVE at `now`.
   */
  extend(token: string, until: Date, now: Date): Promise<boolean>;

  /**
   * WAITING with its position, ACTIVE with its expiry, SPENT (with its user)
   * for a token `expire` ended while ACTIVE and whose ACTIVE expiry is still
   * after `now`, or undefined for any other token.
   */
  status(token: string, now: Date): Promise<TokenState | undefined>;

  /**
   * One admission round, atomic: drops ACTIVE tokens expired at `now`, drops
   * WAITING tokens last seen at or before `now - presenceTimeoutMs` (a
   * waiter who walked away; nothing of them is left), then promotes the
   * oldest remaining waiters, in arrival order, until `activeMax` are
   * ACTIVE; each expires at `now + activeTtlMs`. Safe to run from several
   * instances at once: never more than `activeMax` ACTIVE, no waiter
   * skipped or admitted twice, no absent waiter admitted. Costs
   * O(admitted + expired + dropped), not O(waiting).
   */
  admit(now: Date, rules: AdmissionRules): Promise<AdmissionResult>;

  /**
   * Ends a token, WAITING or ACTIVE, freeing its slot and its user at once
   * (the user may take a new token). A token ACTIVE at `now` becomes SPENT:
   * `status` keeps answering SPENT and its user until its ACTIVE expiry (the
   * store forgets it then, on its own: nothing outlives it), and it is never
   * live again. A WAITING token is simply forgotten. Answers true when the
   * token was live at `now`, false otherwise (unknown, expired, already spent).
   */
  expire(token: string, now: Date): Promise<boolean>;

  counts(now: Date): Promise<QueueCounts>;

  /** Answers when the store is reachable; throws otherwise. */
  ping(): Promise<void>;
}
