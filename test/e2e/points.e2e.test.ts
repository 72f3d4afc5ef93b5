import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../adapters/auth/sign-access-token.js';
import { loadOrCreateEmbeddedSecret } from '../../app/auth/embedded-secret.js';
import { loadConfig } from '../../app/config.js';
import { startServer } from '../../app/server.js';
import { TOKENS } from '../../app/tokens.js';
import { lockKeys } from '../../core/keys.js';
import { BALANCE_LIMIT, MAX_CHARGE } from '../../core/domain/points.js';
import { deferred } from '../support/deferred.js';
import type { AppShape } from '../support/app-shapes.js';
import { aUser, distributedApp, embeddedApp } from '../support/app-shapes.js';

type Shape = AppShape;

const QUIET = { LOG_LEVEL: 'silent', SEED_DEMO: 'false' } as const;

const embeddedShape = () => embeddedApp(QUIET);
const distributedShape = () => distributedApp(QUIET);

function describePointsApi(name: string, mode: 'embedded' | 'distributed', createShape: () => Promise<Shape>): void {
  describe(`points API: ${name}`, () => {
    let shape: Shape;
    beforeAll(async () => {
      shape = await createShape();
    });
    afterAll(async () => shape?.cleanup());

    const request = (path: string, init?: RequestInit) => shape.application.app.request(path, init);
    const accessTokens = new Map<string, string>();
    /** The headers of a request made by `userId`: their access token, as a client sends it. */
    async function as(userId: string, headers: Record<string, string> = {}): Promise<Record<string, string>> {
      let token = accessTokens.get(userId);
      if (token === undefined) {
        token = await shape.tokenFor(userId);
        accessTokens.set(userId, token);
      }
      return { Authorization: `Bearer ${token}`, ...headers };
    }
    /** A charge of `userId`'s wallet, made by `userId` (the path may also be `me`, made by `caller`). */
    const charge = async (userId: string, body: unknown, headers: Record<string, string> = {}, caller = userId) =>
      request(`/users/${userId}/points/charge`, {
        method: 'POST',
        headers: await as(caller, { 'Content-Type': 'application/json', ...headers }),
        body: JSON.stringify(body),
      });
    const get = async (path: string, caller: string) => request(path, { headers: await as(caller) });
    const balanceOf = async (userId: string) => ((await (await get(`/users/${userId}/points`, userId)).json()) as { balance: number }).balance;
    type HistoryPage = { items: { kind: string; amount: number; balanceAfter: number; at: string }[]; nextCursor: string | null };
    const historyPage = async (userId: string, query = '') => {
      const response = await get(`/users/${userId}/points/history${query}`, userId);
      expect(response.status).toBe(200);
      return (await response.json()) as HistoryPage;
    };
    const historyOf = async (userId: string) => (await historyPage(userId)).items;

    async function expectError(response: Response, status: number, code: string, messageStart?: string) {
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(code);
      expect(typeof body.error.message).toBe('string');
      if (messageStart !== undefined) expect(body.error.message.startsWith(messageStart), body.error.message).toBe(true);
    }

    describe('happy path', () => {
      it('charges, reads the balance and the history newest first', async () => {
        const user = aUser();
        const first = await charge(user, { amount: 10_000 });
        expect(first.status).toBe(200);
        expect(await first.json()).toEqual({ userId: user, balance: 10_000 });
        expect(await (await charge(user, { amount: 2_500 })).json()).toEqual({ userId: user, balance: 12_500 });

        const balance = await get(`/users/${user}/points`, user);
        expect(balance.status).toBe(200);
        expect(await balance.json()).toEqual({ userId: user, balance: 12_500 });
        const mine = await get('/users/me/points', user);
        expect(mine.status).toBe(200);
        expect(await mine.json()).toEqual({ userId: user, balance: 12_500 });

        const history = await historyOf(user);
        expect(history.map(({ kind, amount, balanceAfter }) => ({ kind, amount, balanceAfter }))).toEqual([
          { kind: 'CHARGE', amount: 2_500, balanceAfter: 12_500 },
          { kind: 'CHARGE', amount: 10_000, balanceAfter: 10_000 },
        ]);
        for (const { at } of history) {
          expect(at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
          expect(Math.abs(Date.parse(at) - Date.now())).toBeLessThan(60_000);
        }
        expect(Date.parse(history[0]!.at)).toBeGreaterThanOrEqual(Date.parse(history[1]!.at));
      });

      it('answers balance 0 and an empty history for a user never charged', async () => {
        const user = aUser();
        const response = await get(`/users/${user}/points`, user);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ userId: user, balance: 0 });
        expect(await historyPage(user)).toEqual({ items: [], nextCursor: null });
      });

      it('acts for the caller through `me`: charge, balance and history', async () => {
        const user = aUser();
        const charged = await charge('me', { amount: 300 }, {}, user);
        expect(charged.status).toBe(200);
        expect(await charged.json()).toEqual({ userId: user, balance: 300 });
        expect(await (await get('/users/me/points', user)).json()).toEqual({ userId: user, balance: 300 });
        const history = (await (await get('/users/me/points/history', user)).json()) as HistoryPage;
        expect(history.items.map(({ kind, amount }) => ({ kind, amount }))).toEqual([{ kind: 'CHARGE', amount: 300 }]);
        expect(await balanceOf(user)).toBe(300);
      });
    });

    describe('history paging', () => {
      it('walks the history newest first, a page at a time, exactly once, also while charges land at its head', async () => {
        const user = aUser();
        for (let amount = 1; amount <= 5; amount++) expect((await charge(user, { amount })).status).toBe(200);

        const first = await historyPage(user, '?limit=2');
        expect(first.items.map((item) => item.amount)).toEqual([5, 4]);
        expect(first.nextCursor).toEqual(expect.any(String));
        // A charge between two pages lands at the head: the walk goes on below where it was.
        expect((await charge(user, { amount: 6 })).status).toBe(200);
        const second = await historyPage(user, `?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`);
        expect(second.items.map((item) => item.amount)).toEqual([3, 2]);
        const third = await historyPage(user, `?limit=2&cursor=${encodeURIComponent(second.nextCursor!)}`);
        expect(third).toMatchObject({ nextCursor: null });
        expect(third.items.map((item) => item.amount)).toEqual([1]);
        expect(third.items[0]).toMatchObject({ kind: 'CHARGE', balanceAfter: 1 });

        // A limit that ends exactly at the last item says so: no cursor to an empty page.
        const whole = await historyPage(user, '?limit=6');
        expect(whole.items.map((item) => item.amount)).toEqual([6, 5, 4, 3, 2, 1]);
        expect(whole.nextCursor).toBeNull();
        expect((await historyPage(user, '?limit=100')).items).toHaveLength(6);
      });

      it('gives 50 items by default', async () => {
        const user = aUser();
        for (let i = 0; i < 51; i++) expect((await charge(user, { amount: 1 })).status).toBe(200);
        const first = await historyPage(user);
        expect(first.items).toHaveLength(50);
        expect(first.items[0]!.balanceAfter).toBe(51);
        const rest = await historyPage(user, `?cursor=${encodeURIComponent(first.nextCursor!)}`);
        expect(rest).toMatchObject({ nextCursor: null });
        expect(rest.items.map((item) => item.balanceAfter)).toEqual([1]);
      });

      it.each([
        ['limit=0', 'limit:'],
        ['limit=101', 'limit:'],
        ['limit=-1', 'limit:'],
        ['limit=1.5', 'limit:'],
        ['limit=abc', 'limit:'],
        ['limit=', 'limit:'],
        ['cursor=garbage', 'cursor:'],
        ['cursor=c1.', 'cursor:'],
        ['cursor=c1.-5', 'cursor:'],
        ['cursor=c1.0', 'cursor:'],
        [`cursor=${'c'.repeat(200)}`, 'cursor:'],
      ])('refuses ?%s with 400 VALIDATION_FAILED naming the parameter', async (query, field) => {
        const user = aUser();
        await charge(user, { amount: 1 });
        await expectError(await get(`/users/${user}/points/history?${query}`, user), 400, 'VALIDATION_FAILED', field);
      });
    });

    describe('bad input answers 400 VALIDATION_FAILED naming the field, and charges nothing', () => {
      const json = { 'Content-Type': 'application/json' };
      const bodies: [string, RequestInit, string][] = [
        ['a missing amount', { headers: json, body: '{}' }, 'amount:'],
        ['amount as a string', { headers: json, body: '{"amount":"10"}' }, 'amount:'],
        ['amount null', { headers: json, body: '{"amount":null}' }, 'amount:'],
        ['amount 0', { headers: json, body: '{"amount":0}' }, 'amount:'],
        ['a negative amount', { headers: json, body: '{"amount":-5}' }, 'amount:'],
        ['a fractional amount', { headers: json, body: '{"amount":1.5}' }, 'amount:'],
        ['an amount over the maximum', { headers: json, body: `{"amount":${MAX_CHARGE + 1}}` }, 'amount:'],
        ['a huge amount', { headers: json, body: '{"amount":1e300}' }, 'amount:'],
        ['a body that is not JSON', { headers: json, body: 'amount=5' }, 'body:'],
        ['truncated JSON', { headers: json, body: '{"amount": 5' }, 'body:'],
        ['an empty JSON body', { headers: json, body: '' }, 'body:'],
        ['no body and no Content-Type', {}, 'amount:'],
        ['an array body', { headers: json, body: '[{"amount":5}]' }, 'body:'],
        ['a JSON null body', { headers: json, body: 'null' }, 'body:'],
        ['a JSON number body', { headers: json, body: '5' }, 'body:'],
        ['a text/plain body', { headers: { 'Content-Type': 'text/plain' }, body: '{"amount":5}' }, 'Content-Type:'],
        ['a form body', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'amount=5' }, 'Content-Type:'],
        ['a body over 64 KiB', { headers: json, body: JSON.stringify({ amount: 5, pad: 'x'.repeat(70_000) }) }, 'body:'],
      ];

      it.each(bodies)('%s', async (_name, init, field) => {
        const user = aUser();
        const headers = await as(user, (init.headers ?? {}) as Record<string, string>);
        const response = await request(`/users/${user}/points/charge`, { method: 'POST', ...init, headers });
        await expectError(response, 400, 'VALIDATION_FAILED', field);
        expect(await balanceOf(user)).toBe(0);
      });

      const badUserIds: [string, string][] = [
        ['too long', 'u'.repeat(65)],
        ['with a $', 'a$b'],
        ['with a space', 'a%20b'],
        ['with a slash', 'a%2Fb'],
        ['with non-ASCII', '%C3%A9t%C3%A9'],
      ];

      it.each(badUserIds)('a userId %s, on every points route', async (_name, userId) => {
        const caller = aUser();
        await expectError(await get(`/users/${userId}/points`, caller), 400, 'VALIDATION_FAILED', 'userId:');
        await expectError(await get(`/users/${userId}/points/history`, caller), 400, 'VALIDATION_FAILED', 'userId:');
        await expectError(await charge(userId, { amount: 5 }, {}, caller), 400, 'VALIDATION_FAILED', 'userId:');
        expect(await balanceOf(caller)).toBe(0);
      });

      it.each([
        ['too long', 'k'.repeat(129)],
        ['with a space', 'two words'],
      ])('an Idempotency-Key %s', async (_name, key) => {
        const user = aUser();
        await expectError(await charge(user, { amount: 5 }, { 'Idempotency-Key': key }), 400, 'VALIDATION_FAILED', 'Idempotency-Key:');
        expect(await balanceOf(user)).toBe(0);
      });
    });

    it('answers 404 NOT_FOUND for an unknown route', async () => {
      await expectError(await request('/nope'), 404, 'NOT_FOUND');
      await expectError(await request('/users/u1/points/nope'), 404, 'NOT_FOUND');
      await expectError(await get('/users/u1/points/nope', 'u1'), 404, 'NOT_FOUND');
    });

    // API.md: 405 METHOD_NOT_ALLOWED for a known path with another method.
    it('answers 405 METHOD_NOT_ALLOWED for a known path with another method', async () => {
      await expectError(await request('/users/u1/points', { method: 'DELETE', headers: await as('u1') }), 405, 'METHOD_NOT_ALLOWED');
      await expectError(await request('/users/u1/points/charge', { method: 'GET', headers: await as('u1') }), 405, 'METHOD_NOT_ALLOWED');
    });

    it('refuses a charge that would pass the balance limit with 409 BALANCE_LIMIT_EXCEEDED, writing nothing', async () => {
      const user = aUser();
      for (let i = 0; i < BALANCE_LIMIT / MAX_CHARGE; i++) expect((await charge(user, { amount: MAX_CHARGE })).status).toBe(200);
      expect(await balanceOf(user)).toBe(BALANCE_LIMIT);

      await expectError(await charge(user, { amount: 1 }), 409, 'BALANCE_LIMIT_EXCEEDED');
      expect(await balanceOf(user)).toBe(BALANCE_LIMIT);
      expect((await historyPage(user, '?limit=100')).items).toHaveLength(BALANCE_LIMIT / MAX_CHARGE);
    });

    describe('Idempotency-Key', () => {
      it('replays the first answer and charges once', async () => {
        const user = aUser();
        const key = `charge-${randomBytes(4).toString('hex')}`;
        const first = await charge(user, { amount: 700 }, { 'Idempotency-Key': key });
        expect(first.status).toBe(200);
        expect(first.headers.get('Idempotent-Replayed')).toBeNull();
        const firstBody = await first.json();

        await charge(user, { amount: 50 }); // a charge between the two: the replay must not answer the balance of now
        const replay = await charge(user, { amount: 700 }, { 'Idempotency-Key': key });
        expect(replay.status).toBe(200);
        expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
        expect(await replay.json()).toEqual(firstBody);
        expect(firstBody).toEqual({ userId: user, balance: 700 });

        expect(await balanceOf(user)).toBe(750);
        expect(await historyOf(user)).toHaveLength(2);
      });

      it('refuses the same key with another body with 409 IDEMPOTENCY_KEY_REUSED', async () => {
        const user = aUser();
        const key = `charge-${randomBytes(4).toString('hex')}`;
        expect((await charge(user, { amount: 700 }, { 'Idempotency-Key': key })).status).toBe(200);
        await expectError(await charge(user, { amount: 701 }, { 'Idempotency-Key': key }), 409, 'IDEMPOTENCY_KEY_REUSED');
        expect(await balanceOf(user)).toBe(700);
      });

      it('scopes a key to its user', async () => {
        const [alice, bob] = [aUser(), aUser()];
        const key = `charge-${randomBytes(4).toString('hex')}`;
        expect((await charge(alice, { amount: 10 }, { 'Idempotency-Key': key })).status).toBe(200);
        expect(await (await charge(bob, { amount: 10 }, { 'Idempotency-Key': key })).json()).toEqual({ userId: bob, balance: 10 });
        expect(await balanceOf(alice)).toBe(10);
      });
    });

    describe('operations', () => {
      it('GET /health answers 200 with every check ok', async () => {
        const response = await request('/health');
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ status: 'ok', checks: { database: 'ok', lock: 'ok', cache: 'ok' } });
      });

      // API.md: `{"status": "ok", "mode": "embedded"|"distributed", "checks": {"database", "lock", "cache", "queue"}}`.
      it('GET /health names the mode and checks the queue too', async () => {
        expect(await (await request('/health')).json()).toEqual({ status: 'ok', mode, checks: { database: 'ok', lock: 'ok', cache: 'ok', queue: 'ok' } });
      });

      // API.md: `GET /` → redirect to `/docs`.
      it('GET / redirects to /docs', async () => {
        const response = await request('/');
        expect([301, 302, 303, 307, 308]).toContain(response.status);
        expect(response.headers.get('location')).toBe('/docs');
      });

      it('GET /metrics has HTTP metrics by route template, lock metrics and process metrics', async () => {
        const user = aUser();
        await charge(user, { amount: 5 }, { 'Idempotency-Key': 'metrics-1' });
        const response = await request('/metrics');
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
        const text = await response.text();
        for (const name of ['http_requests_total', 'http_request_duration_seconds', 'lock_wait_seconds', 'lock_hold_seconds', 'cache_events_total', 'process_cpu_seconds_total']) {
          expect(text).toContain(`# TYPE ${name}`);
        }
        expect(text).toMatch(/http_requests_total\{method="POST",route="\/users\/:userId\/points\/charge",status="200"\} \d+/);
        expect(text).toMatch(/lock_hold_seconds_count\{family="point"\} \d+/);
        expect(text).toMatch(/lock_wait_seconds_count\{family="idem",outcome="acquired"\} \d+/);
        expect(text).not.toContain(user);
      });

      it('GET /openapi.json describes every points route with its error body', async () => {
        const response = await request('/openapi.json');
        expect(response.status).toBe(200);
        const doc = (await response.json()) as {
          openapi: string;
          paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
        };
        expect(doc.openapi).toMatch(/^3\./);
        expect(Object.keys(doc.paths)).toEqual(
          expect.arrayContaining(['/users/{userId}/points', '/users/{userId}/points/charge', '/users/{userId}/points/history', '/health', '/metrics']),
        );
        expect(Object.keys(doc.paths['/users/{userId}/points/charge']!.post!.responses)).toEqual(
          expect.arrayContaining(['200', '400', '401', '403', '409', '503']),
        );
        for (const [path, method] of [
          ['/users/{userId}/points', 'get'],
          ['/users/{userId}/points/charge', 'post'],
          ['/users/{userId}/points/history', 'get'],
        ] as const) {
          expect((doc.paths[path]![method] as { security?: unknown }).security, path).toEqual([{ accessToken: [] }]);
        }
        const conflict = doc.paths['/users/{userId}/points/charge']!.post!.responses['409'] as { content: { 'application/json': { schema: { properties: { error: { properties: { code: { enum: string[] } } } } } } } };
        expect(conflict.content['application/json'].schema.properties.error.properties.code.enum).toContain('BALANCE_LIMIT_EXCEEDED');
      });

      it('GET /docs serves the browsable page', async () => {
        const response = await request('/docs');
        expect(response.status).toBe(200);
        expect(await response.text()).toContain('/openapi.json');
      });
    });
  });
}

