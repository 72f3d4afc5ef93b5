import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One registry per application (not prom-client's global one), so that
 * tests and the benchmark can build several apps in one process. Every
 * metric of the app registers here: HTTP (adapters/http/metrics.ts, which
 * knows routes), locks (instrumented-lock.ts, which wraps whichever
 * LockPort the container picked), process defaults.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
