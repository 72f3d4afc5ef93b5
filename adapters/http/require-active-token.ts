import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ActiveToken, PaymentToken, RequireActiveToken } from '../../core/usecases/queue/require-active-token.js';

/** The name of the queue token's security scheme in /openapi.json. */
export const QUEUE_TOKEN_SCHEME = 'queueToken';

/** `security` of a route that reads the queue token (OpenAPI ignores an Authorization header parameter). */
export const queueTokenSecurity = [{ [QUEUE_TOKEN_SCHEME]: [] }];

/** What the guard leaves on the context for the handlers after it. */
export interface ActiveTokenEnv {
  Variables: { activeToken: ActiveToken };
}

/** What the payment route's guard leaves on the context: an ACTIVE token, or a spent one that may only replay. */
export interface PaymentTokenEnv {
  Variables: { paymentToken: PaymentToken };
}

/**
 * The token of `Authorization: Bearer <token>`, or undefined when the header
 * is absent, has another scheme or an empty token (TOKEN_REQUIRED). The
 * scheme is case-insensitive (RFC 7235); what follows it is the token,
 * checked by the core (anything malformed is TOKEN_INVALID).
 */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer(?:\s+(.*))?$/i.exec(header?.trim() ?? '');
  return match?.[1]?.trim() || undefined;
}

/**
 * Guards routes that need an ACTIVE queue token (reserving, paying):
 * `app.use('/reservations/*', requireActiveToken(deps.requireActiveToken))`,
 * or in a route's `middleware`. Puts the token and its user on the context
 * (`c.get('activeToken').userId`); otherwise answers 401 TOKEN_REQUIRED or
 * TOKEN_INVALID, 403 TOKEN_NOT_ACTIVE, through the app's error mapper.
 */
export function requireActiveToken(guard: RequireActiveToken): MiddlewareHandler<ActiveTokenEnv> {
  return createMiddleware<ActiveTokenEnv>(async (c, next) => {
    c.set('activeToken', await guard.execute(bearerToken(c.req.header('Authorization'))));
    await next();
  });
}

/**
 * The payment route's guard, and only its: as `requireActiveToken`, except
 * that a token an earlier payment spent passes (`c.get('paymentToken').spent`)
 * when the request carries an Idempotency-Key, so that a client whose answer
 * was lost can retry with the token it had. PayReservation then only replays
 * (or answers TOKEN_INVALID). Every other route keeps refusing a spent token.
 */
export function requirePaymentToken(guard: RequireActiveToken): MiddlewareHandler<PaymentTokenEnv> {
  return createMiddleware<PaymentTokenEnv>(async (c, next) => {
    const idempotencyKey = c.req.header('Idempotency-Key') || undefined;
    c.set('paymentToken', await guard.executeForPayment(bearerToken(c.req.header('Authorization')), idempotencyKey));
    await next();
  });
}

/** Declares the bearer scheme in the OpenAPI document of `app` (merged into the parent by `app.route`). */
export function registerQueueTokenScheme(app: OpenAPIHono): void {
  app.openAPIRegistry.registerComponent('securitySchemes', QUEUE_TOKEN_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'A queue token from POST /queue/tokens. Reserving and paying need it ACTIVE.',
  });
}
