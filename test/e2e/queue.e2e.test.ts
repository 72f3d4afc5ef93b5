/**
 * The waiting queue over HTTP, for the caller only: issue, current, leave,
 * the ACTIVE-token guard, and presence. The app gets a ManualClock and its
 * admission job is effectively off: tests run admission rounds through the
 * AdmitWaiters use case and move the clock, so nothing races them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { authenticate } from '../../adapters/http/authenticate.js';
import { requireActiveToken } from '../../adapters/http/require-active-token.js';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { RedisQueue } from '../../adapters/redis/redis-queue.js';
import { TOKENS } from '../../app/tokens.js';
import type { AppShape, Env } from '../support/app-shapes.js';
import { aUser, distributedApp, embeddedApp } from '../support/app-shapes.js';
import { ManualClock } from '../support/manual-clock.js';

interface Shape extends AppShape {
  readonly clock: ManualClock;
}

// The admission job effectively off (first round in an hour): tests drive rounds through the use case, so nothing races them.
const QUIET = { LOG_LEVEL: 'silent', SEED_DEMO: 'false', QUEUE_ADMIT_INTERVAL_MS: '3600000' } as const;

/** The app on a ManualClock: tokens expire and waiters go silent when a test moves it. */
async function withClock(start: (env: Env, options: { clock: ManualClock }) => Promise<AppShape>, env: Env): Promise<Shape> {
  const clock = new ManualClock(new Date());
  return { ...(await start({ ...QUIET, ...env }, { clock })), clock };
}

const embeddedShape = (env: Env = {}) => withClock(embeddedApp, env);
const distributedShape = (env: Env = {}) => withClock(distributedApp, env);

interface IssuedBody {
  token: string;
  status: 'WAITING' | 'ACTIVE';
  position: number | null;
  etaSeconds: number | null;
  expiresAt: string | null;
}

/** Requests as a client makes them: every one with the caller's access token. */
function clientOf(shape: () => Shape) {
  const request = (path: string, init?: RequestInit) => shape().application.app.request(path, init);
  const tokens = new Map<string, string>();
  async function as(userId: string, headers: Record<string, string> = {}): Promise<Record<string, string>> {
    let access = tokens.get(userId);
    if (access === undefined) {
      access = await shape().tokenFor(userId);
      tokens.set(userId, access);
    }
    return { Authorization: `Bearer ${access}`, ...headers };
  }
  return {
    request,
    as,
    issue: async (userId: string) => request('/queue/tokens', { method: 'POST', headers: await as(userId) }),
    issueWithBody: async (userId: string, body: string) =>
      request('/queue/tokens', { method: 'POST', headers: await as(userId, { 'Content-Type': 'application/json' }), body }),
    current: async (userId: string) => request('/queue/tokens/current', { headers: await as(userId) }),
    leave: async (userId: string) => request('/queue/tokens/current', { method: 'DELETE', headers: await as(userId) }),
    admitRound: () => shape().application.container.get(TOKENS.AdmitWaiters).execute(),
  };
}

async function expectError(response: Response, status: number, code: string) {
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect({ status: response.status, code: body.error.code }, body.error.message).toEqual({ status, code });
  expect(typeof body.error.message).toBe('string');
}

