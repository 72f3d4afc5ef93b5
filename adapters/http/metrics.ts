import type { MiddlewareHandler } from 'hono';
import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';
import { routeTemplate } from './route-template.js';

/**
 * Request count and latency by method, route template and status. The
 * registry comes from the composition root (one per app, so that tests can
 * build several apps in one process).
 */
export function httpMetrics(registry: Registry): MiddlewareHandler {
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status.',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency in seconds, by method, route template and status.',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return async (c, next) => {
    const start = performance.now();
    await next();
    const labels = { method: c.req.method, route: routeTemplate(c), status: String(c.res.status) };
    requests.inc(labels);
    duration.observe(labels, (performance.now() - start) / 1000);
  };
}
