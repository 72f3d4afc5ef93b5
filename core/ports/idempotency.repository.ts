/** A request that carried an Idempotency-Key, and (once done) its answer. */
export interface IdempotencyRecord {
  /** Who and what the key belongs to, e.g. `charge-points:u1`: keys are scoped, never global. */
  readonly scope: string;
  readonly key: string;
  /** The request body in canonical form, to refuse the same key with another body. */
  readonly fingerprint: string;
  /** The answer, replayed on a repeat. Set in the same transaction as the claim, so a committed record always has one. */
  readonly response: unknown;
}

export type ClaimResult = { readonly claimed: true } | { readonly claimed: false; readonly existing: IdempotencyRecord };

export interface IdempotencyRepository {
  /**
   * Inserts the key unless one with the same scope and key exists (a unique
   * index, so it holds without the lock). If another transaction is writing
   * the same key, waits for it to end, then answers with what it committed.
   */
  claim(request: { readonly scope: string; readonly key: string; readonly fingerprint: string }): Promise<ClaimResult>;

  /** Stores the answer of a claimed key, in the claiming transaction. */
  complete(scope: string, key: string, response: unknown): Promise<void>;

  /**
   * Deletes at most `limit` stored keys claimed at least `olderThanMs` ago,
   * oldest first, and answers how many it deleted. A key's age is judged
   * on the store's own clock, the one that stamped it when it was claimed
   * (Postgres `now()`), so that no clock skew between instances, nor a
   * test's clock, can make a young key look old.
   *
   * A key still in flight (claimed by a transaction that has not committed)
   * is never deleted: it is not visible yet. Rows another transaction holds
   * (another purger's batch) are skipped, not waited for, so several
   * purgers at once each take their own rows and each row goes once.
   */
  purgeOlderThan(olderThanMs: number, limit: number): Promise<number>;
}
