import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { MAX_CHARGE, MIN_CHARGE } from '../../core/domain/points.js';
import type { ChargePoints } from '../../core/usecases/charge-points.js';
import type { GetBalance } from '../../core/usecases/get-balance.js';
import type { GetPointHistory } from '../../core/usecases/get-point-history.js';
import type { AuthenticatedEnv } from './authenticate.js';
import { accessTokenSecurity, pathUser, UNAUTHENTICATED_RESPONSE } from './authenticate.js';
import { errorResponses, IDEMPOTENT_REPLAYED_HEADER, IdempotencyKeyHeader, idParam, NextCursor, PageQuery } from './schemas.js';
import { createRouter } from './validation.js';

export interface PointsDeps {
  readonly chargePoints: ChargePoints;
  readonly getBalance: GetBalance;
  readonly getPointHistory: GetPointHistory;
}

const UserParams = z.object({ userId: idParam('userId', 'me').openapi({ description: "the caller's own user id, or `me`" }) });

const BalanceSchema = z
  .object({ userId: z.string(), balance: z.number().int().openapi({ example: 10_000 }) })
  .openapi('Balance');

const amountRule = `must be an integer from ${MIN_CHARGE} to ${MAX_CHARGE}`;
const ChargeSchema = z
  .object(
    {
      amount: z
        .number({ error: (issue) => (issue.input === undefined ? 'is required' : amountRule) })
        .int(amountRule)
        .min(MIN_CHARGE, amountRule)
        .max(MAX_CHARGE, amountRule)
        .openapi({ example: 10_000 }),
    },
    { error: 'must be a JSON object' },
  )
  .openapi('ChargeRequest');

const HistorySchema = z
  .object({
    items: z.array(
      z.object({
        kind: z.enum(['CHARGE', 'USE']),
        amount: z.number().int(),
        balanceAfter: z.number().int(),
        at: z.string().openapi({ format: 'date-time', example: '2026-01-01T00:00:00.000Z' }),
      }),
    ),
    nextCursor: NextCursor,
  })
  .openapi('PointHistory');

const userErrors = {
  401: UNAUTHENTICATED_RESPONSE,
  403: "FORBIDDEN: another user's wallet",
} as const;

function routes(authenticated: MiddlewareHandler<AuthenticatedEnv>) {
  const getBalanceRoute = createRoute({
    method: 'get',
    path: '/users/{userId}/points',
    tags: ['points'],
    summary: 'The balance of your wallet (0 if never charged)',
    security: accessTokenSecurity,
    middleware: [authenticated] as const,
    request: { params: UserParams },
    responses: {
      200: { description: 'the balance', content: { 'application/json': { schema: BalanceSchema } } },
      ...errorResponses(userErrors),
    },
  });

  const chargeRoute = createRoute({
    method: 'post',
    path: '/users/{userId}/points/charge',
    tags: ['points'],
    summary: 'Add points to your wallet',
    security: accessTokenSecurity,
    middleware: [authenticated] as const,
    description: `A balance may not pass the limit (409 BALANCE_LIMIT_EXCEEDED). With an Idempotency-Key, a repeat answers the first answer (header Idempotent-Replayed: true) and charges once.`,
    request: {
      params: UserParams,
      headers: z.object({ 'Idempotency-Key': IdempotencyKeyHeader }),
      body: { required: true, content: { 'application/json': { schema: ChargeSchema } } },
    },
    responses: {
      200: { description: 'the new balance', headers: IDEMPOTENT_REPLAYED_HEADER, content: { 'application/json': { schema: BalanceSchema } } },
      ...errorResponses({
        ...userErrors,
        409: 'BALANCE_LIMIT_EXCEEDED; LOCK_BUSY (the wallet stayed busy); IDEMPOTENCY_KEY_REUSED (same key, other body); IDEMPOTENCY_IN_PROGRESS (same key still running, with Retry-After)',
      }),
    },
  });

  const historyRoute = createRoute({
    method: 'get',
    path: '/users/{userId}/points/history',
    tags: ['points'],
    summary: 'Charges and uses of your wallet, newest first, a page at a time',
    description: 'Following `nextCursor` walks the whole history exactly once, also while charges land. A `limit` out of range or a cursor this service did not issue is 400.',
    security: accessTokenSecurity,
    middleware: [authenticated] as const,
    request: { params: UserParams, query: PageQuery },
    responses: {
      200: { description: 'one page of the history', content: { 'application/json': { schema: HistorySchema } } },
      ...errorResponses(userErrors),
    },
  });

  return { getBalanceRoute, chargeRoute, historyRoute };
}

/** The wallet routes: each acts only for the caller (`authenticated` runs first, `pathUser` checks the path). */
export function pointsRoutes(deps: PointsDeps, authenticated: MiddlewareHandler<AuthenticatedEnv>): OpenAPIHono {
  const app = createRouter();
  const { getBalanceRoute, chargeRoute, historyRoute } = routes(authenticated);

  app.openapi(getBalanceRoute, async (c) => {
    const userId = pathUser(c, c.req.valid('param').userId);
    return c.json(await deps.getBalance.execute(userId), 200);
  });

  app.openapi(chargeRoute, async (c) => {
    const userId = pathUser(c, c.req.valid('param').userId);
    const { amount } = c.req.valid('json');
    const idempotencyKey = c.req.valid('header')['Idempotency-Key'];
    const result = await deps.chargePoints.execute({ userId, amount, idempotencyKey });
    if (result.replayed) c.header('Idempotent-Replayed', 'true');
    return c.json({ userId: result.userId, balance: result.balance }, 200);
  });

  app.openapi(historyRoute, async (c) => {
    const userId = pathUser(c, c.req.valid('param').userId);
    const page = await deps.getPointHistory.execute({ userId, ...c.req.valid('query') });
    return c.json(
      {
        items: page.items.map((e) => ({ kind: e.kind, amount: e.amount, balanceAfter: e.balanceAfter, at: e.at.toISOString() })),
        nextCursor: page.nextCursor ?? null,
      },
      200,
    );
  });

  return app;
}
