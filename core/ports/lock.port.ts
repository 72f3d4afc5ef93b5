/**
 * What a caller holds while its work runs under the lock.
 */
export interface Lease {
  /** Fires when any of the keys is lost (lease expired, key taken away). Work must stop: the transaction rolls back. */
  readonly signal: AbortSignal;
  /** A number per key that grows with every acquisition of that key, for writes that must reject a stale holder. */
  readonly fencingTokens: ReadonlyMap<string, number>;
}

/** How long to wait for a held key. */
export type WaitPolicy =
  /** One attempt: a contended key answers LOCK_BUSY at once (a seat another buyer holds). */
  | { readonly kind: 'fail-fast' }
  /** Keep trying for at most `maxWaitMs` (a user's own charges queue up). */
  | { readonly kind: 'wait'; readonly maxWaitMs: number };

export interface LockOptions {
  readonly wait: WaitPolicy;
  /** Lease length; the lock is refreshed while work runs, and lost only if refreshing stops for this long. */
  readonly leaseMs?: number;
}

export interface LockPort {
  /**
   * Sorts and de-duplicates `keys`, acquires them one by one in that order
   * (so two multi-key callers cannot deadlock), runs `work`, then releases
   * every key, also when `work` throws.
   *
   * Rejects with `LockBusyError` when a key cannot be had within the wait
   * policy (keys already taken are released first), with
   * `DependencyUnavailableError` when the lock service is down.
   */
  withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>, options: LockOptions): Promise<T>;

  /** Answers when the lock service is reachable; throws otherwise. */
  ping(): Promise<void>;
}
