/**
 * Service children that count their statements (serve-counted.ts), and the
 * readings the query report takes from them: the statement counts by
 * family, and the cache's counters from /metrics.
 */
import { fileURLToPath } from 'node:url';
import type { Child } from '../support.js';
import { startChild } from '../support.js';

const SERVE_COUNTED = fileURLToPath(new URL('./serve-counted.ts', import.meta.url));

export interface CountedService {
  readonly url: string;
  readonly child: Child;
  /** Statements sent so far, by family (statement-family.ts). */
  statements(): Promise<Record<string, number>>;
  metrics(): Promise<string>;
}

export async function startCounted(env: Record<string, string | undefined>): Promise<CountedService> {
  const child = await startChild(SERVE_COUNTED, env);
  const [url, counterPort] = child.url.split('#') as [string, string];
  return {
    url,
    child,
    statements: async () => (await (await fetch(`http://127.0.0.1:${counterPort}/`)).json()) as Record<string, number>,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
  };
}

/** Several services' statement counts added up, by family. */
export async function statementsOf(services: readonly CountedService[]): Promise<Record<string, number>> {
  const sum: Record<string, number> = {};
  for (const counts of await Promise.all(services.map((service) => service.statements()))) {
    for (const [family, n] of Object.entries(counts)) sum[family] = (sum[family] ?? 0) + n;
  }
  return sum;
}

export function subtract(after: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([family, n]) => [family, n - (before[family] ?? 0)]));
}

/** Cache counters summed over services: events[family][event] and loads[family]. */
export interface CacheCounters {
  readonly events: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly loads: Readonly<Record<string, number>>;
  /** The service exports cache_loads_total (the cluster-wide single-flight's metric). */
  readonly hasLoads: boolean;
}

/**
 * cache_events_total{family,event} and cache_loads_total{family}; a
 * service from before the family label counts as family `all`.
 */
export function parseCache(texts: readonly string[]): CacheCounters {
  const events: Record<string, Record<string, number>> = {};
  const loads: Record<string, number> = {};
  let hasLoads = false;
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const m = /^(cache_events_total|cache_loads_total)\{([^}]*)\} (\S+)$/.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
      const family = labels.family ?? 'all';
      const value = Number(m[3]);
      if (m[1] === 'cache_loads_total') {
        hasLoads = true;
        loads[family] = (loads[family] ?? 0) + value;
      } else {
        const byEvent = (events[family] ??= {});
        byEvent[labels.event ?? 'unknown'] = (byEvent[labels.event ?? 'unknown'] ?? 0) + value;
      }
    }
  }
  return { events, loads, hasLoads };
}

export function cacheDelta(after: CacheCounters, before: CacheCounters): CacheCounters {
  const events: Record<string, Record<string, number>> = {};
  for (const [family, byEvent] of Object.entries(after.events)) {
    events[family] = Object.fromEntries(Object.entries(byEvent).map(([event, n]) => [event, n - (before.events[family]?.[event] ?? 0)]));
  }
  const loads = Object.fromEntries(Object.entries(after.loads).map(([family, n]) => [family, n - (before.loads[family] ?? 0)]));
  return { events, loads, hasLoads: after.hasLoads };
}

export async function cacheOf(services: readonly CountedService[]): Promise<CacheCounters> {
  return parseCache(await Promise.all(services.map((service) => service.metrics())));
}

/** Share of reads answered from the cache (fresh or stale) among all reads of a family; NaN with none. */
export function hitRatio(events: Readonly<Record<string, number>> | undefined): number {
  if (events === undefined) return Number.NaN;
  const served = (events.hit ?? 0) + (events.stale ?? 0);
  const all = Object.values(events).reduce((sum, n) => sum + n, 0);
  return all === 0 ? Number.NaN : served / all;
}
