import type { IssuedToken } from '../../domain/queue.js';
import { requireId } from '../../domain/validation.js';
import type { Clock } from '../../ports/clock.port.js';
import type { IdGenerator } from '../../ports/id-generator.port.js';
import type { QueuePort } from '../../ports/queue.port.js';

export interface IssueTokenInput {
  readonly userId: string;
}

/**
 * Puts a user in line. The token is drawn before the call and dropped if the
 * user already has a live one: the queue decides atomically, so two requests
 * of one user racing still end with one token.
 */
export class IssueToken {
  constructor(
    private readonly queue: QueuePort,
    private readonly tokens: IdGenerator,
    private readonly clock: Clock,
  ) {}

  async execute(input: IssueTokenInput): Promise<IssuedToken> {
    requireId('userId', input.userId);
    return this.queue.issue(input.userId, this.tokens.next(), this.clock.now());
  }
}
