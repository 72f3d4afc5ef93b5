import type { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { NotFoundError, ValidationError } from '../../core/domain/errors.js';
import type { AccessTokenVerifier } from '../../core/ports/access-token-verifier.port.js';
import type { AdminDeps } from './admin-routes.js';
import { adminRoutes } from './admin-routes.js';
import { mountApiDocs } from './api-docs.js';
import type { BuyerPageDeps } from './app/app-routes.js';
import { appRoutes } from './app/app-routes.js';
import type { CatalogDeps } from './catalog-routes.js';
import { authenticate } from './authenticate.js';
import { catalogRoutes } from './catalog-routes.js';
import { toErrorResponse } from './error-mapper.js';
import { allowedMethods, MethodNotAllowedError } from './method-not-allowed.js';
import { httpMetrics } from './metrics.js';
import type { OperationsDeps } from './operations-routes.js';
import { operationsRoutes } from './operations-routes.js';
import type { PointsDeps } from './points-routes.js';
import { pointsRoutes } from './points-routes.js';
import type { QueueDeps } from './queue-routes.js';
import { queueRoutes } from './queue-routes.js';
import { serveOpenApiDocument } from './openapi-document.js';
import { requestId } from './request-id.js';
import { requestLogger } from './request-logger.js';
import { requestTimeout } from './request-timeout.js';
import type { ReservationDeps } from './reservation-routes.js';
import { reservationRoutes } from './reservation-routes.js';
import { routeTemplate } from './route-template.js';
import type { SeatStreams } from './seat-stream.js';
import { seatStreamRoutes } from './seat-stream.js';
import { createRouter } from './validation.js';

/** What the routes need: use cases, health checks, observability. Plain values; the container fills them in. */
export interface HttpDeps extends PointsDeps, QueueDeps, CatalogDeps, AdminDeps, ReservationDeps, OperationsDeps {
  /** Verifies the access token of every route that acts for a user. */
  readonly accessTokens: AccessTokenVerifier;
  /** A handler still running after this answers 503 (app/time-bounds.ts: only when some inner bound is missing). */
  readonly requestTimeoutMs?: number;
  readonly logger: Logger;
  /** The buyer's page and live view (/app) and the live seat-map stream: mounted when given (the container gives both). */
  readonly buyerPage?: BuyerPageDeps;
  readonly seatStreams?: SeatStreams;
}

const MAX_BODY_BYTES = 64 * 1024;

/**
 * The HTTP adapter: one OpenAPIHono with a route group per feature mounted
 * at the root. To add a feature, write `<feature>-routes.ts` exporting
 * `<feature>Routes(deps)` (start from `createRouter()`, declare each route
 * with `createRoute`, handlers inline), add its deps to HttpDeps, and mount
 * it below with one `app.route('/', ...)` line. A route that acts for a user
 * takes `authenticated` first in its `middleware` and lists
 * `accessTokenSecurity` (authenticate.ts); its handler reads the user from
 * `c.get('identity')`, never from the request alone.
 */
export function createHttpApp(deps: HttpDeps): OpenAPIHono {
  const app = createRouter();

  app.use(requestId());
  app.use(httpMetrics(deps.metrics));
  app.use(requestLogger(deps.logger));
  if (deps.requestTimeoutMs !== undefined) {
    app.use(
      requestTimeout({
        timeoutMs: deps.requestTimeoutMs,
        onTimeout: (c) => deps.logger.warn({ method: c.req.method, route: routeTemplate(c) }, 'request timed out'),
      }),
    );
  }
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ValidationError('body', `must be at most ${MAX_BODY_BYTES / 1024} KiB`);
    },
  });
  // Only where a body may come: the limiter reads `c.req.raw.body`, which makes @hono/node-server build a whole
  // Request (an AbortController, headers) for every GET too: about 8 % of a cached seat map's CPU, measured.
  app.use((c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));

  const authenticated = authenticate(deps.accessTokens);
  app.route('/', operationsRoutes(deps));
  app.route('/', pointsRoutes(deps, authenticated));
  app.route('/', queueRoutes(deps, authenticated));
  app.route('/', catalogRoutes(deps));
  app.route('/', reservationRoutes(deps, authenticated));
  app.route('/', adminRoutes(deps));
  if (deps.seatStreams !== undefined) app.route('/', seatStreamRoutes(deps.seatStreams, (scheduleId) => deps.getSeatMap.execute(scheduleId)));
  if (deps.buyerPage !== undefined) app.route('/', appRoutes(deps.buyerPage));

  serveOpenApiDocument(app, '/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'Concert ticketing API',
      version: '0.1.0',
      description:
        'Every error answers {"error": {"code", "message"}}. Routes that act for a user need `Authorization: Bearer <access token>` (a JWT whose `sub` is the user); reserving and paying also need `Queue-Token: <your ACTIVE queue token>`. Embedded default: `npm run -s token -- <userId>` prints an access token. A buyer\'s page that makes a whole purchase in a browser is at [/app](/app); the live view of a sale at /app/schedules/{scheduleId}.',
    },
  });
  mountApiDocs(app, '/openapi.json');

  app.get('/', (c) => c.redirect('/docs'));

  const methodsOf = allowedMethods(app);
  app.notFound((c) => {
    const allow = methodsOf(c.req.path);
    throw allow.length > 0 ? new MethodNotAllowedError(allow) : new NotFoundError('no such route');
  });
  app.onError((error, c) => {
    const { status, body, headers, unexpected } = toErrorResponse(error);
    if (unexpected) deps.logger.error({ err: error, method: c.req.method, route: routeTemplate(c) }, 'unexpected error');
    return c.json(body, status, headers);
  });

  return app;
}
