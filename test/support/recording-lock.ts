import type { Lease, LockOptions, LockPort } from '../../core/ports/lock.port.js';

/** Remembers every lock call (keys and wait policy), to show which keys a use case takes, and that a refused request takes none. */
export class RecordingLock implements LockPort {
  readonly calls: { readonly keys: string[]; readonly wait: LockOptions['wait']['kind'] }[] = [];

  constructor(private readonly inner: LockPort) {}

  withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>, options: LockOptions): Promise<T> {
    this.calls.push({ keys: [...keys].sort(), wait: options.wait.kind });
    return this.inner.withLock(keys, work, options);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}
