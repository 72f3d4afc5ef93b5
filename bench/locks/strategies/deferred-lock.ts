/**
 * A LockPort that takes nothing itself: it hands its keys, with their wait
 * policy, to the transaction that the use case runs next (through async
 * context), so that a bench-only TransactionPort can lock the same keys in
 * the database (row locks, advisory locks) or in Redis but inside the
 * transaction (the first wrong order). The use cases stay as they ship.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Lease, LockOptions, LockPort, WaitPolicy } from '../../../core/ports/lock.port.js';

/** The keys of one `withLock` call: sorted and de-duplicated, as the real locks take them. */
export interface KeyGroup {
  readonly keys: readonly string[];
  readonly wait: WaitPolicy;
}

const pending = new AsyncLocalStorage<readonly KeyGroup[]>();

/** The key groups of the `withLock` calls around the caller, outermost first. */
export function pendingKeys(): readonly KeyGroup[] {
  return pending.getStore() ?? [];
}

/** A lease that is never lost: these strategies have no lease of their own (the database's locks end with the transaction). */
export function unlosableLease(keys: readonly string[]): Lease {
  return { signal: new AbortController().signal, fencingTokens: new Map(keys.map((key) => [key, 0])) };
}

export class DeferredLock implements LockPort {
  withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>, options: LockOptions): Promise<T> {
    const group: KeyGroup = { keys: [...new Set(keys)].sort(), wait: options.wait };
    return pending.run([...pendingKeys(), group], () => work(unlosableLease(keys)));
  }

  async ping(): Promise<void> {}
}
