import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { ForbiddenError, UnauthenticatedError } from '../../core/domain/errors.js';
import { bearerToken } from './authenticate.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Lets a request through only with `Authorization: Bearer <token>` equal to
 * `token` (ADMIN_TOKEN, METRICS_TOKEN): 401 UNAUTHENTICATED without a
 * credential, 403 FORBIDDEN with a wrong one, and always 403 when no token
 * is configured (`name` says which variable, in the message). Both sides
 * are hashed to one length and compared in constant time, so the answer's
 * timing says nothing about how much of a guess was right.
 */
export function requireStaticToken(name: string, token: string | undefined): MiddlewareHandler {
  const expected = token === undefined ? undefined : digest(token);
  return createMiddleware(async (c, next) => {
    const presented = bearerToken(c.req.header('Authorization'));
    if (presented === undefined) throw new UnauthenticatedError(`send Authorization: Bearer <${name}>`);
    const ok = expected !== undefined && timingSafeEqual(digest(presented), expected);
    if (!ok) throw new ForbiddenError(expected === undefined ? `${name} is not set: these routes refuse everyone` : `wrong ${name}`);
    await next();
  });
}
