/**
 * Counts requests whose handlers are still running. Closing the server only
 * waits for connections; a handler whose client went away keeps running,
 * and must not find Redis and the database pool closed under it.
 */
export class InFlight {
  private running = 0;
  private waiters: (() => void)[] = [];

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      if (this.running === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  get count(): number {
    return this.running;
  }

  /** Resolves when no handler runs, or after `timeoutMs` (answers false then). */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.running === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
