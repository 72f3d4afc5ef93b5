import { LockBusyError } from '../../core/domain/errors.js';
import type { Clock } from '../../core/ports/clock.port.js';
import type { Lease, LockOptions, LockPort } from '../../core/ports/lock.port.js';
import type { Tick } from './tick.js';
import { immediateTick } from './tick.js';

interface Holder {
  readonly controller: AbortController;
  expiresAt: number;
}

/** A caller waiting for a key: handed the key (and its fencing token) by the release before it, or given up on at its deadline. */
interface Waiter {
  readonly holder: Holder;
  readonly leaseMs: number;
  readonly granted: (fence: number) => void;
  readonly deadline: NodeJS.Timeout;
}

export interface MemoryLockOptions {
  readonly tick?: Tick;
  readonly defaultLeaseMs?: number;
}

/**
 * An in-process LockPort for one instance (the embedded mode) and for
 * property tests. Leases end on the injected clock: the holder refreshes its
 * lease on a timer while work runs; if the clock passes the lease's end
 * first (a simulated pause), the lease is lost, its signal fires, and
 * another caller may take the key with a greater fencing token.
 *
 * Waiting is a queue, not a poll: a key that is released (or whose lease
 * its holder's refresh finds lost) goes straight to the first caller
 * waiting for it, in the order they started to wait. A caller that arrives
 * while others wait queues behind them (or, fail-fast, is refused), so no
 * waiter is overtaken and none starves while the key keeps changing hands.
 *
 * It keeps state only for keys someone holds or waits for: a long-running
 * embedded instance locks a new key for every seat, reservation and
 * wallet, and must not remember each one forever. Fencing tokens therefore
 * come from one counter for every key, as in the Redis lock: a token that
 * grows with every acquisition of any key grows with every acquisition of
 * each key, which is all a fence promises, and a forgotten key cannot
 * restart at 1.
 */
export class MemoryLock implements LockPort {
  private readonly holders = new Map<string, Holder>();
  /** The last fencing token handed out, for any key. */
  private fence = 0;
  /** Callers waiting for each key, first come first; a key's entry goes when its last waiter does. */
  private readonly queues = new Map<string, Waiter[]>();
  private readonly tick: Tick;
  private readonly defaultLeaseMs: number;

  constructor(
    private readonly clock: Clock,
    options: MemoryLockOptions = {},
  ) {
    this.tick = options.tick ?? immediateTick;
    this.defaultLeaseMs = options.defaultLeaseMs ?? 10_000;
  }

  async withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>, options: LockOptions): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const leaseMs = options.leaseMs ?? this.defaultLeaseMs;
    const holder: Holder = { controller: new AbortController(), expiresAt: 0 };
    const fencingTokens = new Map<string, number>();
    const deadline = Date.now() + (options.wait.kind === 'wait' ? options.wait.maxWaitMs : 0);
    try {
      for (const key of sorted) {
        await this.tick();
        fencingTokens.set(key, await this.acquire(key, holder, leaseMs, deadline));
      }
    } catch (error) {
      this.release(fencingTokens.keys(), holder);
      throw error;
    }
    const refresher = setInterval(() => this.refresh(sorted, holder, leaseMs), Math.max(1, Math.floor(leaseMs / 3)));
    refresher.unref();
    try {
      return await work({ signal: holder.controller.signal, fencingTokens });
    } finally {
      clearInterval(refresher);
      await this.tick();
      this.release(sorted, holder);
    }
  }

  async ping(): Promise<void> {}

  /** What it remembers: the keys it keeps any state for, and the callers waiting for one. Both 0 when no one holds or waits, whatever was locked before. For tests. */
  stateSize(): { readonly keys: number; readonly waiters: number } {
    let waiters = 0;
    for (const queue of this.queues.values()) waiters += queue.length;
    return { keys: new Set([...this.holders.keys(), ...this.queues.keys()]).size, waiters };
  }

  private acquire(key: string, holder: Holder, leaseMs: number, deadline: number): Promise<number> {
    const current = this.holders.get(key);
    if (current !== undefined && current.expiresAt <= this.clock.now().getTime()) {
      // A lease that ran out is lost: its holder must stop before commit, and the key goes to whoever waited longest.
      current.controller.abort();
      this.handOver(key);
    }
    if (!this.holders.has(key)) return Promise.resolve(this.grant(key, holder, leaseMs));
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.reject(new LockBusyError(key));
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(key) ?? [];
      const waiter: Waiter = {
        holder,
        leaseMs,
        granted: resolve,
        deadline: setTimeout(() => {
          this.leaveQueue(key, waiter);
          reject(new LockBusyError(key));
        }, remaining),
      };
      queue.push(waiter);
      this.queues.set(key, queue);
    });
  }

  private grant(key: string, holder: Holder, leaseMs: number): number {
    holder.expiresAt = this.clock.now().getTime() + leaseMs;
    this.holders.set(key, holder);
    return ++this.fence;
  }

  /** The key is free: the first waiter gets it now, before any caller that has not waited can look at it. */
  private handOver(key: string): void {
    this.holders.delete(key);
    const next = this.queues.get(key)?.[0];
    if (next === undefined) return;
    clearTimeout(next.deadline);
    this.leaveQueue(key, next);
    next.granted(this.grant(key, next.holder, next.leaseMs));
  }

  private leaveQueue(key: string, waiter: Waiter): void {
    const queue = this.queues.get(key);
    if (queue === undefined) return;
    const at = queue.indexOf(waiter);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.queues.delete(key);
  }

  private refresh(keys: readonly string[], holder: Holder, leaseMs: number): void {
    const now = this.clock.now().getTime();
    const lost = holder.expiresAt <= now || keys.some((key) => this.holders.get(key) !== holder);
    if (lost) {
      holder.controller.abort();
      // Keys it still has pass on now: a waiter must not wait out its deadline behind a lease that has ended.
      this.release(keys, holder);
      return;
    }
    holder.expiresAt = now + leaseMs;
  }

  private release(keys: Iterable<string>, holder: Holder): void {
    for (const key of keys) {
      if (this.holders.get(key) === holder) this.handOver(key);
    }
  }
}
