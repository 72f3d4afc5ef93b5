/**
 * The attacker's matrix, over HTTP, in both shapes. A victim has a wallet
 * with a history, a bought seat and a held one, a queue token a payment
 * spent and an ACTIVE one; another user waits in line. An attacker, with
 * or without an access token of their own, tries every route that acts for
 * a user:
 *
 * - with no or a bad access token forging the victim: 401 UNAUTHENTICATED;
 * - with their own valid access token and the victim's id or reservation: 403 FORBIDDEN;
 * - with their own access token and someone else's queue token: 401
 *   TOKEN_INVALID, the very answer an unknown token gets;
 *
 * and after every refused request the victim's balance, history,
 * reservations, the seat map and every queue token are as they were (read
 * back through the API with the victim's own token, and through the
 * QueuePort, which unlike GET /queue/tokens/current does not count as
 * presence). Then the admin and metrics credentials.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../adapters/auth/sign-access-token.js';
import { loadOrCreateEmbeddedSecret } from '../../app/auth/embedded-secret.js';
import { TOKENS } from '../../app/tokens.js';
import type { AppShape, Env } from '../support/app-shapes.js';
import { aUser, distributedApp, embeddedApp } from '../support/app-shapes.js';
import { ManualClock } from '../support/manual-clock.js';

const ADMIN_TOKEN = 'security-admin-token-0123456789';
const METRICS_TOKEN = 'security-metrics-token-0123456789';
const PRICE = 50_000;
/** Another secret of a valid length: what an attacker signs with when they do not have the service's. */
const OTHER_SECRET = 'an-attacker-secret-that-is-long-enough-0123456789';

// Nothing moves on its own: admission rounds run when the setup runs them, and the clock stands still.
const QUIET = { LOG_LEVEL: 'silent', SEED_DEMO: 'false', QUEUE_ADMIT_INTERVAL_MS: '3600000', ADMIN_TOKEN, METRICS_TOKEN } as const;

interface Shape extends AppShape {
  readonly clock: ManualClock;
}

async function withClock(start: (env: Env, options: { clock: ManualClock }) => Promise<AppShape>): Promise<Shape> {
  const clock = new ManualClock(new Date());
  return { ...(await start({ ...QUIET }, { clock })), clock };
}

/** Who a request names: the path's user, a reservation, a queue token, a seat to take. */
interface Target {
  readonly userId: string;
  readonly reservationId: string;
  readonly queueToken: string;
  readonly scheduleId: string;
  readonly seatNo: number;
}

type Headers = Record<string, string>;
type Request = (path: string, init?: RequestInit) => Response | Promise<Response>;
type Send = (request: Request, target: Target, headers: Headers) => Response | Promise<Response>;

const json = (method: string, body: unknown, headers: Headers) => ({
  method,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** Every route that acts for a user, as a request aimed at `target` with `headers`. */
const USER_ROUTES: [string, Send][] = [
  ['GET /users/{userId}/points', (request, t, h) => request(`/users/${t.userId}/points`, { headers: h })],
  [
    'POST /users/{userId}/points/charge',
    (request, t, h) => request(`/users/${t.userId}/points/charge`, json('POST', { amount: 1_000 }, { 'Idempotency-Key': 'attack-charge', ...h })),
  ],
  ['GET /users/{userId}/points/history', (request, t, h) => request(`/users/${t.userId}/points/history`, { headers: h })],
  ['POST /queue/tokens', (request, _t, h) => request('/queue/tokens', { method: 'POST', headers: h })],
  ['GET /queue/tokens/current', (request, _t, h) => request('/queue/tokens/current', { headers: h })],
  ['DELETE /queue/tokens/current', (request, _t, h) => request('/queue/tokens/current', { method: 'DELETE', headers: h })],
  [
    'POST /reservations',
    (request, t, h) => request('/reservations', json('POST', { scheduleId: t.scheduleId, seatNo: t.seatNo }, { 'Queue-Token': t.queueToken, ...h })),
  ],
  ['GET /reservations/{reservationId}', (request, t, h) => request(`/reservations/${t.reservationId}`, { headers: h })],
  ['GET /users/{userId}/reservations', (request, t, h) => request(`/users/${t.userId}/reservations`, { headers: h })],
  [
    'POST /reservations/{reservationId}/payment',
    (request, t, h) =>
      request(`/reservations/${t.reservationId}/payment`, { method: 'POST', headers: { 'Queue-Token': t.queueToken, 'Idempotency-Key': 'attack-pay', ...h } }),
  ],
];

/** What a credential is built from. */
interface Forge {
  /** The service's own HS256 secret: with it, an attacker (or a buggy provider) signs whatever it likes. */
  readonly secret: string;
  readonly victim: string;
  /** A valid access token of the attacker's own. */
  readonly attackerAccess: string;
  /** The app's now, in seconds. */
  readonly nowSeconds: number;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const bearer = (token: string): Headers => ({ Authorization: `Bearer ${token}` });

/** A JWT signed with the service's own secret, with exactly the claims given (and `iat`). */
function signed(f: Forge, claims: { sub?: string; exp?: number; nbf?: number }, alg = 'HS256'): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg, typ: 'JWT' }).setIssuedAt(f.nowSeconds);
  if (claims.sub !== undefined) jwt.setSubject(claims.sub);
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return jwt.sign(new TextEncoder().encode(f.secret));
}

