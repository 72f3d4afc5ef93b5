import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { ForbiddenError, UnauthenticatedError } from '../../core/domain/errors.js';
import type { AccessTokenVerifier, Identity } from '../../core/ports/access-token-verifier.port.js';

/** The security schemes of /openapi.json, by name: what each route lists in `security`. */
export const SCHEMES = { accessToken: 'accessToken', queueToken: 'queueToken' } as const;

/** `security` of a route that acts for a user: the access token. */
export const accessTokenSecurity = [{ [SCHEMES.accessToken]: [] }];
/** `security` of reserving and paying: the access token and the caller's own ACTIVE queue token, both required. */
export const saleSecurity = [{ [SCHEMES.accessToken]: [], [SCHEMES.queueToken]: [] }];

/** The 401 of every route behind `authenticate`, as the OpenAPI document describes it. */
export const UNAUTHENTICATED_RESPONSE = 'UNAUTHENTICATED: no, malformed, expired or badly signed access token';

/** What the authentication middleware leaves on the context for the handlers after it. */
export interface AuthenticatedEnv {
  Variables: { identity: Identity };
}

/**
 * The credential of `Authorization: Bearer <credential>`, or undefined when
 * the header is absent, has another scheme or an empty credential. The
 * scheme is case-insensitive (RFC 7235).
 */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer(?:\s+(.*))?$/i.exec(header?.trim() ?? '');
  return match?.[1]?.trim() || undefined;
}

/**
 * Lets a request through only with a valid access token, and puts the
 * verified identity on the context (`c.get('identity').userId`): the only
 * place a user id comes from. Anything else is 401 UNAUTHENTICATED, through
 * the app's error mapper. Put it first in a route's `middleware`, so that
 * an anonymous request learns nothing, not even whether its body was valid.
 */
export function authenticate(verifier: AccessTokenVerifier): MiddlewareHandler<AuthenticatedEnv> {
  return createMiddleware<AuthenticatedEnv>(async (c, next) => {
    const token = bearerToken(c.req.header('Authorization'));
    if (token === undefined) throw new UnauthenticatedError();
    c.set('identity', await verifier.verify(token));
    await next();
  });
}

/** Stands for the caller in a `{userId}` path: `/users/me/points`. */
export const ME = 'me';

/**
 * The user a `{userId}` path names, which must be the caller: `me` or the
 * caller's own id. Another user's id is 403 FORBIDDEN, whether or not that
 * user exists, so that the answer says nothing about them.
 */
export function pathUser(c: Context<AuthenticatedEnv>, userId: string): string {
  const caller = c.get('identity').userId;
  if (userId !== ME && userId !== caller) throw new ForbiddenError("you may act only for yourself: use your own user id or 'me'");
  return caller;
}

/** Declares the access-token and queue-token schemes in the OpenAPI document of `app` (merged into the parent by `app.route`). */
export function registerSecuritySchemes(app: OpenAPIHono): void {
  app.openAPIRegistry.registerComponent('securitySchemes', SCHEMES.accessToken, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token (JWT) from the identity provider; `sub` is the user. Embedded default: `npm run -s token -- <userId>` prints one.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', SCHEMES.queueToken, {
    type: 'apiKey',
    in: 'header',
    name: 'Queue-Token',
    description: "The caller's own queue token from POST /queue/tokens. Reserving and paying need it ACTIVE.",
  });
}
