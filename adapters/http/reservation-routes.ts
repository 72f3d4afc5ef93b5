import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { MAX_SEATS_PER_SCHEDULE } from '../../core/domain/catalog.js';
import type { Reservation } from '../../core/domain/reservation.js';
import { ID_PATTERN, ID_RULE } from '../../core/domain/validation.js';
import type { RequireActiveToken } from '../../core/usecases/queue/require-active-token.js';
import type { GetReservation } from '../../core/usecases/reservations/get-reservation.js';
import type { PayReservation } from '../../core/usecases/reservations/pay-reservation.js';
import type { ReserveSeat } from '../../core/usecases/reservations/reserve-seat.js';
import type { ListUserReservations } from '../../core/usecases/reservations/list-user-reservations.js';
import type { AuthenticatedEnv } from './authenticate.js';
import { accessTokenSecurity, pathUser, registerSecuritySchemes, saleSecurity, UNAUTHENTICATED_RESPONSE } from './authenticate.js';
import { requireActiveToken, requirePaymentToken } from './require-active-token.js';
import { errorResponses, IDEMPOTENT_REPLAYED_HEADER, IdempotencyKeyHeader, idParam, NextCursor, PageQuery } from './schemas.js';
import { createRouter } from './validation.js';

export interface ReservationDeps {
  readonly requireActiveToken: RequireActiveToken;
  readonly reserveSeat: ReserveSeat;
  readonly getReservation: GetReservation;
  readonly payReservation: PayReservation;
  readonly listUserReservations: ListUserReservations;
}

const seatNoRule = `must be an integer from 1 to ${MAX_SEATS_PER_SCHEDULE}`;
const ReserveSchema = z
  .object(
    {
      scheduleId: z
        .string({ error: (issue) => (issue.input === undefined ? 'is required' : ID_RULE) })
        .regex(ID_PATTERN, ID_RULE)
        .openapi({ example: 'demo-schedule-1' }),
      seatNo: z
        .number({ error: (issue) => (issue.input === undefined ? 'is required' : seatNoRule) })
        .int(seatNoRule)
        .min(1, seatNoRule)
        .max(MAX_SEATS_PER_SCHEDULE, seatNoRule)
        .openapi({ example: 7 }),
    },
    { error: 'must be a JSON object' },
  )
  .openapi('ReserveRequest');

const ReservationSchema = z
  .object({
    reservationId: z.string(),
    scheduleId: z.string(),
    seatNo: z.number().int(),
    price: z.number().int(),
    status: z.enum(['PENDING', 'CONFIRMED', 'EXPIRED']).openapi({ description: 'a PENDING reservation whose hold has ended reads EXPIRED' }),
    expiresAt: z.string().openapi({ format: 'date-time', description: 'the hold ends at this instant, exactly' }),
  })
  .openapi('Reservation');

const PaymentSchema = z
  .object({
    paymentId: z.string(),
    reservationId: z.string(),
    amount: z.number().int(),
    status: z.literal('CONFIRMED'),
    balance: z.number().int().openapi({ description: 'the wallet right after this payment' }),
  })
  .openapi('Payment');

const ReservationListSchema = z.object({ items: z.array(ReservationSchema), nextCursor: NextCursor }).openapi('ReservationList');

const ReservationParams = z.object({ reservationId: idParam('reservationId', '0b6f3c5e-8a3e-4a55-9a57-1f8d2c4b7e21') });
const UserParams = z.object({ userId: idParam('userId', 'me').openapi({ description: "the caller's own user id, or `me`" }) });
const tokenErrors = {
  401: `${UNAUTHENTICATED_RESPONSE}; TOKEN_REQUIRED (no Queue-Token); TOKEN_INVALID (unknown, expired, spent, or another user's queue token)`,
  403: 'TOKEN_NOT_ACTIVE (still waiting in the queue)',
} as const;

