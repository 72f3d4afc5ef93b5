import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { NotFoundError } from '../../../core/domain/errors.js';
import { ID_PATTERN, ID_RULE } from '../../../core/domain/validation.js';
import { errorResponses, idParam } from '../schemas.js';
import { createRouter } from '../validation.js';
import { buyerPage, livePage } from './pages.js';
import { webAssets } from './web-assets.js';

export interface BuyerPageDeps {
  /**
   * Signs an access token for any user id. Given only in the embedded
   * default, where the service made its own auth secret: then `POST
   * /app/dev-sign-in` exists. With a real identity provider (AUTH_*), or in
   * distributed mode, it is absent and the route answers 404.
   */
  readonly devSignIn?: (userId: string) => Promise<string>;
  readonly maxSeatsPerUser: number;
}

const ASSETS_PATH = '/app/assets';

/** The pages load only their own scripts and styles, and call only this service. */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'Cache-Control': 'no-cache',
};

const devSignInRoute = createRoute({
  method: 'post',
  path: '/app/dev-sign-in',
  tags: ['app'],
  summary: 'Embedded default only: an access token for any user id (the buyer page\'s dev sign-in)',
  description:
    'Exists only when the service made its own auth secret (embedded mode, no AUTH_* variable): it signs with that secret, as `npm run token` does, a token valid 24 h. With AUTH_JWT_SECRET, AUTH_JWKS_URL or in distributed mode it is 404: tokens come from the identity provider.',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({ userId: z.string({ error: ID_RULE }).regex(ID_PATTERN, ID_RULE).openapi({ example: 'u1' }) }, { error: 'must be a JSON object' })
            .openapi('DevSignInRequest'),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'an access token for that user',
      content: { 'application/json': { schema: z.object({ userId: z.string(), accessToken: z.string() }).openapi('DevSignIn') } },
    },
    ...errorResponses(),
  },
});

/**
 * The buyer's page at `/app` and the live view of a schedule at
 * `/app/schedules/{scheduleId}` (HTML from pages.ts, scripts from web/),
 * plus the dev sign-in where it may exist.
 */
export function appRoutes(deps: BuyerPageDeps): OpenAPIHono {
  const app = createRouter();
  const buyerHtml = buyerPage({ assetsPath: ASSETS_PATH, devSignIn: deps.devSignIn !== undefined, maxSeatsPerUser: deps.maxSeatsPerUser });
  const scheduleParam = z.object({ scheduleId: idParam('scheduleId', 'demo-schedule-1') });

  app.get('/app', (c) => c.html(buyerHtml, 200, PAGE_HEADERS));
  app.get('/app/schedules/:scheduleId', (c) => {
    const parsed = scheduleParam.safeParse(c.req.param());
    if (!parsed.success) throw new NotFoundError('no such schedule');
    return c.html(livePage(ASSETS_PATH, parsed.data.scheduleId), 200, PAGE_HEADERS);
  });
  app.get(`${ASSETS_PATH}/:name`, async (c) => {
    const asset = (await webAssets()).get(c.req.param('name'));
    if (asset === undefined) throw new NotFoundError('no such asset');
    return c.body(asset.body, 200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache' });
  });

  const sign = deps.devSignIn;
  if (sign !== undefined) {
    app.openapi(devSignInRoute, async (c) => {
      const { userId } = c.req.valid('json');
      return c.json({ userId, accessToken: await sign(userId) }, 200);
    });
  }
  return app;
}
