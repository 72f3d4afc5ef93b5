import { TokenInvalidError, TokenNotActiveError } from '../../domain/errors.js';
import type { LiveTokenState } from '../../domain/queue.js';
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
 * What the payment route's guard lets through: an ACTIVE token, or a token a
 * payment already spent, which may only replay that payment's stored answer.
 */
export type PaymentToken =
  | (ActiveToken & { readonly spent: false })
  | { readonly token: string; readonly userId: string; readonly spent: true };

/**
 * The guard in front of reserving and paying: the queue token (the
 * `Queue-Token` header) must be ACTIVE and the caller's own. Answers it, or
 * TOKEN_REQUIRED (none sent), TOKEN_INVALID (unknown, malformed, expired,
 * spent, or another user's), TOKEN_NOT_ACTIVE (still waiting). Another
 * user's token is refused exactly as an unknown one, before its state is
 * told: a token picked up from someone else reveals neither that it is live
 * nor its place in line. Expiry is exact: a token is refused from its
 * `expiresAt` on, whether or not an admission round has removed it yet.
 */
export class RequireActiveToken {
  constructor(
    private readonly queue: QueuePort,
    private readonly clock: Clock,
  ) {}

  async execute(token: string | undefined, userId: string): Promise<ActiveToken> {
    const checked = requireTokenFormat(token);
    const state = await this.queue.status(checked, this.clock.now());
    if (state === undefined || state.status === 'SPENT' || state.userId !== userId) throw new TokenInvalidError();
    return active(checked, state);
  }

  /**
   * The payment route's guard: as `execute`, except that a SPENT token of
   * the caller's is let through, marked `spent`, when the request carries an
   * Idempotency-Key. Such a request may only replay the stored answer of the
   * payment that spent the token (PayReservation refuses anything else,
   * TOKEN_INVALID): so a client whose answer was lost can retry with the
   * token it had. Without a key, a SPENT token is TOKEN_INVALID, as
   * everywhere else.
   */
  async executeForPayment(token: string | undefined, userId: string, idempotencyKey: string | undefined): Promise<PaymentToken> {
    const checked = requireTokenFormat(token);
    const state = await this.queue.status(checked, this.clock.now());
    if (state === undefined || state.userId !== userId) throw new TokenInvalidError();
    if (state.status === 'SPENT') {
      if (idempotencyKey === undefined) throw new TokenInvalidError();
      return { token: checked, userId: state.userId, spent: true };
    }
    return { ...active(checked, state), spent: false };
  }
}

function active(token: string, state: LiveTokenState): ActiveToken {
  if (state.status === 'WAITING') throw new TokenNotActiveError(state.position);
  return { token, userId: state.userId, expiresAt: state.expiresAt };
}