function routes(
  authenticated: MiddlewareHandler<AuthenticatedEnv>,
  guard: ReturnType<typeof requireActiveToken>,
  paymentGuard: ReturnType<typeof requirePaymentToken>,
) {
  const reserveRoute = createRoute({
    method: 'post',
    path: '/reservations',
    tags: ['reservations'],
    summary: 'Hold a seat for HOLD_TTL_SECONDS',
    description:
      'Answers at once on a contended seat: 409 SEAT_UNAVAILABLE when it is held or sold, LOCK_BUSY while another request holds its lock. At most MAX_SEATS_PER_USER seats of a schedule held or bought per buyer (409 SEAT_LIMIT_REACHED). A hold that ends after your queue token extends the token to the hold\'s end.',
    security: saleSecurity,
    middleware: [authenticated, guard] as const,
    request: { body: { required: true, content: { 'application/json': { schema: ReserveSchema } } } },
    responses: {
      201: { description: 'the reservation, PENDING', content: { 'application/json': { schema: ReservationSchema } } },
      ...errorResponses({ ...tokenErrors, 404: 'NOT_FOUND: no such schedule or seat', 409: 'SEAT_UNAVAILABLE; SEAT_LIMIT_REACHED; LOCK_BUSY' }),
    },
  });

  const getRoute = createRoute({
    method: 'get',
    path: '/reservations/{reservationId}',
    tags: ['reservations'],
    summary: 'One of your reservations, whatever the state of your queue token',
    security: accessTokenSecurity,
    middleware: [authenticated] as const,
    request: { params: ReservationParams },
    responses: {
      200: { description: 'the reservation', content: { 'application/json': { schema: ReservationSchema } } },
      ...errorResponses({ 401: UNAUTHENTICATED_RESPONSE, 403: 'FORBIDDEN (not your reservation)', 404: 'NOT_FOUND: no such reservation' }),
    },
  });

  const listRoute = createRoute({
    method: 'get',
    path: '/users/{userId}/reservations',
    tags: ['reservations'],
    summary: 'Your reservations, newest first, a page at a time',
    security: accessTokenSecurity,
    middleware: [authenticated] as const,
    request: { params: UserParams, query: PageQuery },
    responses: {
      200: { description: 'one page of your reservations', content: { 'application/json': { schema: ReservationListSchema } } },
      ...errorResponses({ 401: UNAUTHENTICATED_RESPONSE, 403: "FORBIDDEN (another user's reservations)" }),
    },
  });

  const payRoute = createRoute({
    method: 'post',
    path: '/reservations/{reservationId}/payment',
    tags: ['reservations'],
    summary: 'Pay a PENDING reservation with points',
    description:
      'Deducts the price, records the payment, sells the seat and confirms the reservation, all or nothing. The queue token is spent when this payment leaves you no PENDING reservation (one admission pays several holds). With an Idempotency-Key, a repeat answers the same payment (200, header Idempotent-Replayed: true), also with the token that payment expired (until its own expiry); that token buys nothing else (401 TOKEN_INVALID).',
    security: saleSecurity,
    middleware: [authenticated, paymentGuard] as const,
    request: { params: ReservationParams, headers: z.object({ 'Idempotency-Key': IdempotencyKeyHeader }) },
    responses: {
      201: { description: 'the payment', content: { 'application/json': { schema: PaymentSchema } } },
      200: { description: 'the same payment, replayed for a repeated Idempotency-Key', headers: IDEMPOTENT_REPLAYED_HEADER, content: { 'application/json': { schema: PaymentSchema } } },
      ...errorResponses({
        ...tokenErrors,
        401: `${tokenErrors[401]} (a spent token is let in only to replay its payment with the same Idempotency-Key)`,
        403: `${tokenErrors[403]}; FORBIDDEN (not your reservation)`,
        404: 'NOT_FOUND: no such reservation',
        409: 'RESERVATION_EXPIRED; RESERVATION_NOT_PENDING (already paid); INSUFFICIENT_POINTS; LOCK_BUSY; IDEMPOTENCY_KEY_REUSED; IDEMPOTENCY_IN_PROGRESS (with Retry-After)',
      }),
    },
  });

  return { reserveRoute, getRoute, listRoute, payRoute };
}

function reservationBody(reservation: Reservation) {
  return {
    reservationId: reservation.id,
    scheduleId: reservation.scheduleId,
    seatNo: reservation.seatNo,
    price: reservation.price,
    status: reservation.status,
    expiresAt: reservation.expiresAt.toISOString(),
  };
}

/**
 * Reserving and paying: behind the access token, then the caller's own
 * ACTIVE queue token; paying behind its own guard, which also lets the
 * caller's spent token replay its payment (with its Idempotency-Key) and
 * nothing else. Reading reservations needs the access token only.
 */
export function reservationRoutes(deps: ReservationDeps, authenticated: MiddlewareHandler<AuthenticatedEnv>): OpenAPIHono {
  const app = createRouter();
  registerSecuritySchemes(app);
  const { reserveRoute, getRoute, listRoute, payRoute } = routes(
    authenticated,
    requireActiveToken(deps.requireActiveToken),
    requirePaymentToken(deps.requireActiveToken),
  );

  app.openapi(reserveRoute, async (c) => {
    const { userId, token, expiresAt } = c.get('activeToken');
    const reservation = await deps.reserveSeat.execute({ userId, token, tokenExpiresAt: expiresAt, ...c.req.valid('json') });
    return c.json(reservationBody(reservation), 201);
  });

  app.openapi(getRoute, async (c) => {
    const { userId } = c.get('identity');
    const { reservationId } = c.req.valid('param');
    return c.json(reservationBody(await deps.getReservation.execute({ userId, reservationId })), 200);
  });

  app.openapi(listRoute, async (c) => {
    const userId = pathUser(c, c.req.valid('param').userId);
    const page = await deps.listUserReservations.execute({ userId, ...c.req.valid('query') });
    return c.json({ items: page.items.map(reservationBody), nextCursor: page.nextCursor ?? null }, 200);
  });

  app.openapi(payRoute, async (c) => {
    const { userId, token, spent } = c.get('paymentToken');
    const { reservationId } = c.req.valid('param');
    const idempotencyKey = c.req.valid('header')['Idempotency-Key'];
    const { replayed, queueToken: _, ...payment } = await deps.payReservation.execute({
      userId,
      token,
      reservationId,
      idempotencyKey,
      tokenSpent: spent,
    });
    if (replayed) {
      c.header('Idempotent-Replayed', 'true');
      return c.json(payment, 200);
    }
    return c.json(payment, 201);
  });

  return app;
}
