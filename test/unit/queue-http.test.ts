import { pino } from 'pino';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { JoseAccessTokenVerifier } from '../../adapters/auth/jose-access-token-verifier.js';
import { signAccessToken } from '../../adapters/auth/sign-access-token.js';
import { authenticate, bearerToken } from '../../adapters/http/authenticate.js';
import { createHttpApp } from '../../adapters/http/create-http-app.js';
import { requireActiveToken } from '../../adapters/http/require-active-token.js';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { DependencyUnavailableError } from '../../core/domain/errors.js';
import type { QueuePort } from '../../core/ports/queue.port.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { GetBalance } from '../../core/usecases/get-balance.js';
import { GetPointHistory } from '../../core/usecases/get-point-history.js';
import type { QueueSettings } from '../../core/usecases/queue/queue-settings.js';
import { ListUserReservations } from '../../core/usecases/reservations/list-user-reservations.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';
import { salesUseCases } from '../support/sales-use-cases.js';

const SECRET = 'unit-test-secret-of-the-queue-routes-0123456789';

/**
 * The whole HTTP adapter over in-memory adapters (queue settings of
 * TEST_QUEUE_SETTINGS: 2 ACTIVE at once, for 60 s), plus a probe route
 * behind the access token and the ACTIVE-token guard.
 */
