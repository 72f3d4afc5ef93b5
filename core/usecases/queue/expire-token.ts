import { TOKEN_PATTERN } from '../../domain/queue.js';
import type { Clock } from '../../ports/clock.port.js';
import type { QueuePort } from '../../ports/queue.port.js';

/**
 * Spends a token, freeing its ACTIVE slot for the next waiter at the next
 * admission round and its user for a new token. Payment calls it once the
 * sale has committed. The queue keeps the spent token (SPENT, never live
 * again) until its own expiry, so that a payment retried with it can replay
 * its stored answer. Idempotent: a token already gone (expired, spent, never
 * issued) is fine.
 */
export class ExpireToken {
  constructor(
    private readonly queue: QueuePort,
    private readonly clock: Clock,
  ) {}

  async execute(token: string): Promise<void> {
    if (!TOKEN_PATTERN.test(token)) return;
    await this.queue.expire(token, this.clock.now());
  }
}
