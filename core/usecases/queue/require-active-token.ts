import { TokenInvalidError, TokenNotActiveError } from '../../domain/errors.js';
import { requireTokenFormat } from '../../domain/queue.js';
import type { Clock } from '../../ports/clock.port.js';
import type { QueuePort } from '../../ports/queue.port.js';

/** An ACTIVE token and the user it names: who may reserve and pay. */
export interface ActiveToken {
  readonly token: string;
  readonly userId: string;
  readonly expiresAt: Date;
}

/**
 * The guard in front of reserving and paying: answers the token's user, or
 * TOKEN_REQUIRED (none sent), TOKEN_INVALID (unknown, malformed or expired),
 * TOKEN_NOT_ACTIVE (still waiting). Expiry is exact: a token is refused from
 * its `expiresAt` on, whether or not an admission round has removed it yet.
 */
export class RequireActiveToken {
  constructor(
    private readonly queue: QueuePort,
    private readonly clock: Clock,
  ) {}

  async execute(token: string | undefined): Promise<ActiveToken> {
    const checked = requireTokenFormat(token);
    const state = await this.queue.status(checked, this.clock.now());
    if (state === undefined) throw new TokenInvalidError();
    if (state.status === 'WAITING') throw new TokenNotActiveError(state.position);
    return { token: checked, userId: state.userId, expiresAt: state.expiresAt };
  }
}
