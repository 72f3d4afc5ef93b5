/**
 * Child process for the "bare Hono route" ceilings: the same framework and
 * Node adapter as the service, no middleware, no validation, no I/O.
 * - GET /ping: the cheapest request there is.
 * - POST /users/:userId/points/charge: the HTTP half of a charge (route
 *   parameter, JSON body read, JSON answer). A body makes @hono/node-server
 *   build a full Request with its stream and signal, which costs several
 *   times a GET; this is the ceiling for the service's own HTTP layer.
 * Prints `BENCH_READY <url>` once listening.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { READY_MARK } from './support.js';

const app = new Hono();
app.get('/ping', (c) => c.json({ ok: true }));
app.post('/users/:userId/points/charge', async (c) => {
  const { amount } = await c.req.json<{ amount: number }>();
  return c.json({ userId: c.req.param('userId'), balance: amount });
});

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  process.stdout.write(`${READY_MARK}http://127.0.0.1:${info.port}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  // keep-alive sockets of the load generator may linger
  setTimeout(() => process.exit(0), 1_000).unref();
});
