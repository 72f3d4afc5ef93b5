import type { Lease, LockPort } from '../../core/ports/lock.port.js';

/** A lock that excludes nothing: property tests use it to show what the database guards hold on their own, and what breaks without them. */
export class NoopLock implements LockPort {
  async withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>): Promise<T> {
    return work({ signal: new AbortController().signal, fencingTokens: new Map(keys.map((key) => [key, 0])) });
  }

  async ping(): Promise<void> {}
}
