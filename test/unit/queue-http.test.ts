import { pino } from 'pino';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../adapters/http/create-http-app.js';
import { bearerToken, requireActiveToken } from '../../adapters/http/require-active-token.js';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { DependencyUnavailableError } from '../../core/domain/errors.js';
import type { QueuePort } from '../../core/ports/queue.port.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { GetBalance } from '../../core/usecases/get-balance.js';
import { GetPointHistory } from '../../core/usecases/get-point-history.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';
import { salesUseCases } from '../support/sales-use-cases.js';

/** The whole HTTP adapter over in-memory adapters, plus a probe route behind the guard (reservations do not exist yet). */
function anApp(queue: QueuePort = new MemoryQueue()) {
  const clock = new ManualClock();
  const uc = queueUseCases(clock, { queue });
  const tx = new MemoryTransactionManager();
  const lock = new MemoryLock(clock);
  const app = createHttpApp({
    ...salesUseCases({ lock, tx, clock, expireToken: uc.expireToken }),
    requireActiveToken: uc.requireActiveToken,
    adminToken: undefined,
    chargePoints: new ChargePoints(lock, tx, clock),
    getBalance: new GetBalance(tx),
    getPointHistory: new GetPointHistory(tx),
    issueToken: uc.issueToken,
    getTokenStatus: uc.getTokenStatus,
    health: { database: () => tx.ping(), lock: () => lock.ping() },
    metrics: new Registry(),
    logger: pino({ level: 'silent' }),
  });
  app.get('/probe', requireActiveToken(uc.requireActiveToken), (c) => c.json({ userId: c.get('activeToken').userId }));
  const issue = (userId: unknown) =>
    app.request('/queue/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ userId }) });
  const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
  return { app, uc, clock, issue, bearer };
}

async function errorOf(response: Response): Promise<[number, string]> {
  const body = (await response.json()) as { error: { code: string } };
  return [response.status, body.error.code];
}

describe('bearerToken', () => {
  it.each([
    [undefined, undefined],
    ['Bearer abc', 'abc'],
    ['bearer   abc  ', 'abc'],
    ['BEARER abc', 'abc'],
    ['Bearer', undefined],
    ['Bearer   ', undefined],
    ['Bearerabc', undefined],
    ['Basic dXNlcjpwYXNz', undefined],
    ['abc', undefined],
    ['Bearer a b', 'a b'],
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('queue routes', () => {
  let t: ReturnType<typeof anApp>;
  beforeEach(() => {
    t = anApp();
  });

  it('POST /queue/tokens answers 201 with a new WAITING token, then 200 with the same one', async () => {
    const first = await t.issue('u1');
    expect(first.status).toBe(201);
    const body = (await first.json()) as { token: string };
    expect(body).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), status: 'WAITING', position: 1, expiresAt: null });
    const again = await t.issue('u1');
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(body);
    await t.uc.admitWaiters.execute();
    const active = await t.issue('u1');
    expect(active.status).toBe(200);
    expect(await active.json()).toEqual({ token: body.token, status: 'ACTIVE', position: null, expiresAt: '2026-01-01T00:01:00.000Z' });
  });

  it.each([
    ['no userId', {}, 'userId: is required'],
    ['a userId with a space', { userId: 'a b' }, 'userId: must be'],
    ['a numeric userId', { userId: 5 }, 'userId: must be'],
  ])('POST /queue/tokens refuses %s with 400', async (_name, body, message) => {
    const response = await t.app.request('/queue/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message.startsWith(message), error.message).toBe(true);
  });

  it('GET /queue/tokens/current answers WAITING with position and ETA, then ACTIVE with expiry', async () => {
    const { token } = (await (await t.issue('u1')).json()) as { token: string };
    await t.issue('u2');
    const { token: third } = (await (await t.issue('u3')).json()) as { token: string };
    const waiting = await t.app.request('/queue/tokens/current', t.bearer(third));
    expect(waiting.status).toBe(200);
    expect(await waiting.json()).toEqual({ status: 'WAITING', position: 3, etaSeconds: 2 });
    await t.uc.admitWaiters.execute();
    expect(await (await t.app.request('/queue/tokens/current', t.bearer(token))).json()).toEqual({
      status: 'ACTIVE',
      expiresAt: '2026-01-01T00:01:00.000Z',
    });
    expect(await (await t.app.request('/queue/tokens/current', t.bearer(third))).json()).toMatchObject({ status: 'WAITING', position: 1 });
  });

  it('GET /queue/tokens/current answers 401 TOKEN_REQUIRED without a token and TOKEN_INVALID for an unknown or expired one', async () => {
    expect(await errorOf(await t.app.request('/queue/tokens/current'))).toEqual([401, 'TOKEN_REQUIRED']);
    expect(await errorOf(await t.app.request('/queue/tokens/current', { headers: { Authorization: 'Basic x' } }))).toEqual([401, 'TOKEN_REQUIRED']);
    expect(await errorOf(await t.app.request('/queue/tokens/current', t.bearer('A'.repeat(22))))).toEqual([401, 'TOKEN_INVALID']);
    const { token } = (await (await t.issue('u1')).json()) as { token: string };
    await t.uc.admitWaiters.execute();
    t.clock.advance(60_000);
    expect(await errorOf(await t.app.request('/queue/tokens/current', t.bearer(token)))).toEqual([401, 'TOKEN_INVALID']);
  });

  it('the guard lets an ACTIVE token through with its user, and refuses missing, unknown, WAITING and spent tokens', async () => {
    const { token: active } = (await (await t.issue('buyer')).json()) as { token: string };
    await t.uc.admitWaiters.execute();
    await t.issue('x1');
    const { token: waiting } = (await (await t.issue('x2')).json()) as { token: string };
    const ok = await t.app.request('/probe', t.bearer(active));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ userId: 'buyer' });
    expect(await errorOf(await t.app.request('/probe'))).toEqual([401, 'TOKEN_REQUIRED']);
    expect(await errorOf(await t.app.request('/probe', t.bearer('not-a-real-token-at-all')))).toEqual([401, 'TOKEN_INVALID']);
    expect(await errorOf(await t.app.request('/probe', t.bearer('%%%')))).toEqual([401, 'TOKEN_INVALID']);
    expect(await errorOf(await t.app.request('/probe', t.bearer(waiting)))).toEqual([403, 'TOKEN_NOT_ACTIVE']);
    await t.uc.expireToken.execute(active);
    expect(await errorOf(await t.app.request('/probe', t.bearer(active)))).toEqual([401, 'TOKEN_INVALID']);
  });

  it('answers 503 SERVICE_UNAVAILABLE when the queue is down', async () => {
    const down = () => Promise.reject(new DependencyUnavailableError('queue'));
    const { app, issue } = anApp({ issue: down, status: down, admit: down, expire: down, counts: down, ping: down });
    expect(await errorOf(await issue('u1'))).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(await errorOf(await app.request('/probe', { headers: { Authorization: `Bearer ${'A'.repeat(22)}` } }))).toEqual([503, 'SERVICE_UNAVAILABLE']);
  });
});
