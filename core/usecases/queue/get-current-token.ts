import { NotFoundError } from '../../domain/errors.js';
import type { LiveTokenState } from '../../domain/queue.js';
import type { Clock } from '../../ports/clock.port.js';
import type { QueuePort } from '../../ports/queue.port.js';
import type { AdmissionRate } from './admission-rate.js';
import { QueueEta } from './queue-eta.js';
import type { QueueSettings } from './queue-settings.js';

/** A live queue token as its user sees it. */
export type QueueTokenView =
  | { readonly token: string; readonly status: 'WAITING'; readonly position: number; readonly etaSeconds: number }
  | { readonly token: string; readonly status: 'ACTIVE'; readonly expiresAt: Date };

/** The view of a live token: a waiter gets its ETA, an ACTIVE token its expiry. */
export function queueTokenView(token: string, state: LiveTokenState, eta: QueueEta): QueueTokenView {
  if (state.status === 'ACTIVE') return { token, status: 'ACTIVE', expiresAt: state.expiresAt };
  return { token, status: 'WAITING', position: state.position, etaSeconds: eta.seconds(state.position) };
}

/**
 * The caller's live token, by their user id (from the verified access
 * token: nobody can ask for another's). Asking is what keeps a waiter in
 * line: the queue marks a WAITING token seen in the same step, and a waiter
 * who stops asking for QUEUE_PRESENCE_TIMEOUT_SECONDS is dropped.
 */
export class GetCurrentToken {
  private readonly eta: QueueEta;

  constructor(
    private readonly queue: QueuePort,
    private readonly clock: Clock,
    rate: AdmissionRate,
    settings: QueueSettings,
  ) {
    this.eta = new QueueEta(rate, settings);
  }

  async execute(userId: string): Promise<QueueTokenView> {
    const live = await this.queue.current(userId, this.clock.now());
    // A spent, expired or dropped token is not live: to its user it is gone.
    if (live === undefined) throw new NotFoundError('you have no live queue token');
    return queueTokenView(live.token, live.state, this.eta);
  }
}
