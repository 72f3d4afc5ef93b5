import type { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { NotFoundError, ValidationError } from '../../core/domain/errors.js';
import type { AdminDeps } from './admin-routes.js';
import { adminRoutes } from './admin-routes.js';
import type { CatalogDeps } from './catalog-routes.js';
import { catalogRoutes } from './catalog-routes.js';
import { toErrorResponse } from './error-mapper.js';
import { httpMetrics } from './metrics.js';
import type { HealthChecks } from './operations-routes.js';
import { operationsRoutes } from './operations-routes.js';
import type { PointsDeps } from './points-routes.js';
import { pointsRoutes } from './points-routes.js';
import type { QueueDeps } from './queue-routes.js';
import { queueRoutes } from './queue-routes.js';
import { requestLogger } from './request-logger.js';
import type { ReservationDeps } from './reservation-routes.js';
import { reservationRoutes } from './reservation-routes.js';
import { routeTemplate } from './route-template.js';
import { createRouter } from './validation.js';

/** What the routes need: use cases, health checks, observability. Plain values; the container fills them in. */
export interface HttpDeps extends PointsDeps, QueueDeps, CatalogDeps, AdminDeps, ReservationDeps {
  readonly health: HealthChecks;
  readonly metrics: Registry;
  readonly logger: Logger;
  readonly healthTimeoutMs?: number;
}

const MAX_BODY_BYTES = 64 * 1024;

/**
 * The HTTP adapter: one OpenAPIHono with a route group per feature mounted
 * at the root. To add a feature, write `<feature>-routes.ts` exporting
 * `<feature>Routes(deps)` (start from `createRouter()`, declare each route
 * with `createRoute`, handlers inline), add its deps to HttpDeps, and mount
 * it below with one `app.route('/', ...)` line.
 */
export function createHttpApp(deps: HttpDeps): OpenAPIHono {
  const app = createRouter();

  app.use(httpMetrics(deps.metrics));
  app.use(requestLogger(deps.logger));
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ValidationError('body', `must be at most ${MAX_BODY_BYTES / 1024} KiB`);
      },
    }),
  );

  app.route('/', operationsRoutes(deps));
  app.route('/', pointsRoutes(deps));
  app.route('/', queueRoutes(deps));
  app.route('/', catalogRoutes(deps));
  app.route('/', reservationRoutes(deps));
  app.route('/', adminRoutes(deps));

  app.doc('/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'Concert ticketing API',
      version: '0.1.0',
      description: 'Every error answers {"error": {"code", "message"}}; see the codes and statuses in API.md.',
    },
  });
  app.get('/docs', swaggerUI({ url: '/openapi.json' }));

  app.notFound(() => {
    throw new NotFoundError('no such route');
  });
  app.onError((error, c) => {
    const { status, body, headers, unexpected } = toErrorResponse(error);
    if (unexpected) deps.logger.error({ err: error, method: c.req.method, route: routeTemplate(c) }, 'unexpected error');
    return c.json(body, status, headers);
  });

  return app;
}
