import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { JoseAccessTokenVerifier } from '../../adapters/auth/jose-access-token-verifier.js';
import { signAccessToken } from '../../adapters/auth/sign-access-token.js';
import type { HttpDeps } from '../../adapters/http/create-http-app.js';
import { createHttpApp } from '../../adapters/http/create-http-app.js';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { createLogger } from '../../app/observability/logger.js';
import { DependencyUnavailableError } from '../../core/domain/errors.js';
import { lockKeys } from '../../core/keys.js';
import { systemClock } from '../../core/ports/clock.port.js';
import type { TransactionPort } from '../../core/ports/transaction.port.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { GetBalance } from '../../core/usecases/get-balance.js';
import { GetPointHistory } from '../../core/usecases/get-point-history.js';
import { ListUserReservations } from '../../core/usecases/reservations/list-user-reservations.js';
import { holdLock } from '../support/hold-lock.js';
import { queueUseCases } from '../support/queue-use-cases.js';
import { salesUseCases } from '../support/sales-use-cases.js';

/** The fixed HS256 secret of the unit app's verifier. */
const SECRET = 'unit-test-secret-of-the-http-app-0123456789';

/** The HTTP adapter over the in-memory adapters, with what a test wants to break swapped in. */
function anApp(overrides: { tx?: TransactionPort; health?: HttpDeps['health']; healthTimeoutMs?: number; metricsToken?: string } = {}) {
  const lock = new MemoryLock(systemClock);
  const tx = overrides.tx ?? new MemoryTransactionManager();
  const logLines: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  const { issueToken, getCurrentToken, leaveQueue, requireActiveToken, expireToken, extendToken } = queueUseCases(systemClock);
  const app = createHttpApp({
    ...salesUseCases({ lock, tx, clock: systemClock, expireToken, extendToken }),
    listUserReservations: new ListUserReservations(tx, systemClock),
    requireActiveToken,
    adminToken: undefined,
    metricsToken: overrides.metricsToken,
    chargePoints: new ChargePoints(lock, tx, systemClock, { walletWaitMs: 50 }),
    getBalance: new GetBalance(tx),
    getPointHistory: new GetPointHistory(tx),
    issueToken,
    getCurrentToken,
    leaveQueue,
    accessTokens: new JoseAccessTokenVerifier({ kind: 'secret', secret: SECRET }),
    health: overrides.health ?? { database: () => tx.ping(), lock: () => lock.ping() },
    healthTimeoutMs: overrides.healthTimeoutMs,
    metrics: new Registry(),
    logger,
  });
  const as = async (userId: string) => ({ Authorization: `Bearer ${await signAccessToken(SECRET, userId)}` });
  const charge = async (userId: string, amount: number, headers: Record<string, string> = {}) =>
    app.request(`/users/${userId}/points/charge`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(await as(userId)), ...headers },
      body: JSON.stringify({ amount }),
    });
  const get = async (path: string, userId: string) => app.request(path, { headers: await as(userId) });
  return { app, lock, logLines, charge, get, as };
}

