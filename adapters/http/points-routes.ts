import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { MAX_CHARGE, MIN_CHARGE } from '../../core/domain/points.js';
import type { ChargePoints } from '../../core/usecases/charge-points.js';
import type { GetBalance } from '../../core/usecases/get-balance.js';
import type { GetPointHistory } from '../../core/usecases/get-point-history.js';
import { errorResponses, IdempotencyKeyHeader, idParam } from './schemas.js';
import { createRouter } from './validation.js';

export interface PointsDeps {
  readonly chargePoints: ChargePoints;
  readonly getBalance: GetBalance;
  readonly getPointHistory: GetPointHistory;
}

const UserParams = z.object({ userId: idParam('userId', 'u1') });

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
  })
  .openapi('PointHistory');

const getBalanceRoute = createRoute({
  method: 'get',
  path: '/users/{userId}/points',
  tags: ['points'],
  summary: 'The balance of a wallet (0 for a user never charged)',
  request: { params: UserParams },
  responses: {
    200: { description: 'the balance', content: { 'application/json': { schema: BalanceSchema } } },
    ...errorResponses(),
  },
});

const chargeRoute = createRoute({
  method: 'post',
  path: '/users/{userId}/points/charge',
  tags: ['points'],
  summary: 'Add points to a wallet',
  description: `A balance may not pass the limit (409 BALANCE_LIMIT_EXCEEDED). With an Idempotency-Key, a repeat answers the first answer (header Idempotent-Replayed: true) and charges once.`,
  request: {
    params: UserParams,
    headers: z.object({ 'Idempotency-Key': IdempotencyKeyHeader }),
    body: { required: true, content: { 'application/json': { schema: ChargeSchema } } },
  },
  responses: {
    200: { description: 'the new balance', content: { 'application/json': { schema: BalanceSchema } } },
    ...errorResponses({
      409: 'BALANCE_LIMIT_EXCEEDED; LOCK_BUSY (the wallet stayed busy); IDEMPOTENCY_KEY_REUSED (same key, other body); IDEMPOTENCY_IN_PROGRESS (same key still running, with Retry-After)',
    }),
  },
});

const historyRoute = createRoute({
  method: 'get',
  path: '/users/{userId}/points/history',
  tags: ['points'],
  summary: 'Charges and uses of a wallet, newest first',
  request: { params: UserParams },
  responses: {
    200: { description: 'the history', content: { 'application/json': { schema: HistorySchema } } },
    ...errorResponses(),
  },
});

export function pointsRoutes(deps: PointsDeps): OpenAPIHono {
  const app = createRouter();

  app.openapi(getBalanceRoute, async (c) => {
    const { userId } = c.req.valid('param');
    return c.json(await deps.getBalance.execute(userId), 200);
  });

  app.openapi(chargeRoute, async (c) => {
    const { userId } = c.req.valid('param');
    const { amount } = c.req.valid('json');
    const idempotencyKey = c.req.valid('header')['Idempotency-Key'];
    const result = await deps.chargePoints.execute({ userId, amount, idempotencyKey });
    if (result.replayed) c.header('Idempotent-Replayed', 'true');
    return c.json({ userId: result.userId, balance: result.balance }, 200);
  });

  app.openapi(historyRoute, async (c) => {
    const { userId } = c.req.valid('param');
    const entries = await deps.getPointHistory.execute(userId);
    return c.json(
      { items: entries.map((e) => ({ kind: e.kind, amount: e.amount, balanceAfter: e.balanceAfter, at: e.at.toISOString() })) },
      200,
    );
  });

  return app;
}
