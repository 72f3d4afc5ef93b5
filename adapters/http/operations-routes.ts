import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Registry } from 'prom-client';
import { errorResponses } from './schemas.js';
import { requireStaticToken } from './static-token.js';
import { createRouter } from './validation.js';

/** Answers when the dependency is reachable; throws (or hangs) otherwise. */
export type HealthCheck = () => Promise<void>;

export interface HealthChecks {
  readonly database: HealthCheck;
  readonly lock: HealthCheck;
  /** Absent until a cache is wired; then reported like the others. */
  readonly cache?: HealthCheck;
  readonly queue?: HealthCheck;
}

export interface OperationsDeps {
  readonly health: HealthChecks;
  /** embedded: PGlite and in-process lock, queue, cache; distributed: Postgres and Redis, shared by every instance. */
  readonly mode?: 'embedded' | 'distributed';
  readonly metrics: Registry;
  /** How long one check may take before it counts as down. */
  readonly healthTimeoutMs?: number;
  /** METRICS_TOKEN: when set, /metrics needs `Authorization: Bearer <it>`. */
  readonly metricsToken?: string | undefined;
}

const CheckStatus = z.enum(['ok', 'down']);
const HealthSchema = z
  .object({
    status: CheckStatus,
    mode: z.enum(['embedded', 'distributed']).optional(),
    checks: z.object({ database: CheckStatus, lock: CheckStatus, cache: CheckStatus.optional(), queue: CheckStatus.optional() }),
  })
  .openapi('Health');

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  tags: ['operations'],
  summary: 'Whether every dependency answers',
  responses: {
    200: { description: 'every check is ok', content: { 'application/json': { schema: HealthSchema } } },
    503: { description: 'a check is down', content: { 'application/json': { schema: HealthSchema } } },
  },
});

async function probe(check: HealthCheck, timeoutMs: number): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => {
    timer = setTimeout(() => resolve('down'), timeoutMs);
  });
  try {
    return await Promise.race([check().then(() => 'ok' as const), timeout]);
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

const METRICS_SCHEME = 'metricsToken';

function metricsRoute(metricsToken: string | undefined) {
  const guarded = metricsToken !== undefined;
  return createRoute({
    method: 'get',
    path: '/metrics',
    tags: ['operations'],
    summary: 'Prometheus metrics',
    description: 'Public unless METRICS_TOKEN is set; then `Authorization: Bearer <METRICS_TOKEN>`.',
    ...(guarded ? { security: [{ [METRICS_SCHEME]: [] }] } : {}),
    middleware: guarded ? [requireStaticToken('METRICS_TOKEN', metricsToken)] : [],
    responses: {
      200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
      ...(guarded ? errorResponses({ 401: 'UNAUTHENTICATED: no metrics token', 403: 'FORBIDDEN: wrong metrics token' }) : {}),
    },
  });
}

export function operationsRoutes(deps: OperationsDeps): OpenAPIHono {
  const app = createRouter();
  if (deps.metricsToken !== undefined) {
    app.openAPIRegistry.registerComponent('securitySchemes', METRICS_SCHEME, { type: 'http', scheme: 'bearer', description: 'The METRICS_TOKEN of the deployment.' });
  }
  const timeoutMs = deps.healthTimeoutMs ?? 1_000;

  app.openapi(healthRoute, async (c) => {
    const named = Object.entries(deps.health).filter((entry): entry is [string, HealthCheck] => entry[1] !== undefined);
    const results = await Promise.all(named.map(async ([name, check]) => [name, await probe(check, timeoutMs)] as const));
    const checks = Object.fromEntries(results) as { database: 'ok' | 'down'; lock: 'ok' | 'down'; cache?: 'ok' | 'down'; queue?: 'ok' | 'down' };
    const mode = deps.mode === undefined ? {} : { mode: deps.mode };
    const up = results.every(([, status]) => status === 'ok');
    return up ? c.json({ status: 'ok' as const, ...mode, checks }, 200) : c.json({ status: 'down' as const, ...mode, checks }, 503);
  });

  app.openapi(metricsRoute(deps.metricsToken), async (c) => {
    return c.text(await deps.metrics.metrics(), 200, { 'Content-Type': deps.metrics.contentType });
  });

  return app;
}
