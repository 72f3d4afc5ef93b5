import { TOKEN_PATTERN } from '../../domain/queue.js';
import type { QueuePort } from '../../ports/queue.port.js';

/**
 * Ends a token, freeing its ACTIVE slot for the next waiter at the next
 * admission round. Payment calls it once the sale has committed. Idempotent:
 * a token already gone (expired, spent, never issued) is fine.
 */
export class ExpireToken {
  constructor(private readonly queue: QueuePort) {}

  async execute(token: string): Promise<void> {
    if (!TOKEN_PATTERN.test(token)) return;
    await this.queue.expire(token);
  }
}
