import { NotFoundError } from '../../domain/errors.js';
import type { Clock } from '../../ports/clock.port.js';
import type { QueuePort } from '../../ports/queue.port.js';

/**
 * The caller gives their token back: a waiter leaves the line, an ACTIVE
 * buyer frees their slot for the very next admission round (instead of
 * holding it until it expires). Nothing of the token is kept, so that it
 * can replay nothing. NOT_FOUND when the caller has no live token, so that
 * a client learns its token was already gone.
 */
export class LeaveQueue {
  constructor(
    private readonly queue: QueuePort,
    private readonly clock: Clock,
  ) {}

  async execute(userId: string): Promise<void> {
    if (!(await this.queue.leave(userId, this.clock.now()))) throw new NotFoundError('you have no live queue token');
  }
}
