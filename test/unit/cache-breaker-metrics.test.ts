import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { cacheBreakerMetrics, cacheInvalidationFailureCounter } from '../../app/observability/cache-metrics.js';

describe('cache breaker metrics', () => {
  it('shows the state as a number, counts short-circuits by operation, and reads the undelivered invalidations at each scrape', async () => {
    const registry = new Registry();
    let undelivered = 0;
    const metrics = cacheBreakerMetrics(registry, () => undelivered);
    expect(await registry.metrics()).toMatch(/^cache_breaker_state 0$/m);

    metrics.onStateChange('open');
    metrics.onShortCircuit('read');
    metrics.onShortCircuit('read');
    metrics.onShortCircuit('invalidate');
    undelivered = 2;
    let text = await registry.metrics();
    expect(text).toMatch(/^cache_breaker_state 2$/m);
    expect(text).toMatch(/^cache_short_circuits_total\{operation="read"\} 2$/m);
    expect(text).toMatch(/^cache_short_circuits_total\{operation="invalidate"\} 1$/m);
    expect(text).toMatch(/^cache_invalidations_undelivered 2$/m);

    metrics.onStateChange('half-open');
    expect(await registry.metrics()).toMatch(/^cache_breaker_state 1$/m);
    metrics.onStateChange('closed');
    undelivered = 0;
    text = await registry.metrics();
    expect(text).toMatch(/^cache_breaker_state 0$/m);
    expect(text).toMatch(/^cache_invalidations_undelivered 0$/m);
  });

  it('counts invalidations after commit that failed', async () => {
    const registry = new Registry();
    const failed = cacheInvalidationFailureCounter(registry);
    failed();
    failed();
    expect(await registry.metrics()).toMatch(/^cache_invalidation_failures_total 2$/m);
  });
});
