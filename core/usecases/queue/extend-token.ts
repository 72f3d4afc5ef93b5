import type { Clock } from '../../ports/clock.port.js';
import type { QueuePort } from '../../ports/queue.port.js';

/**
 * Keeps an ACTIVE token alive until `until` (the end of a hold its user just
 * made), so that a buyer is never left with a hold they cannot pay: a token
 * lives at least until its user's last hold ends, and no longer than the
 * later of that and its own expiry. Answers false when the token is no
 * longer ACTIVE (it was spent or expired meanwhile): nothing changes then.
 */
export class ExtendToken {
  constructor(
    private readonly queue: QueuePort,
    private readonly clock: Clock,
  ) {}

  async execute(token: string, until: Date): Promise<boolean> {
    return this.queue.extend(token, until, this.clock.now());
  }
}
