import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { ForbiddenError } from '../../core/domain/errors.js';
import { ID_PATTERN, ID_RULE } from '../../core/domain/validation.js';
import type { GetCurrentToken, QueueTokenView } from '../../core/usecases/queue/get-current-token.js';
import type { GetQueueStats } from '../../core/usecases/queue/get-queue-stats.js';
import type { IssueToken } from '../../core/usecases/queue/issue-token.js';
import type { LeaveQueue } from '../../core/usecases/queue/leave-queue.js';
import type { AuthenticatedEnv } from './authenticate.js';
import { accessTokenSecurity, registerSecuritySchemes, UNAUTHENTICATED_RESPONSE } from './authenticate.js';
import { errorResponses } from './schemas.js';
import { createRouter } from './validation.js';

export interface QueueDeps {
  readonly issueToken: IssueToken;
  readonly getCurrentToken: GetCurrentToken;
  readonly leaveQueue: LeaveQueue;
  /** Public `GET /queue/stats` (the live view); mounted when given. */
  readonly getQueueStats?: GetQueueStats;
}

/** Optional: the caller is the access token's user; a body naming anyone else is refused (403). */
const IssueTokenSchema = z
  .object(
    {
      userId: z
        .string({ error: ID_RULE })
        .regex(ID_PATTERN, ID_RULE)
        .optional()
        .openapi({ description: 'optional; if present, must be your own user id', example: 'u1' }),
    },
    { error: 'must be a JSON object' },
  )
  .openapi('IssueTokenRequest');

const dateTime = z.string().openapi({ format: 'date-time', example: '2026-01-01T00:10:00.000Z' });

const IssuedTokenSchema = z
  .object({
    token: z.string().openapi({ example: 'q6TQ1c0Vh8m2kY0v3Zl9PA' }),
    status: z.enum(['WAITING', 'ACTIVE']),
    position: z.number().int().nullable().openapi({ description: '1-based place in line while WAITING; null once ACTIVE', example: 12 }),
    etaSeconds: z.number().int().nullable().openapi({ description: 'estimated wait while WAITING; null once ACTIVE', example: 30 }),
    expiresAt: dateTime.nullable().openapi({ description: 'when an ACTIVE token ends; null while WAITING' }),
  })
  .openapi('IssuedQueueToken');

const CurrentTokenSchema = z
  .union([
    z.object({
      token: z.string(),
      status: z.literal('WAITING'),
      position: z.number().int().openapi({ example: 12 }),
      etaSeconds: z.number().int().openapi({ description: 'estimated wait, from the recent admission rate', example: 30 }),
    }),
    z.object({ token: z.string(), status: z.literal('ACTIVE'), expiresAt: dateTime }),
  ])
  .openapi('QueueToken');

const unauthenticated = { 401: UNAUTHENTICATED_RESPONSE } as const;