function anApp(queue: QueuePort = new MemoryQueue(), settings: Partial<QueueSettings> = {}) {
  const clock = new ManualClock();
  const uc = queueUseCases(clock, { queue, settings });
  const tx = new MemoryTransactionManager();
  const lock = new MemoryLock(clock);
  const accessTokens = new JoseAccessTokenVerifier({ kind: 'secret', secret: SECRET }, { now: () => clock.now() });
  const app = createHttpApp({
    ...salesUseCases({ lock, tx, clock, expireToken: uc.expireToken, extendToken: uc.extendToken }),
    listUserReservations: new ListUserReservations(tx, clock),
    requireActiveToken: uc.requireActiveToken,
    adminToken: undefined,
    chargePoints: new ChargePoints(lock, tx, clock),
    getBalance: new GetBalance(tx),
    getPointHistory: new GetPointHistory(tx),
    issueToken: uc.issueToken,
    getCurrentToken: uc.getCurrentToken,
    leaveQueue: uc.leaveQueue,
    accessTokens,
    health: { database: () => tx.ping(), lock: () => lock.ping() },
    metrics: new Registry(),
    logger: pino({ level: 'silent' }),
  });
  app.get('/probe', authenticate(accessTokens), requireActiveToken(uc.requireActiveToken), (c) =>
    c.json({ userId: c.get('activeToken').userId, caller: c.get('identity').userId }),
  );
  /** The access token of `userId`, signed on the app's clock. */
  const accessFor = (userId: string) => signAccessToken(SECRET, userId, { now: clock.now() });
  const as = async (userId: string, headers: Record<string, string> = {}) => ({ Authorization: `Bearer ${await accessFor(userId)}`, ...headers });
  const issue = async (userId: string) => app.request('/queue/tokens', { method: 'POST', headers: await as(userId) });
  const current = async (userId: string) => app.request('/queue/tokens/current', { headers: await as(userId) });
  const leave = async (userId: string) => app.request('/queue/tokens/current', { method: 'DELETE', headers: await as(userId) });
  const probe = async (userId: string, queueToken?: string) =>
    app.request('/probe', { headers: await as(userId, queueToken === undefined ? {} : { 'Queue-Token': queueToken }) });
  const tokenOf = async (userId: string) => ((await (await issue(userId)).json()) as { token: string }).token;
  return { app, uc, clock, as, issue, current, leave, probe, tokenOf };
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

  it('POST /queue/tokens answers 201 with a new WAITING token for the caller, then 200 with the same one', async () => {
    const first = await t.issue('u1');
    expect(first.status).toBe(201);
    const body = (await first.json()) as { token: string };
    expect(body).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), status: 'WAITING', position: 1, etaSeconds: 1, expiresAt: null });
    const again = await t.issue('u1');
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(body);
    await t.uc.admitWaiters.execute();
    const active = await t.issue('u1');
    expect(active.status).toBe(200);
    expect(await active.json()).toEqual({ token: body.token, status: 'ACTIVE', position: null, etaSeconds: null, expiresAt: '2026-01-01T00:01:00.000Z' });
  });

  it('POST /queue/tokens takes the user from the access token: a body naming the caller is fine, anyone else 403', async () => {
    const own = await t.app.request('/queue/tokens', {
      method: 'POST',
      headers: await t.as('u1', { 'Content-Type': 'application/json' }),
      body: JSON.stringify({ userId: 'u1' }),
    });
    expect(own.status).toBe(201);
    const empty = await t.app.request('/queue/tokens', { method: 'POST', headers: await t.as('u2', { 'Content-Type': 'application/json' }), body: '{}' });
    expect(empty.status).toBe(201);
    const other = await t.app.request('/queue/tokens', {
      method: 'POST',
      headers: await t.as('u3', { 'Content-Type': 'application/json' }),
      body: JSON.stringify({ userId: 'u1' }),
    });
    expect(await errorOf(other)).toEqual([403, 'FORBIDDEN']);
    // Nothing was issued to anyone by the refused request: u3 has no token, u1 still its own one.
    expect(await errorOf(await t.current('u3'))).toEqual([404, 'NOT_FOUND']);
    expect(await (await t.current('u1')).json()).toMatchObject({ status: 'WAITING', position: 1 });
  });

  it.each([
    ['a userId with a space', { userId: 'a b' }, 'userId: must be'],
    ['a numeric userId', { userId: 5 }, 'userId: must be'],
  ])('POST /queue/tokens refuses %s with 400', async (_name, body, message) => {
    const response = await t.app.request('/queue/tokens', {
      method: 'POST',
      headers: await t.as('u1', { 'Content-Type': 'application/json' }),
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message.startsWith(message), error.message).toBe(true);
  });

  it('GET /queue/tokens/current answers WAITING with position and ETA, then ACTIVE with expiry', async () => {
    const token = await t.tokenOf('u1');
    await t.issue('u2');
    const third = await t.tokenOf('u3');
    const waiting = await t.current('u3');
    expect(waiting.status).toBe(200);
    expect(await waiting.json()).toEqual({ token: third, status: 'WAITING', position: 3, etaSeconds: 2 });
    await t.uc.admitWaiters.execute();
    expect(await (await t.current('u1')).json()).toEqual({ token, status: 'ACTIVE', expiresAt: '2026-01-01T00:01:00.000Z' });
    expect(await (await t.current('u3')).json()).toMatchObject({ token: third, status: 'WAITING', position: 1 });
  });

  it('GET /queue/tokens/current answers 401 UNAUTHENTICATED without an access token, 404 NOT_FOUND without a live queue token', async () => {
    expect(await errorOf(await t.app.request('/queue/tokens/current'))).toEqual([401, 'UNAUTHENTICATED']);
    expect(await errorOf(await t.app.request('/queue/tokens/current', { headers: { Authorization: 'Basic x' } }))).toEqual([401, 'UNAUTHENTICATED']);
    expect(await errorOf(await t.current('u1'))).toEqual([404, 'NOT_FOUND']);
    await t.issue('u1');
    await t.uc.admitWaiters.execute();
    t.clock.advance(60_000);
    expect(await errorOf(await t.current('u1'))).toEqual([404, 'NOT_FOUND']);
    expect((await t.issue('u1')).status).toBe(201);
  });

  it('DELETE /queue/tokens/current: a waiter leaves the line (those behind move up), an ACTIVE slot is given back at once; 404 when none', async () => {
    const first = await t.tokenOf('a');
    await t.tokenOf('b');
    await t.uc.admitWaiters.execute(); // a and b ACTIVE: the two slots are taken
    const c = await t.tokenOf('c');
    await t.tokenOf('d');
    expect((await t.leave('c')).status).toBe(204);
    expect(await errorOf(await t.current('c'))).toEqual([404, 'NOT_FOUND']);
    expect(await errorOf(await t.probe('c', c))).toEqual([401, 'TOKEN_INVALID']);
    expect(await (await t.current('d')).json()).toMatchObject({ status: 'WAITING', position: 1 });

    await t.uc.admitWaiters.execute();
    expect(await (await t.current('d')).json()).toMatchObject({ status: 'WAITING' });
    const left = await t.leave('a');
    expect(left.status).toBe(204);
    expect(await left.text()).toBe('');
    expect(await errorOf(await t.probe('a', first))).toEqual([401, 'TOKEN_INVALID']);
    await t.uc.admitWaiters.execute();
    expect(await (await t.current('d')).json()).toMatchObject({ status: 'ACTIVE' });

    expect(await errorOf(await t.leave('a'))).toEqual([404, 'NOT_FOUND']);
    expect(await errorOf(await t.leave('never-queued'))).toEqual([404, 'NOT_FOUND']);
    expect(await errorOf(await t.app.request('/queue/tokens/current', { method: 'DELETE' }))).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('drops a waiter who stops asking for the presence timeout before admission; asking keeps one in line', async () => {
    const p = anApp(new MemoryQueue(), { activeMax: 1, presenceTimeoutMs: 10_000 });
    const gone = await p.tokenOf('gone');
    const present = await p.tokenOf('present');
    p.clock.advance(6_000);
    expect((await p.current('present')).status).toBe(200); // seen at 6 s
    p.clock.advance(4_000); // 10 s: 'gone' last seen 10 s ago, 'present' 4 s ago
    await p.uc.admitWaiters.execute();
    expect(await (await p.current('present')).json()).toMatchObject({ token: present, status: 'ACTIVE' });
    expect(await errorOf(await p.current('gone'))).toEqual([404, 'NOT_FOUND']);
    expect(await errorOf(await p.probe('gone', gone))).toEqual([401, 'TOKEN_INVALID']);
    const back = await p.issue('gone');
    expect(back.status).toBe(201);
    expect(await back.json()).toMatchObject({ status: 'WAITING', position: 1 });
  });

  it('the guard lets the caller\'s ACTIVE token through, and refuses missing, unknown, WAITING, spent and another user\'s tokens', async () => {
    const active = await t.tokenOf('buyer');
    await t.uc.admitWaiters.execute();
    const othersActive = await t.tokenOf('x0');
    await t.uc.admitWaiters.execute();
    await t.issue('x1');
    const waiting = await t.tokenOf('x2');
    const ok = await t.probe('buyer', active);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ userId: 'buyer', caller: 'buyer' });
    expect(await errorOf(await t.probe('buyer'))).toEqual([401, 'TOKEN_REQUIRED']);
    expect(await errorOf(await t.probe('buyer', ''))).toEqual([401, 'TOKEN_REQUIRED']);
    const unknown = await t.probe('buyer', 'A'.repeat(22));
    expect(unknown.status).toBe(401);
    const unknownBody = await unknown.json();
    expect(unknownBody).toMatchObject({ error: { code: 'TOKEN_INVALID' } });
    expect(await errorOf(await t.probe('buyer', 'not a token at all'))).toEqual([401, 'TOKEN_INVALID']);
    expect(await errorOf(await t.probe('buyer', '%%%'))).toEqual([401, 'TOKEN_INVALID']);
    expect(await errorOf(await t.probe('x2', waiting))).toEqual([403, 'TOKEN_NOT_ACTIVE']);
    // Another user's token, ACTIVE or WAITING, answers exactly as an unknown one.
    for (const token of [othersActive, waiting]) {
      const foreign = await t.probe('buyer', token);
      expect(foreign.status).toBe(401);
      expect(await foreign.json()).toEqual(unknownBody);
    }
    // The old header is not read any more: a queue token in Authorization is not an access token.
    expect(await errorOf(await t.app.request('/probe', { headers: { Authorization: `Bearer ${active}` } }))).toEqual([401, 'UNAUTHENTICATED']);
    await t.uc.expireToken.execute(active);
    expect(await errorOf(await t.probe('buyer', active))).toEqual([401, 'TOKEN_INVALID']);
  });

  it('answers 503 SERVICE_UNAVAILABLE when the queue is down', async () => {
    const down = () => Promise.reject(new DependencyUnavailableError('queue'));
    const broken: QueuePort = { issue: down, current: down, leave: down, extend: down, status: down, admit: down, expire: down, counts: down, ping: down };
    const d = anApp(broken);
    expect(await errorOf(await d.issue('u1'))).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(await errorOf(await d.current('u1'))).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(await errorOf(await d.leave('u1'))).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(await errorOf(await d.probe('u1', 'A'.repeat(22)))).toEqual([503, 'SERVICE_UNAVAILABLE']);
  });
});
