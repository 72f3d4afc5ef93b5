import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { IssuedToken } from '../../core/domain/queue.js';
import { ID_PATTERN, ID_RULE } from '../../core/domain/validation.js';
import type { GetTokenStatus } from '../../core/usecases/queue/get-token-status.js';
import type { IssueToken } from '../../core/usecases/queue/issue-token.js';
import { bearerToken, queueTokenSecurity, registerQueueTokenScheme } from './require-active-token.js';
import { errorResponses } from './schemas.js';
import { createRouter } from './validation.js';

export interface QueueDeps {
  readonly issueToken: IssueToken;
  readonly getTokenStatus: GetTokenStatus;
}

const IssueTokenSchema = z
  .object(
    {
      userId: z
        .string({ error: (issue) => (issue.input === undefined ? 'is required' : ID_RULE) })
        .regex(ID_PATTERN, ID_RULE)
        .openapi({ example: 'u1' }),
    },
    { error: 'must be a JSON object' },
  )
  .openapi('IssueTokenRequest');

const dateTime = z.string().openapi({ format: 'date-time', example: '2026-01-01T00:10:00.000Z' });

const QueueTokenSchema = z
  .object({
    token: z.string().openapi({ example: 'q6TQ1c0Vh8m2kY0v3Zl9PA' }),
    status: z.enum(['WAITING', 'ACTIVE']),
    position: z.number().int().nullable().openapi({ description: '1-based place in line while WAITING; null once ACTIVE', example: 12 }),
    expiresAt: dateTime.nullable().openapi({ description: 'when an ACTIVE token ends; null while WAITING' }),
  })
  .openapi('QueueToken');

const TokenStatusSchema = z
  .union([
    z.object({
      status: z.literal('WAITING'),
      position: z.number().int().openapi({ example: 12 }),
      etaSeconds: z.number().int().openapi({ description: 'estimated wait, from the recent admission rate', example: 30 }),
    }),
    z.object({ status: z.literal('ACTIVE'), expiresAt: dateTime }),
  ])
  .openapi('QueueTokenStatus');

const issueRoute = createRoute({
  method: 'post',
  path: '/queue/tokens',
  tags: ['queue'],
  summary: 'Take a place in the waiting queue',
  description:
    'Issues a WAITING token at the end of the line. A user with a live token (WAITING, or ACTIVE and unexpired) gets that same token back (200). Waiters are admitted in arrival order, a bounded number ACTIVE at once.',
  request: { body: { required: true, content: { 'application/json': { schema: IssueTokenSchema } } } },
  responses: {
    201: { description: 'a new token, WAITING', content: { 'application/json': { schema: QueueTokenSchema } } },
    200: { description: "the user's live token", content: { 'application/json': { schema: QueueTokenSchema } } },
    ...errorResponses(),
  },
});

const statusRoute = createRoute({
  method: 'get',
  path: '/queue/tokens/current',
  tags: ['queue'],
  summary: 'Where the bearer token stands',
  security: queueTokenSecurity,
  responses: {
    200: { description: 'WAITING with position and ETA, or ACTIVE with expiry', content: { 'application/json': { schema: TokenStatusSchema } } },
    ...errorResponses({ 401: 'TOKEN_REQUIRED (no bearer token); TOKEN_INVALID (unknown or expired token: take a new one)' }),
  },
});

function tokenBody(issued: IssuedToken) {
  const { state } = issued;
  return {
    token: issued.token,
    status: state.status,
    position: state.status === 'WAITING' ? state.position : null,
    expiresAt: state.status === 'ACTIVE' ? state.expiresAt.toISOString() : null,
  };
}

export function queueRoutes(deps: QueueDeps): OpenAPIHono {
  const app = createRouter();
  registerQueueTokenScheme(app);

  app.openapi(issueRoute, async (c) => {
    const issued = await deps.issueToken.execute(c.req.valid('json'));
    if (issued.created) return c.json(tokenBody(issued), 201);
    return c.json(tokenBody(issued), 200);
  });

  app.openapi(statusRoute, async (c) => {
    const status = await deps.getTokenStatus.execute(bearerToken(c.req.header('Authorization')));
    if (status.status === 'ACTIVE') return c.json({ status: status.status, expiresAt: status.expiresAt.toISOString() }, 200);
    return c.json(status, 200);
  });

  return app;
}