function routes(authenticated: MiddlewareHandler<AuthenticatedEnv>) {
  const issueRoute = createRoute({
    method: 'post',
    path: '/queue/tokens',
    tags: ['queue'],
    summary: 'Take your place in the waiting queue',
    description:
      'Issues a WAITING token at the end of the line, for the caller. A caller with a live token (WAITING, or ACTIVE and unexpired) gets that same token back (200). Waiters are admitted in arrival order among those still present, a bounded number ACTIVE at once: ask GET /queue/tokens/current at least every QUEUE_PRESENCE_TIMEOUT_SECONDS or lose your place.',
    security: accessTokenSecurity,
    middleware: [authenticated] as const,
    request: { body: { required: false, content: { 'application/json': { schema: IssueTokenSchema } } } },
    responses: {
      201: { description: 'a new token, WAITING', content: { 'application/json': { schema: IssuedTokenSchema } } },
      200: { description: 'your live token', content: { 'application/json': { schema: IssuedTokenSchema } } },
      ...errorResponses({ ...unauthenticated, 403: 'FORBIDDEN: the body names another user' }),
    },
  });

  const currentRoute = createRoute({
    method: 'get',
    path: '/queue/tokens/current',
    tags: ['queue'],
    summary: 'Your live queue token and where it stands (keeps you in line)',
    description: 'Asking counts as presence: a waiter who does not ask for QUEUE_PRESENCE_TIMEOUT_SECONDS is dropped from the line before admission.',
    security: accessTokenSecurity,
    middleware: [authenticated] as const,
    responses: {
      200: { description: 'WAITING with position and ETA, or ACTIVE with expiry', content: { 'application/json': { schema: CurrentTokenSchema } } },
      ...errorResponses({ ...unauthenticated, 404: 'NOT_FOUND: you have no live queue token (never taken, expired, spent, dropped or left)' }),
    },
  });

  const leaveRoute = createRoute({
    method: 'delete',
    path: '/queue/tokens/current',
    tags: ['queue'],
    summary: 'Leave the line, or give back your ACTIVE slot at once',
    security: accessTokenSecurity,
    middleware: [authenticated] as const,
    responses: {
      204: { description: 'you have no live token any more' },
      ...errorResponses({ ...unauthenticated, 404: 'NOT_FOUND: you have no live queue token' }),
    },
  });

  return { issueRoute, currentRoute, leaveRoute };
}

const statsRoute = createRoute({
  method: 'get',
  path: '/queue/stats',
  tags: ['queue'],
  summary: 'How long the line is and how fast it moves (public)',
  description: 'For a live view of a sale: no user, no token. admittedPerMinute is the rate the waiters\' ETA uses, measured while the line was backlogged; null before there was such a span.',
  responses: {
    200: {
      description: 'the line now',
      content: {
        'application/json': {
          schema: z
            .object({
              waiting: z.number().int().openapi({ example: 120 }),
              active: z.number().int().openapi({ description: 'ACTIVE tokens not yet expired', example: 100 }),
              admittedPerMinute: z.number().nullable().openapi({ example: 600 }),
            })
            .openapi('QueueStats'),
        },
      },
    },
    ...errorResponses(),
  },
});

function issuedBody(view: QueueTokenView) {
  return view.status === 'WAITING'
    ? { token: view.token, status: view.status, position: view.position, etaSeconds: view.etaSeconds, expiresAt: null }
    : { token: view.token, status: view.status, position: null, etaSeconds: null, expiresAt: view.expiresAt.toISOString() };
}

function currentBody(view: QueueTokenView) {
  return view.status === 'WAITING'
    ? { token: view.token, status: view.status, position: view.position, etaSeconds: view.etaSeconds }
    : { token: view.token, status: view.status, expiresAt: view.expiresAt.toISOString() };
}

/** The waiting queue, for the caller only: every route behind the access token. */
export function queueRoutes(deps: QueueDeps, authenticated: MiddlewareHandler<AuthenticatedEnv>): OpenAPIHono {
  const app = createRouter();
  registerSecuritySchemes(app);
  const { issueRoute, currentRoute, leaveRoute } = routes(authenticated);

  app.openapi(issueRoute, async (c) => {
    const { userId } = c.get('identity');
    // No body (or no userId) is the usual call; a body that names someone else is an attempt to act as them.
    const named = c.req.header('Content-Type') === undefined ? undefined : c.req.valid('json').userId;
    if (named !== undefined && named !== userId) throw new ForbiddenError('a queue token is issued to the caller only');
    const { created, view } = await deps.issueToken.execute({ userId });
    return c.json(issuedBody(view), created ? 201 : 200);
  });

  app.openapi(currentRoute, async (c) => {
    return c.json(currentBody(await deps.getCurrentToken.execute(c.get('identity').userId)), 200);
  });

  app.openapi(leaveRoute, async (c) => {
    await deps.leaveQueue.execute(c.get('identity').userId);
    return c.body(null, 204);
  });

  const stats = deps.getQueueStats;
  if (stats !== undefined) app.openapi(statsRoute, async (c) => c.json(await stats.execute(), 200));

  return app;
}
