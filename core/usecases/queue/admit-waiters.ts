import type { AdmissionResult } from '../../domain/queue.js';
import type { Clock } from '../../ports/clock.port.js';
import type { QueuePort } from '../../ports/queue.port.js';
import type { AdmissionRate } from './admission-rate.js';
import type { QueueSettings } from './queue-settings.js';

/**
 * One admission round, run by every instance every admission interval: the
 * queue drops expired ACTIVE tokens and promotes waiters in arrival order up
 * to the limit, atomically, so instances running it at once cannot over-admit.
 * The result feeds the admission rate that waiters' ETAs come from.
 */
export class AdmitWaiters {
  constructor(
    private readonly queue: QueuePort,
    private readonly clock: Clock,
    private readonly rate: AdmissionRate,
    private readonly settings: Pick<QueueSettings, 'activeMax' | 'activeTtlMs'>,
  ) {}

  async execute(): Promise<AdmissionResult> {
    const now = this.clock.now();
    const result = await this.queue.admit(now, this.settings.activeMax, this.settings.activeTtlMs);
    this.rate.record(result, now);
    return result;
  }
}
