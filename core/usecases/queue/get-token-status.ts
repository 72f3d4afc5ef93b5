import { TokenInvalidError } from '../../domain/errors.js';
import { requireTokenFormat } from '../../domain/queue.js';
import type { Clock } from '../../ports/clock.port.js';
import type { QueuePort } from '../../ports/queue.port.js';
import type { AdmissionRate } from './admission-rate.js';
import type { QueueSettings } from './queue-settings.js';

export type TokenStatusOutput =
  | { readonly status: 'WAITING'; readonly position: number; readonly etaSeconds: number }
  | { readonly status: 'ACTIVE'; readonly expiresAt: Date };

/**
 * Where a token stands. A waiter's ETA is ceil(position / admitted per
 * interval) × interval (DESIGN.md). Admitted per interval is the measured
 * rate while the line was backlogged; before there is one, the most a round
 * may admit (QUEUE_ACTIVE_MAX). Never below the guaranteed rate: every
 * ACTIVE token expires within its TTL, so at least QUEUE_ACTIVE_MAX slots
 * free up per TTL even if nobody pays.
 */
export class GetTokenStatus {
  constructor(
    private readonly queue: QueuePort,
    private readonly clock: Clock,
    private readonly rate: AdmissionRate,
    private readonly settings: QueueSettings,
  ) {}

  async execute(token: string | undefined): Promise<TokenStatusOutput> {
    const state = await this.queue.status(requireTokenFormat(token), this.clock.now());
    // A spent token is not live: to the client it is gone, like an expired one.
    if (state === undefined || state.status === 'SPENT') throw new TokenInvalidError();
    if (state.status === 'ACTIVE') return { status: 'ACTIVE', expiresAt: state.expiresAt };
    return { status: 'WAITING', position: state.position, etaSeconds: this.etaSeconds(state.position) };
  }

  private etaSeconds(position: number): number {
    const { activeMax, admitIntervalMs, activeTtlMs } = this.settings;
    const guaranteed = (activeMax * admitIntervalMs) / activeTtlMs;
    const perInterval = Math.max(this.rate.perInterval(admitIntervalMs) ?? activeMax, guaranteed);
    return Math.ceil((Math.ceil(position / perInterval) * admitIntervalMs) / 1000);
  }
}