/** An unsigned JWT (`alg: none`) naming the victim. */
function unsigned(f: Forge): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: f.victim, iat: f.nowSeconds, exp: f.nowSeconds + 3_600 })}.`;
}

/** Every access token that must be refused with 401 UNAUTHENTICATED, each forging the victim where it names anyone. */
const BAD_CREDENTIALS: [string, (f: Forge) => Promise<Headers>][] = [
  ['no Authorization header', async () => ({})],
  ['Bearer with nothing after it', async () => ({ Authorization: 'Bearer' })],
  ['another scheme (Basic)', async (f) => ({ Authorization: `Basic ${Buffer.from(`${f.victim}:password`).toString('base64')}` })],
  ['the token without its scheme', async (f) => ({ Authorization: await signAccessToken(f.secret, f.victim) })],
  ['a malformed token', async () => bearer('not-a-jwt')],
  [
    'an expired token (two days old, 60 s long)',
    async (f) => bearer(await signAccessToken(f.secret, f.victim, { now: new Date((f.nowSeconds - 2 * 86_400) * 1_000), ttlSeconds: 60 })),
  ],
  ['a token signed with another secret', async (f) => bearer(await signAccessToken(OTHER_SECRET, f.victim))],
  ['alg: none (unsigned)', async (f) => bearer(unsigned(f))],
  [
    "the attacker's token with its payload changed to the victim",
    async (f) => {
      const [header, , signature] = f.attackerAccess.split('.');
      return bearer(`${header}.${base64url({ sub: f.victim, iat: f.nowSeconds, exp: f.nowSeconds + 3_600 })}.${signature}`);
    },
  ],
  ['HS512 with the right secret (only HS256 is accepted)', async (f) => bearer(await signed(f, { sub: f.victim, exp: f.nowSeconds + 3_600 }, 'HS512'))],
  ['the right signature but no sub', async (f) => bearer(await signed(f, { exp: f.nowSeconds + 3_600 }))],
  ['the right signature but no exp', async (f) => bearer(await signed(f, { sub: f.victim }))],
  ['the right signature and a sub that is no user id', async (f) => bearer(await signed(f, { sub: `${f.victim} `, exp: f.nowSeconds + 3_600 }))],
  [
    'the right signature, not valid for an hour yet (nbf)',
    async (f) => bearer(await signed(f, { sub: f.victim, nbf: f.nowSeconds + 3_600, exp: f.nowSeconds + 7_200 })),
  ],
];

interface ErrorBody {
  error: { code: string; message: string };
}

/** The one error body of API.md, and nothing else in it: no stack, no internals, not the credential it was given. */
async function expectErrorBody(response: Response, status: number, code: string, presented: Headers = {}): Promise<ErrorBody> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as ErrorBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.message).not.toMatch(/\n\s+at |Error:|jose|JWS|JWT[A-Z]/);
  for (const value of Object.values(presented)) {
    const credential = value.replace(/^\S+\s+/, '');
    if (credential.length >= 8) expect(text).not.toContain(credential);
  }
  return body;
}

function describeSecurity(name: string, start: (env: Env, options: { clock: ManualClock }) => Promise<AppShape>): void {
  describe(`security: ${name}`, () => {
    let shape: Shape;
    const request = (path: string, init?: RequestInit) => shape.application.app.request(path, init);
    const admitRound = () => shape.application.container.get(TOKENS.AdmitWaiters).execute();
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

    /** The world the attacks are aimed at, made in beforeAll. */
    let w: {
      forge: Forge;
      scheduleId: string;
      victim: { userId: string; access: string; spentToken: string; spentKey: string; paidReservationId: string; token: string; reservationId: string };
      attacker: { userId: string; access: string; token: string; reservationId: string };
      waiter: { userId: string; access: string; token: string };
    };
    let before: unknown;

    async function issued(access: string): Promise<string> {
      const response = await request('/queue/tokens', { method: 'POST', headers: bearer(access) });
      expect(response.status).toBe(201);
      return ((await response.json()) as { token: string }).token;
    }

    async function reserve(access: string, queueToken: string, seatNo: number): Promise<string> {
      const response = await request('/reservations', json('POST', { scheduleId: w.scheduleId, seatNo }, { ...bearer(access), 'Queue-Token': queueToken }));
      expect(response.status).toBe(201);
      return ((await response.json()) as { reservationId: string }).reservationId;
    }

    /** Everything an attack could change, read back: through the API with each party's own token, and the queue's own view. */
    async function snapshot() {
      const read = async (path: string, access: string) => {
        const response = await request(path, { headers: bearer(access) });
        expect(response.status, path).toBe(200);
        return response.json();
      };
      const queue = shape.application.container.get(TOKENS.Queue);
      const now = shape.clock.now();
      return {
        victim: {
          balance: await read('/users/me/points', w.victim.access),
          history: await read('/users/me/points/history?limit=100', w.victim.access),
          reservations: await read('/users/me/reservations?limit=100', w.victim.access),
        },
        attacker: {
          balance: await read('/users/me/points', w.attacker.access),
          history: await read('/users/me/points/history?limit=100', w.attacker.access),
          reservations: await read('/users/me/reservations?limit=100', w.attacker.access),
        },
        seats: await (await request(`/schedules/${w.scheduleId}/seats`)).json(),
        queue: {
          victimSpent: await queue.status(w.victim.spentToken, now),
          victimActive: await queue.status(w.victim.token, now),
          attacker: await queue.status(w.attacker.token, now),
          waiter: await queue.status(w.waiter.token, now),
          counts: await queue.counts(now),
        },
      };
    }

    beforeAll(async () => {
      shape = await withClock(start);
      const config = shape.application.container.get(TOKENS.Config);
      const secret = config.auth.kind === 'secret' ? config.auth.secret : await loadOrCreateEmbeddedSecret(config.dataDir);

      const concert = (await (await request('/admin/concerts', json('POST', { title: 'Security', venue: 'Hall' }, admin))).json()) as { id: string };
      const schedule = await request(`/admin/concerts/${concert.id}/schedules`, json('POST', { startsAt: '2027-01-01T19:00:00Z', seatCount: 6, price: PRICE }, admin));
      expect(schedule.status).toBe(201);
      const scheduleId = ((await schedule.json()) as { id: string }).id;

      const victimId = aUser();
      const attackerId = aUser();
      const waiterId = aUser();
      const victimAccess = await shape.tokenFor(victimId);
      const attackerAccess = await shape.tokenFor(attackerId);
      const waiterAccess = await shape.tokenFor(waiterId);
      w = {
        forge: { secret, victim: victimId, attackerAccess, nowSeconds: Math.floor(shape.clock.now().getTime() / 1_000) },
        scheduleId,
        victim: { userId: victimId, access: victimAccess, spentToken: '', spentKey: 'victim-pay-1', paidReservationId: '', token: '', reservationId: '' },
        attacker: { userId: attackerId, access: attackerAccess, token: '', reservationId: '' },
        waiter: { userId: waiterId, access: waiterAccess, token: '' },
      };

      // The victim: charged, one seat bought with a token that the payment spent, one seat held with an ACTIVE token.
      expect((await request('/users/me/points/charge', json('POST', { amount: 3 * PRICE }, bearer(victimAccess)))).status).toBe(200);
      w.victim.spentToken = await issued(victimAccess);
      await admitRound();
      w.victim.paidReservationId = await reserve(victimAccess, w.victim.spentToken, 1);
      const paid = await request(`/reservations/${w.victim.paidReservationId}/payment`, {
        method: 'POST',
        headers: { ...bearer(victimAccess), 'Queue-Token': w.victim.spentToken, 'Idempotency-Key': w.victim.spentKey },
      });
      expect(paid.status).toBe(201);
      w.victim.token = await issued(victimAccess);
      await admitRound();
      w.victim.reservationId = await reserve(victimAccess, w.victim.token, 2);

      // The attacker: an ACTIVE token and a hold of their own, and points to pay with.
      expect((await request('/users/me/points/charge', json('POST', { amount: PRICE }, bearer(attackerAccess)))).status).toBe(200);
      w.attacker.token = await issued(attackerAccess);
      await admitRound();
      w.attacker.reservationId = await reserve(attackerAccess, w.attacker.token, 3);

      // Someone still waiting in line (no round after this).
      w.waiter.token = await issued(waiterAccess);

      before = await snapshot();
      expect(before).toMatchObject({
        victim: { balance: { balance: 2 * PRICE }, reservations: { items: [{ status: 'PENDING' }, { status: 'CONFIRMED' }] } },
        queue: {
          victimSpent: { status: 'SPENT', userId: victimId },
          victimActive: { status: 'ACTIVE', userId: victimId },
          attacker: { status: 'ACTIVE', userId: attackerId },
          waiter: { status: 'WAITING', userId: waiterId },
        },
      });
    });
    afterAll(async () => shape?.cleanup());

    const victimTarget = (): Target => ({
      userId: w.victim.userId,
      reservationId: w.victim.reservationId,
      queueToken: w.victim.token,
      scheduleId: w.scheduleId,
      seatNo: 4,
    });

    describe('401 UNAUTHENTICATED for a missing or bad access token, forging the victim, on every route that acts for a user', () => {
      describe.each(USER_ROUTES)('%s', (_route, send) => {
        it.each(BAD_CREDENTIALS)('%s', async (_credential, credential) => {
          const headers = await credential(w.forge);
          await expectErrorBody(await send(request, victimTarget(), headers), 401, 'UNAUTHENTICATED', headers);
          expect(await snapshot()).toEqual(before);
        });
      });

      it('answers every bad access token alike: the answer does not say what was wrong', async () => {
        const bodies = new Set<string>();
        for (const [, credential] of BAD_CREDENTIALS) {
          const response = await request(`/users/${w.victim.userId}/points`, { headers: await credential(w.forge) });
          bodies.add(JSON.stringify(await expectErrorBody(response, 401, 'UNAUTHENTICATED')));
        }
        expect([...bodies]).toHaveLength(1);
      });
    });

    describe("403 FORBIDDEN for the attacker's own valid access token on the victim's data", () => {
      const cases: [string, Send][] = [
        ['GET /users/{victim}/points', USER_ROUTES[0]![1]],
        ['POST /users/{victim}/points/charge', USER_ROUTES[1]![1]],
        ['GET /users/{victim}/points/history', USER_ROUTES[2]![1]],
        ['GET /users/{victim}/reservations', USER_ROUTES[8]![1]],
        ["GET /reservations/{victim's}", USER_ROUTES[7]![1]],
        [
          "POST /reservations/{victim's}/payment, with the attacker's own ACTIVE queue token",
          (req, t, h) => USER_ROUTES[9]![1](req, t, { ...h, 'Queue-Token': w.attacker.token }),
        ],
        ["POST /queue/tokens with a body naming the victim", (req, t, h) => req('/queue/tokens', json('POST', { userId: t.userId }, h))],
      ];

      it.each(cases)('%s', async (_name, send) => {
        const headers = bearer(w.attacker.access);
        await expectErrorBody(await send(request, victimTarget(), headers), 403, 'FORBIDDEN', headers);
        expect(await snapshot()).toEqual(before);
      });

      it("answers a user who does not exist exactly as the victim: the answer says nothing about who exists", async () => {
        const nobody = aUser();
        for (const path of ['points', 'points/history', 'reservations']) {
          const victims = await expectErrorBody(await request(`/users/${w.victim.userId}/${path}`, { headers: bearer(w.attacker.access) }), 403, 'FORBIDDEN');
          const nobodys = await expectErrorBody(await request(`/users/${nobody}/${path}`, { headers: bearer(w.attacker.access) }), 403, 'FORBIDDEN');
          expect(nobodys).toEqual(victims);
        }
        expect(await snapshot()).toEqual(before);
      });
    });

    describe("401 TOKEN_INVALID for someone else's queue token, the very answer an unknown one gets", () => {
      const reserveWith = (queueToken: () => string): Send => (req, t, h) => USER_ROUTES[6]![1](req, { ...t, queueToken: queueToken() }, h);
      const payWith = (queueToken: () => string, reservationId: () => string, idempotencyKey = 'attack-pay'): Send => (req, t, h) =>
        USER_ROUTES[9]![1](req, { ...t, queueToken: queueToken(), reservationId: reservationId() }, { ...h, 'Idempotency-Key': idempotencyKey });
      const unknown = randomBytes(16).toString('base64url');
      const cases: [string, Send, Send][] = [
        ["reserve with the victim's ACTIVE token", reserveWith(() => w.victim.token), reserveWith(() => unknown)],
        ["reserve with the victim's spent token", reserveWith(() => w.victim.spentToken), reserveWith(() => unknown)],
        ["reserve with a waiter's WAITING token (not TOKEN_NOT_ACTIVE: its state is not told)", reserveWith(() => w.waiter.token), reserveWith(() => unknown)],
        [
          "pay the attacker's own hold with the victim's ACTIVE token",
          payWith(() => w.victim.token, () => w.attacker.reservationId),
          payWith(() => unknown, () => w.attacker.reservationId),
        ],
        [
          "pay the victim's hold with the victim's ACTIVE token",
          payWith(() => w.victim.token, () => w.victim.reservationId),
          payWith(() => unknown, () => w.victim.reservationId),
        ],
        [
          "replay the victim's payment with the victim's spent token and Idempotency-Key (the receipt does not leak)",
          payWith(() => w.victim.spentToken, () => w.victim.paidReservationId, 'victim-pay-1'),
          payWith(() => unknown, () => w.victim.paidReservationId, 'victim-pay-1'),
        ],
        [
          "pay the attacker's own hold with a waiter's WAITING token",
          payWith(() => w.waiter.token, () => w.attacker.reservationId),
          payWith(() => unknown, () => w.attacker.reservationId),
        ],
      ];

      it.each(cases)('%s', async (_name, send, sendUnknown) => {
        const headers = bearer(w.attacker.access);
        const reference = await expectErrorBody(await sendUnknown(request, victimTarget(), headers), 401, 'TOKEN_INVALID');
        const response = await send(request, victimTarget(), headers);
        const body = await expectErrorBody(response, 401, 'TOKEN_INVALID');
        expect(body).toEqual(reference);
        expect(await snapshot()).toEqual(before);
      });
    });

    describe('admin and metrics credentials', () => {
      const createConcert = (headers: Headers) => request('/admin/concerts', json('POST', { title: 'Pwned', venue: 'Nowhere' }, headers));
      const concertCount = async () => ((await (await request('/concerts')).json()) as { concerts: unknown[] }).concerts.length;

      it.each([
        ['no Authorization header', {}, 401, 'UNAUTHENTICATED'],
        ['Bearer with nothing after it', { Authorization: 'Bearer' }, 401, 'UNAUTHENTICATED'],
        ['the admin token without its scheme', { Authorization: ADMIN_TOKEN }, 401, 'UNAUTHENTICATED'],
        ['a wrong admin token', { Authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }, 403, 'FORBIDDEN'],
        ['the metrics token', { Authorization: `Bearer ${METRICS_TOKEN}` }, 403, 'FORBIDDEN'],
      ] as const)('admin with %s: %i %s, nothing created', async (_name, headers, status, code) => {
        const count = await concertCount();
        await expectErrorBody(await createConcert(headers), status, code, headers);
        expect(await concertCount()).toBe(count);
      });

      it("admin with a user's valid access token: 403 FORBIDDEN, nothing created", async () => {
        const count = await concertCount();
        await expectErrorBody(await createConcert(bearer(w.victim.access)), 403, 'FORBIDDEN');
        await expectErrorBody(
          await request(`/admin/concerts/nope/schedules`, json('POST', { startsAt: '2027-01-01T19:00:00Z', seatCount: 1, price: 1 }, bearer(w.attacker.access))),
          403,
          'FORBIDDEN',
        );
        expect(await concertCount()).toBe(count);
      });

      it('admin with the admin token: 201', async () => {
        expect((await createConcert(admin)).status).toBe(201);
      });

      it.each([
        ['no Authorization header', {}, 401, 'UNAUTHENTICATED'],
        ['the metrics token without its scheme', { Authorization: METRICS_TOKEN }, 401, 'UNAUTHENTICATED'],
        ['a wrong metrics token', { Authorization: `Bearer ${METRICS_TOKEN}x` }, 403, 'FORBIDDEN'],
        ['the admin token', { Authorization: `Bearer ${ADMIN_TOKEN}` }, 403, 'FORBIDDEN'],
      ] as const)('GET /metrics with METRICS_TOKEN set and %s: %i %s', async (_name, headers, status, code) => {
        await expectErrorBody(await request('/metrics', { headers }), status, code, headers);
      });

      it("GET /metrics with a user's access token: 403; with METRICS_TOKEN: 200 Prometheus text", async () => {
        await expectErrorBody(await request('/metrics', { headers: bearer(w.victim.access) }), 403, 'FORBIDDEN');
        const response = await request('/metrics', { headers: bearer(METRICS_TOKEN) });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(await response.text()).toContain('# TYPE http_requests_total');
      });

      it('the public routes answer without any token', async () => {
        for (const path of ['/concerts', `/schedules/${w.scheduleId}/seats`, '/health', '/openapi.json', '/docs']) {
          expect((await request(path)).status, path).toBe(200);
        }
        const { concerts } = (await (await request('/concerts')).json()) as { concerts: { id: string }[] };
        expect((await request(`/concerts/${concerts[0]!.id}/schedules`)).status).toBe(200);
      });
    });

    // Last: it changes the attacker's state. It shows that each route above answers its own user, so that every refusal above is
    // the credential's doing, not a route that answers nobody.
    it('every route of the table answers its own user with their own credentials', async () => {
      const own = (seatNo: number, reservationId = w.attacker.reservationId): Target => ({
        userId: w.attacker.userId,
        reservationId,
        queueToken: w.attacker.token,
        scheduleId: w.scheduleId,
        seatNo,
      });
      const headers = bearer(w.attacker.access);
      // Giving the token back last, so that the sale routes still have it.
      const leaveLast = [...USER_ROUTES.filter(([route]) => !route.startsWith('DELETE')), ...USER_ROUTES.filter(([route]) => route.startsWith('DELETE'))];
      const statuses: Record<string, number> = {};
      for (const [route, send] of leaveLast) statuses[route] = (await send(request, own(5), headers)).status;
      expect(statuses).toEqual({
        'GET /users/{userId}/points': 200,
        'POST /users/{userId}/points/charge': 200,
        'GET /users/{userId}/points/history': 200,
        'POST /queue/tokens': 200,
        'GET /queue/tokens/current': 200,
        'POST /reservations': 201,
        'GET /reservations/{reservationId}': 200,
        'GET /users/{userId}/reservations': 200,
        'POST /reservations/{reservationId}/payment': 201,
        'DELETE /queue/tokens/current': 204,
      });
      // The victim's state went through all of it untouched.
      const after = (await snapshot()) as { victim: unknown };
      expect(after.victim).toEqual((before as { victim: unknown }).victim);
    });
  });
}

describeSecurity('embedded (PGlite, embedded secret, in-process queue)', embeddedApp);
describeSecurity('distributed (Postgres, AUTH_JWT_SECRET, Redis queue)', distributedApp);
