import type { AdmissionRate } from './admission-rate.js';
import type { QueueSettings } from './queue-settings.js';

/**
 * A waiter's ETA, the one place it is computed: ceil(position / admitted per
 * interval) × interval (DESIGN.md). Admitted per interval is the measured
 * rate while the line was backlogged (admissions only: waiters dropped for
 * absence are not counted, and positions are among the present, so the two
 * agree); before there is one, the most a round may admit
 * (QUEUE_ACTIVE_MAX). Never below the guaranteed rate: every ACTIVE token
 * expires within its TTL, so at least QUEUE_ACTIVE_MAX slots free up per
 * TTL even if nobody pays.
 */
export class QueueEta {
  constructor(
    private readonly rate: AdmissionRate,
    private readonly settings: Pick<QueueSettings, 'activeMax' | 'admitIntervalMs' | 'activeTtlMs'>,
  ) {}

  seconds(position: number): number {
    const { activeMax, admitIntervalMs, activeTtlMs } = this.settings;
    const guaranteed = (activeMax * admitIntervalMs) / activeTtlMs;
    const perInterval = Math.max(this.rate.perInterval(admitIntervalMs) ?? activeMax, guaranteed);
    return Math.ceil((Math.ceil(position / perInterval) * admitIntervalMs) / 1000);
  }
}
