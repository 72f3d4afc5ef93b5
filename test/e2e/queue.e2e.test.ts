import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requireActiveToken } from '../../adapters/http/require-active-token.js';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { RedisQueue } from '../../adapters/redis/redis-queue.js';
import { TOKENS } from '../../app/tokens.js';
import type { AppShape, Env } from '../support/app-shapes.js';
import { aUser, distributedApp, embeddedApp } from '../support/app-shapes.js';

type Shape = AppShape;

// The admission job effectively off (first round in an hour): tests drive rounds through the use case, so nothing races them.
const QUIET = { LOG_LEVEL: 'silent', SEED_DEMO: 'false', QUEUE_ADMIT_INTERVAL_MS: '3600000' } as const;

const embeddedShape = (env: Env = {}) => embeddedApp({ ...QUIET, ...env });
const distributedShape = (env: Env = {}) => distributedApp({ ...QUIET, ...env });

interface TokenBody {
  token: string;
  status: 'WAITING' | 'ACTIVE';
  position: number | null;
  expiresAt: string | null;
}

function describeQueueApi(name: string, createShape: (env?: Env) => Promise<Shape>, queueClass: new (...args: never[]) => unknown): void {
  describe(`queue API: ${name}`, () => {
    let shape: Shape;
    beforeAll(async () => {
      shape = await createShape();
      // Reservations do not exist yet: a probe route behind the guard, mounted only in this test's app.
      const { app, container } = shape.application;
      app.get('/e2e/probe', requireActiveToken(container.get(TOKENS.RequireActiveToken)), (c) => c.json({ userId: c.get('activeToken').userId }));
    });
    afterAll(async () => shape?.cleanup());

    const request = (path: string, init?: RequestInit) => shape.application.app.request(path, init);
    const issue = (userId: string) =>
      request('/queue/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ userId }) });
    const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
    const statusOf = async (token: string) => (await request('/queue/tokens/current', bearer(token))).json() as Promise<Record<string, unknown>>;
    const admitRound = () => shape.application.container.get(TOKENS.AdmitWaiters).execute();

    async function expectError(response: Response, status: number, code: string) {
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    }

    it(`uses the ${queueClass.name}`, () => {
      expect(shape.application.container.get(TOKENS.Queue)).toBeInstanceOf(queueClass);
    });

    it('issues a token, answers the same one on repeat, and reports ACTIVE after an admission round', async () => {
      const user = aUser();
      const created = await issue(user);
      expect(created.status).toBe(201);
      const body = (await created.json()) as TokenBody;
      expect(body).toMatchObject({ token: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), status: 'WAITING', expiresAt: null });
      expect(body.position).toBeGreaterThanOrEqual(1);

      const repeat = await issue(user);
      expect(repeat.status).toBe(200);
      expect(await repeat.json()).toEqual(body);

      const waiting = await statusOf(body.token);
      expect(waiting).toEqual({ status: 'WAITING', position: body.position, etaSeconds: expect.any(Number) });
      expect(waiting.etaSeconds).toBeGreaterThanOrEqual(1);

      await admitRound();
      const active = await statusOf(body.token);
      expect(active).toEqual({ status: 'ACTIVE', expiresAt: expect.any(String) });
      // QUEUE_TOKEN_TTL_SECONDS defaults to 600.
      expect(Date.parse(active.expiresAt as string) - Date.now()).toBeGreaterThan(590_000);
      expect(await (await issue(user)).json()).toMatchObject({ token: body.token, status: 'ACTIVE', position: null });
    });

    it('counts positions in arrival order', async () => {
      const tokens = [];
      for (const user of [aUser(), aUser(), aUser()]) tokens.push((await (await issue(user)).json()) as TokenBody);
      const [first, second, third] = tokens.map((t) => t.position as number);
      expect([second! - first!, third! - first!]).toEqual([1, 2]);
      await admitRound();
      for (const { token } of tokens) expect(await statusOf(token)).toMatchObject({ status: 'ACTIVE' });
    });

    it('guards a route: no token 401, unknown 401, WAITING 403, ACTIVE passes with its user, expired (paid) 401', async () => {
      const user = aUser();
      const { token } = (await (await issue(user)).json()) as TokenBody;
      await expectError(await request('/e2e/probe'), 401, 'TOKEN_REQUIRED');
      await expectError(await request('/e2e/probe', bearer(randomBytes(16).toString('base64url'))), 401, 'TOKEN_INVALID');
      await expectError(await request('/e2e/probe', bearer(token)), 403, 'TOKEN_NOT_ACTIVE');

      await admitRound();
      const passed = await request('/e2e/probe', bearer(token));
      expect(passed.status).toBe(200);
      expect(await passed.json()).toEqual({ userId: user });

      await shape.application.container.get(TOKENS.ExpireToken).execute(token);
      await expectError(await request('/e2e/probe', bearer(token)), 401, 'TOKEN_INVALID');
      await expectError(await request('/queue/tokens/current', bearer(token)), 401, 'TOKEN_INVALID');
      expect((await issue(user)).status).toBe(201);
    });

    it('refuses a bad body with 400 VALIDATION_FAILED, and GET /queue/tokens/current without a token with 401', async () => {
      await expectError(await request('/queue/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }), 400, 'VALIDATION_FAILED');
      await expectError(await issue('a b'), 400, 'VALIDATION_FAILED');
      await expectError(await request('/queue/tokens/current'), 401, 'TOKEN_REQUIRED');
    });

    it('GET /metrics has the queue gauges, read on scrape', async () => {
      await issue(aUser());
      const counts = await shape.application.container.get(TOKENS.Queue).counts(new Date());
      const text = await (await request('/metrics')).text();
      expect(text).toContain('# TYPE queue_waiting gauge');
      expect(text).toMatch(new RegExp(`^queue_waiting ${counts.waiting}$`, 'm'));
      expect(text).toMatch(new RegExp(`^queue_active ${counts.active}$`, 'm'));
    });

    it('GET /openapi.json describes the queue routes and the bearer scheme', async () => {
      const doc = (await (await request('/openapi.json')).json()) as {
        paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
        components: { securitySchemes?: Record<string, unknown> };
      };
      expect(Object.keys(doc.paths['/queue/tokens']!.post!.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '503']));
      const current = doc.paths['/queue/tokens/current']!.get!;
      expect(current.security).toEqual([{ queueToken: [] }]);
      expect(Object.keys(current.responses)).toEqual(expect.arrayContaining(['200', '401', '503']));
      expect(doc.components.securitySchemes).toMatchObject({ queueToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
    });
  });

  describe(`queue admission job: ${name}`, () => {
    let shape: Shape;
    beforeAll(async () => {
      shape = await createShape({ QUEUE_ADMIT_INTERVAL_MS: '20' });
    });
    afterAll(async () => shape?.cleanup());

    it('admits a waiter on its own, every QUEUE_ADMIT_INTERVAL_MS', async () => {
      const response = await shape.application.app.request('/queue/tokens', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ userId: aUser() }),
      });
      const { token } = (await response.json()) as TokenBody;
      // What a client does: poll until ACTIVE.
      await vi.waitFor(
        async () => {
          const status = await shape.application.app.request('/queue/tokens/current', { headers: { Authorization: `Bearer ${token}` } });
          expect(await status.json()).toMatchObject({ status: 'ACTIVE' });
        },
        { timeout: 10_000, interval: 20 },
      );
    });
  });
}

describeQueueApi('embedded (in-process queue)', embeddedShape, MemoryQueue);
describeQueueApi('distributed (Redis queue)', distributedShape, RedisQueue);
