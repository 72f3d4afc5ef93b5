import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { CacheOperation } from '../../adapters/redis/redis-cache.js';
import type { CacheEvent } from '../../core/ports/cache.port.js';
import type { BreakerState } from '../../core/support/circuit-breaker.js';

/** cache_events_total{event=hit|miss|error}: the hit ratio, and how often the cache was bypassed because it failed. */
export function cacheEventCounter(registry: Registry): (event: CacheEvent) => void {
  const counter = new Counter({
    name: 'cache_events_total',
    help: 'Catalog cache reads served (hit), loaded (miss), or bypassed because the cache failed (error).',
    labelNames: ['event'],
    registers: [registry],
  });
  return (event) => counter.inc({ event });
}

/** A number per state, so that a graph of the gauge shows when the cache was bypassed: 0 closed, 1 half-open, 2 open. */
const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * The Redis cache's circuit breaker: cache_breaker_state (0 closed,
 * 1 half-open, 2 open); cache_short_circuits_total{operation=read|store|invalidate},
 * the Redis calls it did not make (a read then went to the database; an
 * invalidation was kept for later); cache_invalidations_undelivered, those
 * kept and not yet delivered, read from `undelivered` at each scrape.
 */
export function cacheBreakerMetrics(
  registry: Registry,
  undelivered: () => number,
): { onStateChange: (state: BreakerState) => void; onShortCircuit: (operation: CacheOperation) => void } {
  const state = new Gauge({
    name: 'cache_breaker_state',
    help: 'The catalog cache circuit breaker: 0 closed (Redis used), 1 half-open (one probe), 2 open (Redis skipped).',
    registers: [registry],
  });
  state.set(BREAKER_STATE_VALUE.closed);
  const shortCircuits = new Counter({
    name: 'cache_short_circuits_total',
    help: 'Catalog cache Redis calls not made because the breaker was open, by operation (read, store, invalidate).',
    labelNames: ['operation'],
    registers: [registry],
  });
  new Gauge({
    name: 'cache_invalidations_undelivered',
    help: 'Catalog cache invalidations kept until Redis answers again (delivered before the next read from Redis).',
    registers: [registry],
    collect() {
      this.set(undelivered());
    },
  });
  return {
    onStateChange: (next) => state.set(BREAKER_STATE_VALUE[next]),
    onShortCircuit: (operation) => shortCircuits.inc({ operation }),
  };
}

/** cache_invalidation_failures_total: invalidations after a commit that could not be made in full (the write stands). */
export function cacheInvalidationFailureCounter(registry: Registry): () => void {
  const counter = new Counter({
    name: 'cache_invalidation_failures_total',
    help: 'Catalog cache invalidations after a committed write that could not be made in full; stale entries end on their TTL.',
    registers: [registry],
  });
  return () => counter.inc();
}
