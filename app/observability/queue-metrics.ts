import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { AdmissionResult } from '../../core/domain/queue.js';
import type { Clock } from '../../core/ports/clock.port.js';
import type { QueuePort } from '../../core/ports/queue.port.js';

/**
 * queue_waiting and queue_active, read from the queue when /metrics is
 * scraped (the queue is shared, so every instance reports the same totals).
 * When the queue cannot be read, the scrape still answers and the gauges
 * keep their last value; /health reports the outage.
 */
export function registerQueueGauges(registry: Registry, queue: QueuePort, clock: Clock): void {
  const gauge = (name: string, help: string, pick: (counts: { waiting: number; active: number }) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const counts = await queue.counts(clock.now()).catch(() => undefined);
        if (counts !== undefined) this.set(pick(counts));
      },
    });
  gauge('queue_waiting', 'Queue tokens waiting in line.', (counts) => counts.waiting);
  gauge('queue_active', 'Queue tokens ACTIVE and unexpired.', (counts) => counts.active);
}

/**
 * What this instance's admission rounds did: tokens admitted, expired tokens
 * dropped, and waiters dropped for absence (many of those mean waiters give
 * up, or clients that stop polling: the presence timeout may be too short).
 */
export function admissionCounters(registry: Registry): { record(result: AdmissionResult): void } {
  const admitted = new Counter({ name: 'queue_admitted_total', help: 'Queue tokens admitted by this instance.', registers: [registry] });
  const expired = new Counter({ name: 'queue_expired_total', help: 'Expired ACTIVE tokens dropped by this instance.', registers: [registry] });
  const dropped = new Counter({
    name: 'queue_dropped_total',
    help: 'WAITING tokens dropped by this instance because their users stopped asking for them.',
    registers: [registry],
  });
  return {
    record(result) {
      admitted.inc(result.admitted);
      expired.inc(result.expired);
      dropped.inc(result.dropped);
    },
  };
}