describe('HTTP adapter', () => {
  it('answers 409 IDEMPOTENCY_IN_PROGRESS with Retry-After while the same key runs', async () => {
    const { lock, charge } = anApp();
    const release = await holdLock(lock, [lockKeys.idempotency('charge-points:u1', 'k1')]);
    const response = await charge('u1', 5, { 'Idempotency-Key': 'k1' });
    await release();
    expect(response.status).toBe(409);
    expect(response.headers.get('Retry-After')).toBe('1');
    expect(await response.json()).toMatchObject({ error: { code: 'IDEMPOTENCY_IN_PROGRESS' } });
  });

  it('answers 409 LOCK_BUSY when the wallet stays locked past the wait', async () => {
    const { lock, charge } = anApp();
    const release = await holdLock(lock, [lockKeys.points('u1')]);
    const response = await charge('u1', 5);
    await release();
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: { code: 'LOCK_BUSY' } });
  });

  it('answers 503 SERVICE_UNAVAILABLE when the database is down', async () => {
    const down: TransactionPort = {
      run: () => Promise.reject(new DependencyUnavailableError('database')),
      read: () => Promise.reject(new DependencyUnavailableError('database')),
      ping: () => Promise.reject(new DependencyUnavailableError('database')),
    };
    const { charge, get } = anApp({ tx: down });
    const response = await charge('u1', 5);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: 'database is unavailable' } });
    expect((await get('/users/u1/points', 'u1')).status).toBe(503);
  });

  it('answers 500 INTERNAL for a bug, logs it with its stack, and does not leak its message', async () => {
    const broken: TransactionPort = {
      run: () => Promise.reject(new Error('secret detail')),
      read: () => Promise.reject(new Error('secret detail')),
      ping: async () => {},
    };
    const { get, logLines } = anApp({ tx: broken });
    const response = await get('/users/u1/points', 'u1');
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(text).not.toContain('secret');
    const logged = logLines.find((line) => line.msg === 'unexpected error');
    expect(logged).toMatchObject({ level: 50, route: '/users/:userId/points', err: { message: 'secret detail' } });
    expect(String((logged?.err as { stack?: string }).stack)).toContain('secret detail');
  });

  it('logs one line per request with method, route template, status and time', async () => {
    const { get, logLines } = anApp();
    await get('/users/u1/points', 'u1');
    expect(logLines.find((line) => line.msg === 'request')).toMatchObject({ method: 'GET', route: '/users/:userId/points', status: 200, ms: expect.any(Number) });
  });

  describe('X-Request-Id', () => {
    it('keeps the id a request came with: returned, and on its log line', async () => {
      const { app, as, logLines } = anApp();
      const response = await app.request('/users/u1/points', { headers: { ...(await as('u1')), 'X-Request-Id': 'lb-7f3a.1' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('X-Request-Id')).toBe('lb-7f3a.1');
      expect(logLines.find((line) => line.msg === 'request')).toMatchObject({ requestId: 'lb-7f3a.1', route: '/users/:userId/points' });
    });

    it('logs the id on every line of that request, an unexpected error included, and on none outside it', async () => {
      const broken: TransactionPort = { run: () => Promise.reject(new Error('a bug')), read: () => Promise.reject(new Error('a bug')), ping: async () => {} };
      const { app, as, logLines } = anApp({ tx: broken });
      const response = await app.request('/users/u1/points', { headers: { ...(await as('u1')), 'X-Request-Id': 'req-42' } });
      expect(response.status).toBe(500);
      expect(response.headers.get('X-Request-Id'), 'the error answer carries it too').toBe('req-42');
      const lines = logLines.filter((line) => line.requestId === 'req-42');
      expect(lines.map((line) => line.msg)).toEqual(['unexpected error', 'request failed']);
      expect(logLines.every((line) => line.requestId === 'req-42')).toBe(true);
    });

    it('makes a new id when none or a malformed one is sent, a different one per request', async () => {
      const { app, logLines } = anApp();
      const ids: (string | null)[] = [];
      for (const sent of [undefined, 'has spaces and "quotes"', 'x'.repeat(129)]) {
        const response = await app.request('/concerts', sent === undefined ? {} : { headers: { 'X-Request-Id': sent } });
        ids.push(response.headers.get('X-Request-Id'));
      }
      for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Set(ids).size).toBe(3);
      expect(logLines.map((line) => line.requestId)).toEqual(ids);
    });
  });

  describe('access token', () => {
    it('answers 401 UNAUTHENTICATED in the error body without one, and never reaches the database', async () => {
      const broken: TransactionPort = {
        run: () => Promise.reject(new Error('reached the database')),
        read: () => Promise.reject(new Error('reached the database')),
        ping: async () => {},
      };
      const { app } = anApp({ tx: broken });
      const credentials: Record<string, string>[] = [
        {},
        { Authorization: 'Bearer not.a.jwt' },
        { Authorization: `Bearer ${await signAccessToken('another-secret-of-at-least-32-characters', 'u1')}` },
      ];
      for (const headers of credentials) {
        const response = await app.request('/users/u1/points', { headers });
        expect(response.status).toBe(401);
        expect(response.headers.get('content-type')).toMatch(/application\/json/);
        expect(await response.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
      }
    });

    it('acts for the token\'s user: `me` is the caller, another user\'s id is 403 FORBIDDEN', async () => {
      const { get, charge } = anApp();
      expect((await charge('u1', 700)).status).toBe(200);
      const me = await get('/users/me/points', 'u1');
      expect(me.status).toBe(200);
      expect(await me.json()).toEqual({ userId: 'u1', balance: 700 });
      const other = await get('/users/u1/points', 'u2');
      expect(other.status).toBe(403);
      expect(await other.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    });
  });

  describe('GET /metrics', () => {
    it('is public without METRICS_TOKEN', async () => {
      const { app } = anApp();
      expect((await app.request('/metrics')).status).toBe(200);
    });

    it('with METRICS_TOKEN: 401 without a credential, 403 with a wrong one, 200 with it', async () => {
      const { app } = anApp({ metricsToken: 'metrics-token-0123' });
      const unauthenticated = await app.request('/metrics');
      expect(unauthenticated.status).toBe(401);
      expect(await unauthenticated.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      const wrong = await app.request('/metrics', { headers: { Authorization: 'Bearer metrics-token-0124' } });
      expect(wrong.status).toBe(403);
      expect(await wrong.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
      const right = await app.request('/metrics', { headers: { Authorization: 'Bearer metrics-token-0123' } });
      expect(right.status).toBe(200);
      expect(await right.text()).toContain('# TYPE');
    });
  });

  describe('GET /health', () => {
    it('answers 503 and names the check that is down', async () => {
      const { app } = anApp({
        health: { database: async () => {}, lock: () => Promise.reject(new Error('redis gone')), cache: async () => {} },
      });
      const response = await app.request('/health');
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'down', checks: { database: 'ok', lock: 'down', cache: 'ok' } });
    });

    it('counts a check that hangs as down after the timeout', async () => {
      const { app } = anApp({ health: { database: () => new Promise(() => {}), lock: async () => {} }, healthTimeoutMs: 20 });
      const started = Date.now();
      const response = await app.request('/health');
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'down', checks: { database: 'down', lock: 'ok' } });
    });
  });
});

