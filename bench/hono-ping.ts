/**
 * Child process for the "bare Hono route" ceilings: the same framework and
 * Node adapter as the service, no middleware, no validation, no I/O.
 * - GET /ping: the cheapest request there is.
 * - GET /seat-map: a 50-seat map's JSON from memory, the body a cached seat
 *   map answers: the ceiling with the same payload.
 * - POST /users/:userId/points/charge: the HTTP half of a charge (route
 *   parameter, JSON body read, JSON answer). A body makes @hono/node-server
 *   build a full Request with its stream and signal, which costs several
 *   times a GET; this is the ceiling for the service's own HTTP layer.
 * With AUTH_JWT_SECRET set, the pair that prices access-token verification
 * (bench/ceilings.ts, jwtVerifyCost):
 * - GET /whoami: behind the service's own `authenticate` middleware and
 *   JoseAccessTokenVerifier (HS256, its verified-token cache as deployed);
 * - GET /whoami/unverified: the same route behind a middleware that reads
 *   the bearer credential the same way and verifies nothing;
 * - GET /cpu: this process's CPU so far and the requests each of the two
 *   has served, so CPU per request is measured here, exactly.
 * Prints `BENCH_READY <url>` once listening.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { JoseAccessTokenVerifier } from '../adapters/auth/jose-access-token-verifier.js';
import { authenticate, bearerToken } from '../adapters/http/authenticate.js';
import type { AuthenticatedEnv } from '../adapters/http/authenticate.js';
import { READY_MARK } from './support.js';

const app = new Hono<AuthenticatedEnv>();
app.get('/ping', (c) => c.json({ ok: true }));
/** A seat map's answer as the service gives it (50 seats), from memory: what serializing and sending that body costs alone. */
const seatMap = { scheduleId: 'sch-0', seats: Array.from({ length: 50 }, (_, i) => ({ seatNo: i + 1, price: 50_000, status: i % 3 === 0 ? 'HELD' : 'AVAILABLE' })) };
app.get('/seat-map', (c) => c.json(seatMap));
app.post('/users/:userId/points/charge', async (c) => {
  const { amount } = await c.req.json<{ amount: number }>();
  return c.json({ userId: c.req.param('userId'), balance: amount });
});

const secret = process.env.AUTH_JWT_SECRET;
if (secret !== undefined) {
  const served = { verified: 0, unverified: 0 };
  const verifier = new JoseAccessTokenVerifier({ kind: 'secret', secret });
  // Everything `authenticate` does but verify(): the only difference between the two routes' CPU.
  const unverified = createMiddleware<AuthenticatedEnv>(async (c, next) => {
    const token = bearerToken(c.req.header('Authorization'));
    if (token === undefined) return c.json({ error: { code: 'UNAUTHENTICATED' } }, 401);
    c.set('identity', { userId: 'unverified' });
    await next();
  });
  app.get('/whoami', authenticate(verifier), (c) => {
    served.verified++;
    return c.json({ userId: c.get('identity').userId });
  });
  app.get('/whoami/unverified', unverified, (c) => {
    served.unverified++;
    return c.json({ userId: c.get('identity').userId });
  });
  app.get('/cpu', (c) => {
    const { user, system } = process.cpuUsage();
    return c.json({ cpuMicros: user + system, served });
  });
  // A refused token (none is expected: the bench signs every one) answers 401, counted as non-2xx by the load.
  app.onError((error, c) => c.json({ error: { code: error.name } }, 401));
}

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  process.stdout.write(`${READY_MARK}http://127.0.0.1:${info.port}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  // keep-alive sockets of the load generator may linger
  setTimeout(() => process.exit(0), 1_000).unref();
});
