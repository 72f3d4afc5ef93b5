import type { Registry } from 'prom-client';
import { Histogram } from 'prom-client';
import { LockBusyError } from '../../core/domain/errors.js';
import type { Lease, LockOptions, LockPort } from '../../core/ports/lock.port.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The families of a lock call: the part of each key before its first ':'
 * (`point:u1` → `point`), sorted and joined (`point+reservation+seat`).
 * A label per full key would make one time series per user or seat.
 */
export function keyFamily(keys: readonly string[]): string {
  const families = new Set(keys.map((key) => key.split(':', 1)[0] ?? key));
  return [...families].sort().join('+') || 'none';
}

/**
 * A LockPort decorator that times every call: wait (call → work starts, or
 * → refusal) labelled by outcome, and hold (work starts → keys released).
 */
export class InstrumentedLock implements LockPort {
  private readonly wait: Histogram<'family' | 'outcome'>;
  private readonly hold: Histogram<'family'>;

  constructor(
    private readonly inner: LockPort,
    registry: Registry,
  ) {
    this.wait = new Histogram({
      name: 'lock_wait_seconds',
      help: 'Time from asking for a lock to holding it (or being refused), by key family and outcome (acquired, busy, error).',
      labelNames: ['family', 'outcome'],
      buckets: BUCKETS,
      registers: [registry],
    });
    this.hold = new Histogram({
      name: 'lock_hold_seconds',
      help: 'Time a lock is held, from work start to release, by key family.',
      labelNames: ['family'],
      buckets: BUCKETS,
      registers: [registry],
    });
  }

  async withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>, options: LockOptions): Promise<T> {
    const family = keyFamily(keys);
    const asked = performance.now();
    let acquired: number | undefined;
    try {
      return await this.inner.withLock(
        keys,
        (lease) => {
          acquired = performance.now();
          this.wait.observe({ family, outcome: 'acquired' }, (acquired - asked) / 1000);
          return work(lease);
        },
        options,
      );
    } catch (error) {
      if (acquired === undefined) {
        const outcome = error instanceof LockBusyError ? 'busy' : 'error';
        this.wait.observe({ family, outcome }, (performance.now() - asked) / 1000);
      }
      throw error;
    } finally {
      if (acquired !== undefined) this.hold.observe({ family }, (performance.now() - acquired) / 1000);
    }
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}
