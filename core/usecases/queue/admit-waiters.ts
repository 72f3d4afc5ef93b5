import type { AdmissionResult } from '../../domain/queue.js';
import type { Clock } from '../../ports/clock.port.js';
import type { QueuePort } from '../../ports/queue.port.js';
import type { AdmissionRate } from './admission-rate.js';
import type { QueueSettings } from './queue-settings.js';

/**
 * One admission round, run by every instance every admission interval: the
 * queue drops expired ACTIVE tokens and waiters who stopped asking, then
 * promotes the present waiters in arrival order up to the limit, atomically,
 * so instances running it at once cannot over-admit nor admit a waiter who
 * has walked away. The result feeds the admission rate that waiters' ETAs
 * come from.
 */
export class AdmitWaiters {
  constructor(
    private readonly queue: QueuePort,
    private readonly clock: Clock,
    private readonly rate: AdmissionRate,
    private readonly settings: Pick<QueueSettings, 'activeMax' | 'activeTtlMs' | 'presenceTimeoutMs'>,
  ) {}

  async execute(): Promise<AdmissionResult> {
    const now = this.clock.now();
    const { activeMax, activeTtlMs, presenceTimeoutMs } = this.settings;
    const result = await this.queue.admit(now, { activeMax, activeTtlMs, presenceTimeoutMs });
    this.rate.record(result, now);
    return result;
  }
}
