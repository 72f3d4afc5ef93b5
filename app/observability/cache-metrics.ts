import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { CacheOperation } from '../../adapters/redis/redis-cache.js';
import { cacheFamilyOf } from '../../core/keys.js';
import type { CacheObserver } from '../../core/ports/cache.port.js';
import type { BreakerState } from '../../core/support/circuit-breaker.js';

/** What a key outside the catalog's families (a test's) is labelled. */
const OTHER_FAMILY = 'other';

/**
 * cache_events_total{family,event}: per key family (concerts, schedules,
 * seats; from core/keys.ts), reads served fresh (hit), served stale while
 * one reader reloads (stale), loaded or waited for (miss), failed open
 * (error), or with the cache off (bypass). cache_loads_total{family}: the
 * loads each instance actually ran; summed over instances, the database
 * work of the read paths (the bench reads both).
 */
export function cacheMetrics(registry: Registry): Required<CacheObserver> {
  const events = new Counter({
    name: 'cache_events_total',
    help: 'Catalog cache reads by key family: served fresh (hit), served stale while one reader reloads (stale), loaded or waited for (miss), failed open (error), cache off (bypass).',
    labelNames: ['family', 'event'],
    registers: [registry],
  });
  const loads = new Counter({
    name: 'cache_loads_total',
    help: 'Database loads the catalog cache ran in this instance, by key family (misses, refreshes, reads that failed open or bypassed the cache).',
    labelNames: ['family'],
    registers: [registry],
  });
  const family = (key: string) => cacheFamilyOf(key) ?? OTHER_FAMILY;
  return {
    onEvent: (event, key) => events.inc({ family: family(key), event }),
    onLoad: (key) => loads.inc({ family: family(key) }),
  };
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
