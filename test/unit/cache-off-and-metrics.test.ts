import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PassThroughCache } from '../../adapters/system/pass-through-cache.js';
import { cacheMetrics } from '../../app/observability/cache-metrics.js';
import { cacheFamilyOf, cacheKeys } from '../../core/keys.js';

describe('the cache switched off (CACHE_ENABLED=false)', () => {
  it('loads on every read, counts each as a bypass and a load, and has nothing to invalidate', async () => {
    const registry = new Registry();
    const cache = new PassThroughCache(cacheMetrics(registry));
    let loads = 0;
    const read = { ttlMs: 60_000, version: 1 };
    const key = cacheKeys.seats('s1');
    for (let i = 1; i <= 3; i++) await expect(cache.getOrLoad(key, read, async () => ++loads)).resolves.toBe(i);
    await expect(cache.invalidate(key)).resolves.toBeUndefined();
    await expect(cache.getOrLoad(key, read, async () => ++loads)).resolves.toBe(4);
    const text = await registry.metrics();
    expect(text).toMatch(/^cache_events_total\{family="seats",event="bypass"\} 4$/m);
    expect(text).toMatch(/^cache_loads_total\{family="seats"\} 4$/m);
  });
});

describe('cache metrics by key family', () => {
  it('derives the family from the keys core/keys.ts makes, whatever the ids hold', () => {
    expect(cacheFamilyOf(cacheKeys.concerts())).toBe('concerts');
    expect(cacheFamilyOf(cacheKeys.schedules('schedule:x'))).toBe('schedules');
    expect(cacheFamilyOf(cacheKeys.seats('concert:y'))).toBe('seats');
    expect(cacheFamilyOf('something-else:1')).toBeUndefined();
  });

  it('labels events and loads by family, and any other key as other', async () => {
    const registry = new Registry();
    const metrics = cacheMetrics(registry);
    metrics.onEvent('hit', cacheKeys.concerts());
    metrics.onEvent('stale', cacheKeys.schedules('c1'));
    metrics.onEvent('stale', cacheKeys.schedules('c2'));
    metrics.onLoad(cacheKeys.seats('s1'));
    metrics.onEvent('miss', 'k');
    const text = await registry.metrics();
    expect(text).toMatch(/^cache_events_total\{family="concerts",event="hit"\} 1$/m);
    expect(text).toMatch(/^cache_events_total\{family="schedules",event="stale"\} 2$/m);
    expect(text).toMatch(/^cache_events_total\{family="other",event="miss"\} 1$/m);
    expect(text).toMatch(/^cache_loads_total\{family="seats"\} 1$/m);
  });
});
