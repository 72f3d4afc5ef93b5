import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ActiveToken, PaymentToken, RequireActiveToken } from '../../core/usecases/queue/require-active-token.js';
import type { AuthenticatedEnv } from './authenticate.js';

/** What the guard leaves on the context for the handlers after it. */
export interface ActiveTokenEnv {
  Variables: AuthenticatedEnv['Variables'] & { activeToken: ActiveToken };
}

/** What the payment route's guard leaves on the context: an ACTIVE token, or a spent one that may only replay. */
export interface PaymentTokenEnv {
  Variables: AuthenticatedEnv['Variables'] & { paymentToken: PaymentToken };
}

/** The `Queue-Token` header, or undefined when it is absent or empty (TOKEN_REQUIRED). */
function queueToken(header: string | undefined): string | undefined {
  return header?.trim() || undefined;
}

/**
 * Guards reserving (after `authenticate`): the `Queue-Token` must be the
 * caller's own ACTIVE token. Puts it on the context; otherwise 401
 * TOKEN_REQUIRED or TOKEN_INVALID (also for another user's token, which
 * answers exactly like an unknown one), 403 TOKEN_NOT_ACTIVE.
 */
export function requireActiveToken(guard: RequireActiveToken): MiddlewareHandler<ActiveTokenEnv> {
  return createMiddleware<ActiveTokenEnv>(async (c, next) => {
    c.set('activeToken', await guard.execute(queueToken(c.req.header('Queue-Token')), c.get('identity').userId));
    await next();
  });
}

/**
 * The payment route's guard, and only its: as `requireActiveToken`, except
 * that the caller's token an earlier payment spent passes
 * (`c.get('paymentToken').spent`) when the request carries an
 * Idempotency-Key, so that a client whose answer was lost can retry with
 * the token it had. PayReservation then only replays (or answers
 * TOKEN_INVALID). Every other route keeps refusing a spent token.
 */
export function requirePaymentToken(guard: RequireActiveToken): MiddlewareHandler<PaymentTokenEnv> {
  return createMiddleware<PaymentTokenEnv>(async (c, next) => {
    const idempotencyKey = c.req.header('Idempotency-Key') || undefined;
    c.set('paymentToken', await guard.executeForPayment(queueToken(c.req.header('Queue-Token')), c.get('identity').userId, idempotencyKey));
    await next();
  });
}
