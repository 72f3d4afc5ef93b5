import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { CacheEvent } from '../../core/ports/cache.port.js';

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
