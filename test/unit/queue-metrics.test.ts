import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { admissionCounters, registerQueueGauges } from '../../app/observability/queue-metrics.js';
import { DependencyUnavailableError } from '../../core/domain/errors.js';
import { ManualClock } from '../support/manual-clock.js';

describe('queue metrics', () => {
  it('reads queue_waiting and queue_active from the queue on every scrape', async () => {
    const clock = new ManualClock();
    const queue = new MemoryQueue();
    const registry = new Registry();
    registerQueueGauges(registry, queue, clock);
    for (const user of ['a', 'b', 'c']) await queue.issue(user, `token-of-${user}-0000000000`, clock.now());
    expect(await registry.metrics()).toMatch(/^queue_waiting 3$/m);
    await queue.admit(clock.now(), { activeMax: 2, activeTtlMs: 1_000, presenceTimeoutMs: 60_000 });
    const text = await registry.metrics();
    expect(text).toMatch(/^queue_waiting 1$/m);
    expect(text).toMatch(/^queue_active 2$/m);
    clock.advance(1_000);
    expect(await registry.metrics()).toMatch(/^queue_active 0$/m);
  });

  it('still answers a scrape when the queue is down, keeping the last values', async () => {
    const clock = new ManualClock();
    class FlakyQueue extends MemoryQueue {
      down = false;
      override counts(now: Date) {
        return this.down ? Promise.reject(new DependencyUnavailableError('queue')) : super.counts(now);
      }
    }
    const queue = new FlakyQueue();
    const registry = new Registry();
    registerQueueGauges(registry, queue, clock);
    await queue.issue('a', 'token-of-a-0000000000', clock.now());
    expect(await registry.metrics()).toMatch(/^queue_waiting 1$/m);
    queue.down = true;
    expect(await registry.metrics()).toMatch(/^queue_waiting 1$/m);
  });

  it('counts what admission rounds did', async () => {
    const registry = new Registry();
    const counters = admissionCounters(registry);
    counters.record({ admitted: 3, expired: 1, dropped: 4, waiting: 0, admittedTotal: 3 });
    counters.record({ admitted: 2, expired: 0, dropped: 7, waiting: 0, admittedTotal: 5 });
    const text = await registry.metrics();
    expect(text).toMatch(/^queue_admitted_total 5$/m);
    expect(text).toMatch(/^queue_expired_total 1$/m);
    expect(text).toMatch(/^queue_dropped_total 11$/m);
  });

  it('counts the waiters a real round drops for absence', async () => {
    const clock = new ManualClock();
    const queue = new MemoryQueue();
    const registry = new Registry();
    const counters = admissionCounters(registry);
    for (const user of ['a', 'b', 'c']) await queue.issue(user, `token-of-${user}-0000000000`, clock.now());
    clock.advance(1_000);
    await queue.current('c', clock.now());
    clock.advance(500);
    counters.record(await queue.admit(clock.now(), { activeMax: 0, activeTtlMs: 1_000, presenceTimeoutMs: 1_000 }));
    expect(await registry.metrics()).toMatch(/^queue_dropped_total 2$/m);
  });
});