type Security = Record<string, string[]>[] | undefined;
interface OpenApiDoc {
  paths: Record<string, Record<string, { security?: Security; responses: Record<string, unknown> }>>;
  components: { securitySchemes?: Record<string, Record<string, unknown>> };
}

describe('GET /openapi.json: security', () => {
  async function documentOf(app: ReturnType<typeof anApp>['app']): Promise<OpenApiDoc> {
    const response = await app.request('/openapi.json');
    expect(response.status).toBe(200);
    return (await response.json()) as OpenApiDoc;
  }

  it('declares a bearer scheme `accessToken` and an apiKey scheme `queueToken` in the header Queue-Token', async () => {
    const doc = await documentOf(anApp().app);
    expect(doc.components.securitySchemes?.accessToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes?.queueToken).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'Queue-Token' }));
  });

  it('POST /reservations and its payment require both, in one requirement; GET /concerts requires none', async () => {
    const doc = await documentOf(anApp().app);
    for (const path of ['/reservations', '/reservations/{reservationId}/payment']) {
      expect(doc.paths[path]!.post!.security, path).toEqual([{ accessToken: [], queueToken: [] }]);
    }
    for (const [path, method] of [
      ['/concerts', 'get'],
      ['/concerts/{concertId}/schedules', 'get'],
      ['/schedules/{scheduleId}/seats', 'get'],
      ['/health', 'get'],
      ['/metrics', 'get'],
    ] as const) {
      const security = doc.paths[path]![method]!.security;
      expect(security === undefined || security.length === 0, `${method} ${path}: ${JSON.stringify(security)}`).toBe(true);
    }
  });

  it('every route that acts for a user requires the access token (and only the sale routes the queue token), and answers 401', async () => {
    const doc = await documentOf(anApp().app);
    const userRoutes: [string, string][] = [
      ['/users/{userId}/points', 'get'],
      ['/users/{userId}/points/charge', 'post'],
      ['/users/{userId}/points/history', 'get'],
      ['/queue/tokens', 'post'],
      ['/queue/tokens/current', 'get'],
      ['/queue/tokens/current', 'delete'],
      ['/reservations/{reservationId}', 'get'],
      ['/users/{userId}/reservations', 'get'],
    ];
    for (const [path, method] of userRoutes) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation!.security, `${method} ${path}`).toEqual([{ accessToken: [] }]);
      expect(Object.keys(operation!.responses), `${method} ${path}`).toContain('401');
    }
    for (const path of ['/users/{userId}/points', '/users/{userId}/points/history', '/users/{userId}/reservations']) {
      expect(Object.keys(doc.paths[path]!.get!.responses), path).toContain('403');
    }
  });

  it('declares the metrics scheme only when METRICS_TOKEN is set', async () => {
    expect(Object.keys((await documentOf(anApp().app)).components.securitySchemes ?? {})).not.toContain('metricsToken');
    const guarded = await documentOf(anApp({ metricsToken: 'metrics-token-0123' }).app);
    expect(guarded.components.securitySchemes?.metricsToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(guarded.paths['/metrics']!.get!.security).toEqual([{ metricsToken: [] }]);
  });
});

