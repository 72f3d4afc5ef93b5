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
 */
export class MemoryLock implements LockPort {
  private readonly holders = new Map<string, Holder>();
  private readonly fences = new Map<string, number>();
  private readonly releases = new Map<string, (() => void)[]>();
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

  private async acquire(key: string, holder: Holder, leaseMs: number, deadline: number): Promise<number> {
    for (;;) {
      const current = this.holders.get(key);
      const now = this.clock.now().getTime();
      if (current === undefined || current.expiresAt <= now) {
        // A lease that ran out is lost: its holder must stop before commit.
        current?.controller.abort();
        holder.expiresAt = now + leaseMs;
        this.holders.set(key, holder);
        const fence = (this.fences.get(key) ?? 0) + 1;
        this.fences.set(key, fence);
        return fence;
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
      const waiters = this.releases.get(key) ?? [];
      this.releases.delete(key);
      for (const wake of waiters) wake();
    }
  }

  private nextRelease(key: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      const waiters = this.releases.get(key) ?? [];
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.releases.set(key, waiters);
    });
  }
}
