import { requireId } from '../../domain/validation.js';
import type { Clock } from '../../ports/clock.port.js';
import type { IdGenerator } from '../../ports/id-generator.port.js';
import type { QueuePort } from '../../ports/queue.port.js';
import type { AdmissionRate } from './admission-rate.js';
import type { QueueTokenView } from './get-current-token.js';
import { queueTokenView } from './get-current-token.js';
import { QueueEta } from './queue-eta.js';
import type { QueueSettings } from './queue-settings.js';

export interface IssueTokenInput {
  /** From the verified access token: a user queues only themselves. */
  readonly userId: string;
}

export interface IssueTokenOutput {
  /** False when the user already had a live token: `view` is that token. */
  readonly created: boolean;
  readonly view: QueueTokenView;
}

/**
 * Puts a user in line. The token is drawn before the call and dropped if the
 * user already has a live one: the queue decides atomically, so two requests
 * of one user racing still end with one token. Asking again counts as
 * presence, as GetCurrentToken does.
 */
export class IssueToken {
  private readonly eta: QueueEta;

  constructor(
    private readonly queue: QueuePort,
    private readonly tokens: IdGenerator,
    private readonly clock: Clock,
    rate: AdmissionRate,
    settings: QueueSettings,
  ) {
    this.eta = new QueueEta(rate, settings);
  }

  async execute(input: IssueTokenInput): Promise<IssueTokenOutput> {
    requireId('userId', input.userId);
    const issued = await this.queue.issue(input.userId, this.tokens.next(), this.clock.now());
    return { created: issued.created, view: queueTokenView(issued.token, issued.state, this.eta) };
  }
}