describePointsApi('embedded (PGlite, in-process lock)', 'embedded', embeddedShape);
describePointsApi('distributed (Postgres, Redis lock)', 'distributed', distributedShape);

describe('startServer', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ticketing-e2e-'));
  });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it('serves on a free port, lets the request in flight finish on close, then refuses connections', async () => {
    const running = await startServer(loadConfig({ ...QUIET, DATA_DIR: dataDir, PORT: '0' }));
    expect((await fetch(`${running.url}/health`)).status).toBe(200);

    // A charge that waits behind a held wallet lock is in flight when close starts.
    const lock = running.application.container.get(TOKENS.Lock);
    const user = aUser();
    const held = deferred();
    const release = deferred();
    const holding = lock.withLock(
      [lockKeys.points(user)],
      async () => {
        held.resolve();
        await release.promise;
      },
      { wait: { kind: 'fail-fast' } },
    );
    await held.promise;
    const arrived = deferred();
    running.server.once('request', () => arrived.resolve());
    // The embedded default: the service made its secret in DATA_DIR at start, and `npm run token` signs with it.
    const access = await signAccessToken(await loadOrCreateEmbeddedSecret(dataDir), user);
    const inFlight = fetch(`${running.url}/users/${user}/points/charge`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${access}` },
      body: JSON.stringify({ amount: 5 }),
    });
    await arrived.promise;

    let closed = false;
    const closing = running.close().then(() => {
      closed = true;
    });
    await expect(fetch(`${running.url}/health`)).rejects.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);

    release.resolve();
    await holding;
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.headers.get('connection'), 'an answer given while draining ends its connection').toBe('close');
    expect(await response.json()).toEqual({ userId: user, balance: 5 });
    await closing;
    expect(closed).toBe(true);
    await running.close(); // twice is fine
  });
});