describe('GET /openapi.json: answers', () => {
  interface Response {
    headers?: Record<string, unknown>;
    content?: { 'application/json'?: { schema?: { properties?: { error?: { properties?: { code?: { enum?: string[] } } } } } } };
  }
  async function responsesOf(path: string, method: string): Promise<Record<string, Response>> {
    const doc = (await (await anApp().app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { responses: Record<string, Response> }>> };
    return doc.paths[path]![method]!.responses;
  }
  const codesOf = (response: Response | undefined) => response?.content?.['application/json']?.schema?.properties?.error?.properties?.code?.enum;

  it('lists, per route and status, exactly the error codes that answer can carry', async () => {
    const charge = await responsesOf('/users/{userId}/points/charge', 'post');
    expect(codesOf(charge['409'])).toEqual(['BALANCE_LIMIT_EXCEEDED', 'LOCK_BUSY', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_IN_PROGRESS']);
    expect(codesOf(charge['401'])).toEqual(['UNAUTHENTICATED']);
    expect(codesOf(charge['400'])).toEqual(['VALIDATION_FAILED']);
    const reserve = await responsesOf('/reservations', 'post');
    expect(codesOf(reserve['401'])).toEqual(['UNAUTHENTICATED', 'TOKEN_REQUIRED', 'TOKEN_INVALID']);
    expect(codesOf(reserve['409'])).toEqual(['SEAT_UNAVAILABLE', 'SEAT_LIMIT_REACHED', 'LOCK_BUSY']);
  });

  it('declares Retry-After where IDEMPOTENCY_IN_PROGRESS can answer, Idempotent-Replayed on replayable answers, X-Request-Id on every answer', async () => {
    const charge = await responsesOf('/users/{userId}/points/charge', 'post');
    expect(Object.keys(charge['409']!.headers ?? {})).toContain('Retry-After');
    expect(Object.keys(charge['200']!.headers ?? {})).toContain('Idempotent-Replayed');
    const payment = await responsesOf('/reservations/{reservationId}/payment', 'post');
    expect(Object.keys(payment['409']!.headers ?? {})).toContain('Retry-After');
    expect(Object.keys(payment['200']!.headers ?? {})).toContain('Idempotent-Replayed');
    const reserve = await responsesOf('/reservations', 'post');
    expect(Object.keys(reserve['409']!.headers ?? {})).not.toContain('Retry-After');
    const doc = (await (await anApp().app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { responses: Record<string, Response> }>> };
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) expect(Object.keys(response.headers ?? {}), `${method} ${path} ${status}`).toContain('X-Request-Id');
      }
    }
  });
});
