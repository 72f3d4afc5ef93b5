import type { Clock } from '../../ports/clock.port.js';
import type { QueuePort } from '../../ports/queue.port.js';
import type { AdmissionRate } from './admission-rate.js';

/** The line as a whole, for anyone watching a sale: no user, no token. */
export interface QueueStats {
  readonly waiting: number;
  /** ACTIVE tokens not yet expired. */
  readonly active: number;
  /** Tokens admitted per minute while the line was backlogged (AdmissionRate), or null before there is such a span to measure. */
  readonly admittedPerMinute: number | null;
}

/**
 * How long the line is and how fast it moves: the same counts the queue
 * gauges read and the same rate the waiters' ETA uses, so a watcher sees
 * what a buyer in line is told. Two cheap reads (no scan of the line).
 */
export class GetQueueStats {
  constructor(
    private readonly queue: QueuePort,
    private readonly clock: Clock,
    private readonly rate: AdmissionRate,
  ) {}

  async execute(): Promise<QueueStats> {
    const { waiting, active } = await this.queue.counts(this.clock.now());
    const perMinute = this.rate.perInterval(60_000);
    return { waiting, active, admittedPerMinute: perMinute === undefined ? null : Math.round(perMinute * 10) / 10 };
  }
}
