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
}