function describeQueueApi(
  name: string,
  createShape: (env?: Env) => Promise<Shape>,
  onSystemClock: (env: Env) => Promise<AppShape>,
  queueClass: new (...args: never[]) => unknown,
): void {
  describe(`queue API: ${name}`, () => {
    let shape: Shape;
    beforeAll(async () => {
      shape = await createShape();
      // A probe route behind the access token and the ACTIVE-token guard, mounted only in this test's app.
      const { app, container } = shape.application;
      app.get('/e2e/probe', authenticate(container.get(TOKENS.AccessTokens)), requireActiveToken(container.get(TOKENS.RequireActiveToken)), (c) =>
        c.json({ userId: c.get('activeToken').userId }),
      );
    });
    afterAll(async () => shape?.cleanup());

    const client = clientOf(() => shape);
    const { request, as, issue, current, leave, admitRound } = client;
    const probe = async (userId: string, queueToken?: string) =>
      request('/e2e/probe', { headers: await as(userId, queueToken === undefined ? {} : { 'Queue-Token': queueToken }) });
    const tokenOf = async (userId: string) => ((await (await issue(userId)).json()) as IssuedBody).token;

    it(`uses the ${queueClass.name}`, () => {
      expect(shape.application.container.get(TOKENS.Queue)).toBeInstanceOf(queueClass);
    });

    it('issues a token to the caller, answers the same one on repeat, and reports ACTIVE after an admission round', async () => {
      const user = aUser();
      const created = await issue(user);
      expect(created.status).toBe(201);
      const body = (await created.json()) as IssuedBody;
      expect(body).toEqual({
        token: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        status: 'WAITING',
        position: expect.any(Number),
        etaSeconds: expect.any(Number),
        expiresAt: null,
      });
      expect(body.position).toBeGreaterThanOrEqual(1);
      expect(body.etaSeconds).toBeGreaterThanOrEqual(1);

      const repeat = await issue(user);
      expect(repeat.status).toBe(200);
      expect(await repeat.json()).toEqual(body);

      const waiting = await current(user);
      expect(waiting.status).toBe(200);
      expect(await waiting.json()).toEqual({ token: body.token, status: 'WAITING', position: body.position, etaSeconds: body.etaSeconds });

      await admitRound();
      const active = (await (await current(user)).json()) as Record<string, unknown>;
      expect(active).toEqual({ token: body.token, status: 'ACTIVE', expiresAt: expect.any(String) });
      // QUEUE_TOKEN_TTL_SECONDS defaults to 600, from the admission round's instant.
      expect(Date.parse(active.expiresAt as string)).toBe(shape.clock.now().getTime() + 600_000);
      const again = await issue(user);
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ token: body.token, status: 'ACTIVE', position: null, etaSeconds: null, expiresAt: active.expiresAt });
    });

    it('counts positions in arrival order', async () => {
      const users = [aUser(), aUser(), aUser()];
      const bodies: IssuedBody[] = [];
      for (const user of users) bodies.push((await (await issue(user)).json()) as IssuedBody);
      const [first, second, third] = bodies.map((t) => t.position as number);
      expect([second! - first!, third! - first!]).toEqual([1, 2]);
      await admitRound();
      // Each asks for their own token: nobody can ask for another's.
      for (const [i, user] of users.entries()) expect(await (await current(user)).json()).toMatchObject({ token: bodies[i]!.token, status: 'ACTIVE' });
    });

    it('guards a route: no token 401, unknown 401, WAITING 403, ACTIVE passes with its user, another user\'s 401 as unknown, expired (paid) 401', async () => {
      const user = aUser();
      const token = await tokenOf(user);
      await expectError(await request('/e2e/probe', { headers: { 'Queue-Token': token } }), 401, 'UNAUTHENTICATED');
      await expectError(await probe(user), 401, 'TOKEN_REQUIRED');
      const unknown = await probe(user, randomBytes(16).toString('base64url'));
      expect(unknown.status).toBe(401);
      const unknownBody = (await unknown.json()) as { error: { code: string } };
      expect(unknownBody.error.code).toBe('TOKEN_INVALID');
      await expectError(await probe(user, token), 403, 'TOKEN_NOT_ACTIVE');

      await admitRound();
      const passed = await probe(user, token);
      expect(passed.status).toBe(200);
      expect(await passed.json()).toEqual({ userId: user });
      const other = aUser();
      const foreign = await probe(other, token);
      expect(foreign.status).toBe(401);
      expect(await foreign.json()).toEqual(unknownBody);

      await shape.application.container.get(TOKENS.ExpireToken).execute(token);
      await expectError(await probe(user, token), 401, 'TOKEN_INVALID');
      await expectError(await current(user), 404, 'NOT_FOUND');
      expect((await issue(user)).status).toBe(201);
    });

    it('POST /queue/tokens: no body or a body naming the caller issues; another user\'s id is 403 and issues nothing; a bad body 400', async () => {
      const [caller, victim] = [aUser(), aUser()];
      await expectError(await client.issueWithBody(caller, JSON.stringify({ userId: victim })), 403, 'FORBIDDEN');
      await expectError(await current(caller), 404, 'NOT_FOUND');
      await expectError(await current(victim), 404, 'NOT_FOUND');
      await expectError(await client.issueWithBody(caller, JSON.stringify({ userId: 'a b' })), 400, 'VALIDATION_FAILED');
      await expectError(await client.issueWithBody(caller, '{"userId":'), 400, 'VALIDATION_FAILED');
      await expectError(await current(caller), 404, 'NOT_FOUND');
      expect((await client.issueWithBody(caller, JSON.stringify({ userId: caller }))).status).toBe(201);
      expect((await client.issueWithBody(victim, '{}')).status).toBe(201);
    });

    it('answers 401 UNAUTHENTICATED on every queue route without an access token', async () => {
      await expectError(await request('/queue/tokens', { method: 'POST' }), 401, 'UNAUTHENTICATED');
      await expectError(await request('/queue/tokens/current'), 401, 'UNAUTHENTICATED');
      await expectError(await request('/queue/tokens/current', { method: 'DELETE' }), 401, 'UNAUTHENTICATED');
    });

    it('DELETE /queue/tokens/current: a waiter leaves the line, those behind move up; 404 once gone', async () => {
      const [leaver, behind] = [aUser(), aUser()];
      const token = await tokenOf(leaver);
      const { position } = (await (await issue(behind)).json()) as IssuedBody;
      const left = await leave(leaver);
      expect(left.status).toBe(204);
      expect(await left.text()).toBe('');
      await expectError(await current(leaver), 404, 'NOT_FOUND');
      await expectError(await leave(leaver), 404, 'NOT_FOUND');
      await expectError(await probe(leaver, token), 401, 'TOKEN_INVALID');
      expect(await (await current(behind)).json()).toMatchObject({ status: 'WAITING', position: position! - 1 });
      // Leaving is not being banned: a new token, at the end of the line.
      const back = await issue(leaver);
      expect(back.status).toBe(201);
      expect(((await back.json()) as IssuedBody).token).not.toBe(token);
    });

    it('DELETE /queue/tokens/current gives an ACTIVE token back: it passes the guard no more, and nothing of it replays', async () => {
      const user = aUser();
      const token = await tokenOf(user);
      await admitRound();
      expect((await probe(user, token)).status).toBe(200);
      expect((await leave(user)).status).toBe(204);
      await expectError(await probe(user, token), 401, 'TOKEN_INVALID');
      await expectError(
        await request('/reservations/any/payment', { method: 'POST', headers: await as(user, { 'Queue-Token': token, 'Idempotency-Key': 'k-1' }) }),
        401,
        'TOKEN_INVALID',
      );
      await expectError(await current(user), 404, 'NOT_FOUND');
    });

    it('GET /metrics has the queue gauges, read on scrape', async () => {
      await issue(aUser());
      const counts = await shape.application.container.get(TOKENS.Queue).counts(shape.clock.now());
      const text = await (await request('/metrics')).text();
      expect(text).toContain('# TYPE queue_waiting gauge');
      expect(text).toMatch(new RegExp(`^queue_waiting ${counts.waiting}$`, 'm'));
      expect(text).toMatch(new RegExp(`^queue_active ${counts.active}$`, 'm'));
    });

    it('GET /openapi.json describes the queue routes behind the access token, and both security schemes', async () => {
      const doc = (await (await request('/openapi.json')).json()) as {
        paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
        components: { securitySchemes?: Record<string, unknown> };
      };
      const issueRoute = doc.paths['/queue/tokens']!.post!;
      expect(issueRoute.security).toEqual([{ accessToken: [] }]);
      expect(Object.keys(issueRoute.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '401', '403', '503']));
      const currentRoute = doc.paths['/queue/tokens/current']!.get!;
      expect(currentRoute.security).toEqual([{ accessToken: [] }]);
      expect(Object.keys(currentRoute.responses)).toEqual(expect.arrayContaining(['200', '401', '404', '503']));
      const leaveRoute = doc.paths['/queue/tokens/current']!.delete!;
      expect(leaveRoute.security).toEqual([{ accessToken: [] }]);
      expect(Object.keys(leaveRoute.responses)).toEqual(expect.arrayContaining(['204', '401', '404', '503']));
      expect(doc.components.securitySchemes).toMatchObject({
        accessToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
        queueToken: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'Queue-Token' }),
      });
    });
  });

  describe(`queue presence: ${name}`, () => {
    const PRESENCE_TIMEOUT_SECONDS = 30;
    let shape: Shape;
    beforeAll(async () => {
      // One ACTIVE slot: whoever takes it is visible, so a walked-away waiter taking it would show.
      shape = await createShape({ QUEUE_ACTIVE_MAX: '1', QUEUE_PRESENCE_TIMEOUT_SECONDS: String(PRESENCE_TIMEOUT_SECONDS) });
    });
    afterAll(async () => shape?.cleanup());

    const { request, as, issue, current, leave, admitRound } = clientOf(() => shape);

    it('drops a waiter silent for QUEUE_PRESENCE_TIMEOUT_SECONDS before admission; the one who kept asking takes the slot', async () => {
      const [walkedAway, present] = [aUser(), aUser()];
      const away = (await (await issue(walkedAway)).json()) as IssuedBody;
      const stays = (await (await issue(present)).json()) as IssuedBody;
      expect(stays.position).toBe(away.position! + 1);

      shape.clock.advance((PRESENCE_TIMEOUT_SECONDS - 10) * 1_000);
      expect(await (await current(present)).json()).toMatchObject({ status: 'WAITING', position: 2 }); // seen 20 s in
      shape.clock.advance(10_000); // 30 s in: the first waiter has been silent for the whole timeout

      const round = await admitRound();
      expect(round).toMatchObject({ admitted: 1, dropped: 1 });
      expect(await (await current(present)).json()).toMatchObject({ token: stays.token, status: 'ACTIVE' });
      await expectError(await current(walkedAway), 404, 'NOT_FOUND');
      await expectError(await leave(walkedAway), 404, 'NOT_FOUND');
      await expectError(
        await request('/reservations', {
          method: 'POST',
          headers: await as(walkedAway, { 'Queue-Token': away.token, 'Content-Type': 'application/json' }),
          body: JSON.stringify({ scheduleId: 's1', seatNo: 1 }),
        }),
        401,
        'TOKEN_INVALID',
      );

      // Back in line at the end, with a new token; the slot stays with the one who was present.
      const back = await issue(walkedAway);
      expect(back.status).toBe(201);
      const again = (await back.json()) as IssuedBody;
      expect(again).toMatchObject({ status: 'WAITING', position: 1 });
      expect(again.token).not.toBe(away.token);
      await admitRound();
      expect(await (await current(walkedAway)).json()).toMatchObject({ status: 'WAITING' });

      // The present one gives the slot back: the next round admits the waiter.
      expect((await leave(present)).status).toBe(204);
      await admitRound();
      expect(await (await current(walkedAway)).json()).toMatchObject({ token: again.token, status: 'ACTIVE' });
      expect((await leave(walkedAway)).status).toBe(204);
    });

    it('asking again with POST /queue/tokens counts as presence too; an ACTIVE token needs no presence', async () => {
      const [holder, waiter] = [aUser(), aUser()];
      await issue(holder);
      await admitRound();
      const waiting = (await (await issue(waiter)).json()) as IssuedBody;
      shape.clock.advance((PRESENCE_TIMEOUT_SECONDS - 1) * 1_000);
      expect((await issue(waiter)).status).toBe(200); // the same token, and seen now
      shape.clock.advance((PRESENCE_TIMEOUT_SECONDS - 1) * 1_000);
      await admitRound();
      // The holder never asked in those 58 s and is still ACTIVE (600 s TTL); the waiter is still in line.
      expect(await (await current(holder)).json()).toMatchObject({ status: 'ACTIVE' });
      expect(await (await current(waiter)).json()).toMatchObject({ token: waiting.token, status: 'WAITING', position: 1 });
      expect((await leave(holder)).status).toBe(204);
      expect((await leave(waiter)).status).toBe(204);
    });
  });

  describe(`queue admission job: ${name}`, () => {
    let shape: AppShape;
    beforeAll(async () => {
      // The system clock here: the job runs on its own, as in production.
      shape = await onSystemClock({ ...QUIET, QUEUE_ADMIT_INTERVAL_MS: '20' });
    });
    afterAll(async () => shape?.cleanup());

    it('admits a waiter on its own, every QUEUE_ADMIT_INTERVAL_MS', async () => {
      const user = aUser();
      const authorization = { Authorization: `Bearer ${await shape.tokenFor(user)}` };
      const response = await shape.application.app.request('/queue/tokens', { method: 'POST', headers: authorization });
      const { token } = (await response.json()) as IssuedBody;
      // What a client does: poll until ACTIVE.
      await vi.waitFor(
        async () => {
          const status = await shape.application.app.request('/queue/tokens/current', { headers: authorization });
          expect(await status.json()).toMatchObject({ token, status: 'ACTIVE' });
        },
        { timeout: 10_000, interval: 20 },
      );
    });
  });
}

describeQueueApi('embedded (in-process queue)', embeddedShape, embeddedApp, MemoryQueue);
describeQueueApi('distributed (Redis queue)', distributedShape, distributedApp, RedisQueue);
