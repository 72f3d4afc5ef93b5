import { LockBusyError } from '../../core/domain/errors.js';
import type { Clock } from '../../core/ports/clock.port.js';
import type { Lease, LockOptions, LockPort } from '../../core/ports/lock.port.js';
import type { Tick } from './tick.js';
import { immediateTick } from './tick.js';

interface Holder {
  readonly controller: AbortController;
  expiresAt: number;
}

export interface MemoryLockOptions {
  readonly tick?: Tick;
  readonly defaultLeaseMs?: number;
  /** How often a waiter looks again, besides being woken by a release (a lease may also end on the clock). */
  readonly retryIntervalMs?: number;
}

/**
 * An in-process LockPort for one instance (the embedded mode) and for
 * property tests. Leases end on the injected clock: the holder refreshes its
 * lease on a timer while work runs; if the clock passes the lease's end
 * first (a simulated pause), the lease is lost, its signal fires, and
 * another caller may take the key with a greater fencing token.
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
  /** Callers waiting for a key to be released; a key's entry goes when its last waiter does. */
  private readonly releases = new Map<string, Set<() => void>>();
  private readonly tick: Tick;
  private readonly defaultLeaseMs: number;
  private readonly retryIntervalMs: number;

  constructor(
    private readonly clock: Clock,
    options: MemoryLockOptions = {},
  ) {
    this.tick = options.tick ?? immediateTick;
    this.defaultLeaseMs = options.defaultLeaseMs ?? 10_000;
    this.retryIntervalMs = options.retryIntervalMs ?? 25;
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
    for (const callers of this.releases.values()) waiters += callers.size;
    return { keys: new Set([...this.holders.keys(), ...this.releases.keys()]).size, waiters };
  }

  private async acquire(key: string, holder: Holder, leaseMs: number, deadline: number): Promise<number> {
    for (;;) {
      const current = this.holders.get(key);
      const now = this.clock.now().getTime();
      if (current === undefined || current.expiresAt <= now) {
        // A lease that ran out is lost: its holder must stop before commit.
        current?.controller.abort();
        holder.expiresAt = now + leaseMs;
        this.holders.set(key, holder);
        return ++this.fence;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new LockBusyError(key);
      await this.nextRelease(key, Math.min(remaining, this.retryIntervalMs));
    }
  }

  private refresh(keys: readonly string[], holder: Holder, leaseMs: number): void {
    const now = this.clock.now().getTime();
    const lost = holder.expiresAt <= now || keys.some((key) => this.holders.get(key) !== holder);
    if (lost) {
      holder.controller.abort();
      return;
    }
    holder.expiresAt = now + leaseMs;
  }

  private release(keys: Iterable<string>, holder: Holder): void {
    for (const key of keys) {
      if (this.holders.get(key) !== holder) continue;
      this.holders.delete(key);
      for (const wake of [...(this.releases.get(key) ?? [])]) wake();
    }
  }

  /**
   * Resolves at the key's next release or after `timeoutMs`, whichever
   * comes first. Either way the waiter takes itself off the key, so a
   * waiter that gives up (or polls a key whose holder's lease ran out on
   * the clock) leaves nothing behind.
   */
  private nextRelease(key: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        const waiters = this.releases.get(key);
        waiters?.delete(wake);
        if (waiters?.size === 0) this.releases.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      timer.unref();
      const waiters = this.releases.get(key) ?? new Set();
      waiters.add(wake);
      this.releases.set(key, waiters);
    });
  }
}
