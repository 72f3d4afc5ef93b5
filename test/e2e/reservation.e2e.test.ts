/**
 * The sale as a client sees it over HTTP: admin builds the catalog, a buyer
 * queues, charges, reserves, pays, and the seat map and the queue follow;
 * then every error code of the reservation and admin routes. The app gets a
 * ManualClock, so holds end when the test moves it, not after a sleep.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TOKENS } from '../../app/tokens.js';
import { lockKeys } from '../../core/keys.js';
import { DEMO_CONCERT, DEMO_SEATS } from '../../core/usecases/catalog/seed-demo-catalog.js';
import { deferred } from '../support/deferred.js';
import { ManualClock } from '../support/manual-clock.js';
import type { AppShape, Env } from '../support/app-shapes.js';
import { aUser, distributedApp, embeddedApp } from '../support/app-shapes.js';

const ADMIN_TOKEN = 'e2e-admin-token-0123456789';
const HOLD_TTL_SECONDS = 60;
const PRICE = 50_000;
// The admission job effectively off (tests drive rounds through the use case); the sweeper's first round an hour in would be
// nice too, but its interval follows HOLD_TTL_SECONDS: it may run, and must not change any answer below.
const QUIET = {
  LOG_LEVEL: 'silent',
  SEED_DEMO: 'false',
  QUEUE_ADMIT_INTERVAL_MS: '3600000',
  HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS),
  ADMIN_TOKEN,
} as const;

interface Shape extends AppShape {
  readonly clock: ManualClock;
}

/** The app on a ManualClock: holds end when a test moves it. */
async function withClock(start: (env: Env, options: { clock: ManualClock }) => Promise<AppShape>, env: Env): Promise<Shape> {
  const clock = new ManualClock(new Date());
  return { ...(await start({ ...QUIET, ...env }, { clock })), clock };
}

const embeddedShape = (env: Env = {}) => withClock(embeddedApp, env);
const distributedShape = (env: Env = {}) => withClock(distributedApp, env);


interface ReservationBody {
  reservationId: string;
  scheduleId: string;
  seatNo: number;
  price: number;
  status: string;
  expiresAt: string;
}

function describeSaleApi(name: string, createShape: (env?: Env) => Promise<Shape>): void {
  describe(`reservation API: ${name}`, () => {
    let shape: Shape;
    beforeAll(async () => {
      shape = await createShape();
    });
    afterAll(async () => shape?.cleanup());

    const request = (path: string, init?: RequestInit) => shape.application.app.request(path, init);
    const json = (body: unknown, headers: Record<string, string> = {}) => ({
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const bearer = (token: string, headers: Record<string, string> = {}) => ({ Authorization: `Bearer ${token}`, ...headers });

    async function expectError(response: Response, status: number, code: string) {
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect({ status: response.status, code: body.error.code }, body.error.message).toEqual({ status, code });
    }

    /** A concert with one schedule of `seatCount` seats, made through the admin routes. */
    async function aSchedule(seatCount = 3, price = PRICE) {
      const concert = await request('/admin/concerts', json({ title: 'E2E Tour', venue: 'E2E Hall' }, admin));
      expect(concert.status).toBe(201);
      const { id: concertId } = (await concert.json()) as { id: string };
      const schedule = await request(`/admin/concerts/${concertId}/schedules`, json({ startsAt: '2026-09-01T19:00:00+09:00', seatCount, price }, admin));
      expect(schedule.status).toBe(201);
      return { concertId, ...((await schedule.json()) as { id: string; startsAt: string; totalSeats: number; availableSeats: number; price: number }) };
    }

    /** A user with an ACTIVE queue token, admitted by a round of the AdmitWaiters use case. */
    async function aBuyer(userId = aUser()) {
      const issued = await request('/queue/tokens', json({ userId }));
      const { token } = (await issued.json()) as { token: string };
      await shape.application.container.get(TOKENS.AdmitWaiters).execute();
      return { userId, token };
    }

    const charge = (userId: string, amount: number) => request(`/users/${userId}/points/charge`, json({ amount }));
    const reserve = (token: string, body: unknown) => request('/reservations', json(body, bearer(token)));
    const pay = (token: string, reservationId: string, headers: Record<string, string> = {}) =>
      request(`/reservations/${reservationId}/payment`, { method: 'POST', headers: bearer(token, headers) });
    const seatMap = async (scheduleId: string) =>
      ((await (await request(`/schedules/${scheduleId}/seats`)).json()) as { seats: { seatNo: number; price: number; status: string }[] }).seats;
    const statusOf = async (scheduleId: string, seatNo: number) => (await seatMap(scheduleId)).find((s) => s.seatNo === seatNo)?.status;

    it('the full flow: catalog → queue → charge → reserve → pay → seat SOLD → token expired', async () => {
      const schedule = await aSchedule();
      expect(schedule).toMatchObject({ startsAt: '2026-09-01T10:00:00.000Z', totalSeats: 3, availableSeats: 3, price: PRICE });

      const concerts = (await (await request('/concerts')).json()) as { concerts: { id: string; title: string; venue: string }[] };
      expect(concerts.concerts).toContainEqual({ id: schedule.concertId, title: 'E2E Tour', venue: 'E2E Hall' });
      expect(await (await request(`/concerts/${schedule.concertId}/schedules`)).json()).toEqual({
        schedules: [{ id: schedule.id, concertId: schedule.concertId, startsAt: '2026-09-01T10:00:00.000Z', totalSeats: 3, availableSeats: 3 }],
      });
      expect(await (await request(`/schedules/${schedule.id}/seats`)).json()).toEqual({
        scheduleId: schedule.id,
        seats: [1, 2, 3].map((seatNo) => ({ seatNo, price: PRICE, status: 'AVAILABLE' })),
      });

      const { userId, token } = await aBuyer();
      expect((await charge(userId, 60_000)).status).toBe(200);

      const reserved = await reserve(token, { scheduleId: schedule.id, seatNo: 2 });
      expect(reserved.status).toBe(201);
      const reservation = (await reserved.json()) as ReservationBody;
      expect(reservation).toEqual({
        reservationId: expect.any(String),
        scheduleId: schedule.id,
        seatNo: 2,
        price: PRICE,
        status: 'PENDING',
        expiresAt: new Date(shape.clock.now().getTime() + HOLD_TTL_SECONDS * 1_000).toISOString(),
      });
      expect(await statusOf(schedule.id, 2)).toBe('HELD');
      const got = await request(`/reservations/${reservation.reservationId}`, { headers: bearer(token) });
      expect(got.status).toBe(200);
      expect(await got.json()).toEqual(reservation);

      const paid = await pay(token, reservation.reservationId);
      expect(paid.status).toBe(201);
      expect(await paid.json()).toEqual({
        paymentId: expect.any(String),
        reservationId: reservation.reservationId,
        amount: PRICE,
        status: 'CONFIRMED',
        balance: 10_000,
      });

      expect(await statusOf(schedule.id, 2)).toBe('SOLD');
      const schedules = (await (await request(`/concerts/${schedule.concertId}/schedules`)).json()) as { schedules: { availableSeats: number }[] };
      expect(schedules.schedules[0]?.availableSeats).toBe(2);
      expect(await (await request(`/users/${userId}/points`)).json()).toEqual({ userId, balance: 10_000 });
      const history = (await (await request(`/users/${userId}/points/history`)).json()) as { items: { kind: string; amount: number; balanceAfter: number }[] };
      expect(history.items.map(({ kind, amount, balanceAfter }) => ({ kind, amount, balanceAfter }))).toEqual([
        { kind: 'USE', amount: PRICE, balanceAfter: 10_000 },
        { kind: 'CHARGE', amount: 60_000, balanceAfter: 60_000 },
      ]);

      // The token is spent: the next request with it is 401, and the user may queue again.
      await expectError(await request(`/reservations/${reservation.reservationId}`, { headers: bearer(token) }), 401, 'TOKEN_INVALID');
      await expectError(await request('/queue/tokens/current', { headers: bearer(token) }), 401, 'TOKEN_INVALID');
      const again = await aBuyer(userId);
      const confirmed = await request(`/reservations/${reservation.reservationId}`, { headers: bearer(again.token) });
      expect(await confirmed.json()).toMatchObject({ status: 'CONFIRMED' });
    });

    it('404 NOT_FOUND for an unknown concert, schedule, seat or reservation', async () => {
      const schedule = await aSchedule();
      const { token } = await aBuyer();
      await expectError(await request('/concerts/nope/schedules'), 404, 'NOT_FOUND');
      await expectError(await request('/schedules/nope/seats'), 404, 'NOT_FOUND');
      await expectError(await reserve(token, { scheduleId: 'nope', seatNo: 1 }), 404, 'NOT_FOUND');
      await expectError(await reserve(token, { scheduleId: schedule.id, seatNo: 4 }), 404, 'NOT_FOUND');
      await expectError(await request('/reservations/nope', { headers: bearer(token) }), 404, 'NOT_FOUND');
      await expectError(await pay(token, 'nope'), 404, 'NOT_FOUND');
      await expectError(
        await request('/admin/concerts/nope/schedules', json({ startsAt: '2026-09-01T19:00:00Z', seatCount: 1, price: 1 }, admin)),
        404,
        'NOT_FOUND',
      );
    });

    it('403 FORBIDDEN for someone else\'s reservation, read or paid', async () => {
      const schedule = await aSchedule();
      const owner = await aBuyer();
      const other = await aBuyer();
      await charge(other.userId, PRICE);
      const { reservationId } = (await (await reserve(owner.token, { scheduleId: schedule.id, seatNo: 1 })).json()) as ReservationBody;
      await expectError(await request(`/reservations/${reservationId}`, { headers: bearer(other.token) }), 403, 'FORBIDDEN');
      await expectError(await pay(other.token, reservationId), 403, 'FORBIDDEN');
      expect(await (await request(`/users/${other.userId}/points`)).json()).toMatchObject({ balance: PRICE });
      expect(await statusOf(schedule.id, 1)).toBe('HELD');
    });

    it('409 SEAT_UNAVAILABLE for a held or sold seat, and LOCK_BUSY while another request holds the seat', async () => {
      const schedule = await aSchedule();
      const first = await aBuyer();
      const second = await aBuyer();
      await charge(first.userId, PRICE);
      const { reservationId } = (await (await reserve(first.token, { scheduleId: schedule.id, seatNo: 1 })).json()) as ReservationBody;
      await expectError(await reserve(second.token, { scheduleId: schedule.id, seatNo: 1 }), 409, 'SEAT_UNAVAILABLE');
      expect((await pay(first.token, reservationId)).status).toBe(201);
      await expectError(await reserve(second.token, { scheduleId: schedule.id, seatNo: 1 }), 409, 'SEAT_UNAVAILABLE');

      const held = deferred();
      const release = deferred();
      const holding = shape.application.container.get(TOKENS.Lock).withLock(
        [lockKeys.seat(schedule.id, 2)],
        async () => {
          held.resolve();
          await release.promise;
        },
        { wait: { kind: 'fail-fast' } },
      );
      await held.promise;
      await expectError(await reserve(second.token, { scheduleId: schedule.id, seatNo: 2 }), 409, 'LOCK_BUSY');
      release.resolve();
      await holding;
      expect((await reserve(second.token, { scheduleId: schedule.id, seatNo: 2 })).status).toBe(201);
    });

    it('409 RESERVATION_EXPIRED once the hold ends; the seat is free again and the sweeper expires the hold', async () => {
      const schedule = await aSchedule();
      const buyer = await aBuyer();
      const next = await aBuyer();
      await charge(buyer.userId, PRICE);
      const { reservationId } = (await (await reserve(buyer.token, { scheduleId: schedule.id, seatNo: 3 })).json()) as ReservationBody;

      shape.clock.advance(HOLD_TTL_SECONDS * 1_000);
      expect(await statusOf(schedule.id, 3)).toBe('AVAILABLE');
      await expectError(await pay(buyer.token, reservationId), 409, 'RESERVATION_EXPIRED');
      expect(await (await request(`/users/${buyer.userId}/points`)).json()).toMatchObject({ balance: PRICE });
      expect(await (await request(`/reservations/${reservationId}`, { headers: bearer(buyer.token) })).json()).toMatchObject({ status: 'EXPIRED' });

      await shape.application.container.get(TOKENS.ExpireHolds).execute();
      const stored = await shape.application.container.get(TOKENS.Transaction).run((uow) => uow.reservations.find(reservationId));
      expect(stored?.status).toBe('EXPIRED');
      expect((await reserve(next.token, { scheduleId: schedule.id, seatNo: 3 })).status).toBe(201);
      await expectError(await pay(buyer.token, reservationId), 409, 'RESERVATION_EXPIRED');
    });

    it('409 INSUFFICIENT_POINTS writes nothing; after paying, RESERVATION_NOT_PENDING; a repeated Idempotency-Key replays (200)', async () => {
      const schedule = await aSchedule();
      const buyer = await aBuyer();
      const { reservationId } = (await (await reserve(buyer.token, { scheduleId: schedule.id, seatNo: 1 })).json()) as ReservationBody;
      await expectError(await pay(buyer.token, reservationId, { 'Idempotency-Key': 'pay-1' }), 409, 'INSUFFICIENT_POINTS');
      expect(await statusOf(schedule.id, 1)).toBe('HELD');

      await charge(buyer.userId, PRICE + 5);
      const paid = await pay(buyer.token, reservationId, { 'Idempotency-Key': 'pay-1' });
      expect(paid.status).toBe(201);
      const receipt = await paid.json();
      expect(receipt).toMatchObject({ balance: 5 });

      // The token was spent by the payment, but a retry with it and the same key still gets the stored answer.
      const retried = await pay(buyer.token, reservationId, { 'Idempotency-Key': 'pay-1' });
      expect(retried.status).toBe(200);
      expect(retried.headers.get('Idempotent-Replayed')).toBe('true');
      expect(await retried.json()).toEqual(receipt);
      // So does a retry with a new token.
      const again = await aBuyer(buyer.userId);
      const replay = await pay(again.token, reservationId, { 'Idempotency-Key': 'pay-1' });
      expect(replay.status).toBe(200);
      expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
      expect(await replay.json()).toEqual(receipt);
      // A replay is the same sale, and spends the token it came with too.
      await expectError(await pay(again.token, reservationId), 401, 'TOKEN_INVALID');
      const third = await aBuyer(buyer.userId);
      await expectError(await pay(third.token, reservationId), 409, 'RESERVATION_NOT_PENDING');
      expect(await (await request(`/users/${buyer.userId}/points`)).json()).toMatchObject({ balance: 5 });
    });

    it('a lost answer: the token the payment spent replays it with the same key (200) until its expiry, and buys nothing else', async () => {
      const schedule = await aSchedule();
      const buyer = await aBuyer();
      await charge(buyer.userId, 2 * PRICE);
      const first = (await (await reserve(buyer.token, { scheduleId: schedule.id, seatNo: 1 })).json()) as ReservationBody;
      const second = (await (await reserve(buyer.token, { scheduleId: schedule.id, seatNo: 2 })).json()) as ReservationBody;
      const paid = await pay(buyer.token, first.reservationId, { 'Idempotency-Key': 'lost-1' });
      expect(paid.status).toBe(201);
      const receipt = await paid.json();

      // The client never saw the 201: it retries with what it had.
      for (let attempt = 0; attempt < 2; attempt++) {
        const retried = await pay(buyer.token, first.reservationId, { 'Idempotency-Key': 'lost-1' });
        expect(retried.status).toBe(200);
        expect(retried.headers.get('Idempotent-Replayed')).toBe('true');
        expect(await retried.json()).toEqual(receipt);
      }

      // Anything else with the spent token: 401, and nothing changes.
      await expectError(await pay(buyer.token, first.reservationId), 401, 'TOKEN_INVALID');
      await expectError(await pay(buyer.token, first.reservationId, { 'Idempotency-Key': 'lost-2' }), 401, 'TOKEN_INVALID');
      await expectError(await pay(buyer.token, second.reservationId, { 'Idempotency-Key': 'lost-1' }), 401, 'TOKEN_INVALID');
      await expectError(await pay(buyer.token, second.reservationId), 401, 'TOKEN_INVALID');
      await expectError(await request(`/reservations/${first.reservationId}`, { headers: bearer(buyer.token) }), 401, 'TOKEN_INVALID');
      await expectError(await reserve(buyer.token, { scheduleId: schedule.id, seatNo: 3 }), 401, 'TOKEN_INVALID');
      await expectError(await request('/queue/tokens/current', { headers: bearer(buyer.token) }), 401, 'TOKEN_INVALID');
      expect(await statusOf(schedule.id, 2)).toBe('HELD');
      expect(await statusOf(schedule.id, 3)).toBe('AVAILABLE');
      expect(await (await request(`/users/${buyer.userId}/points`)).json()).toMatchObject({ balance: PRICE });

      // The user takes a new token, and pays the other seat with it; the old one still only replays.
      const issued = await request('/queue/tokens', json({ userId: buyer.userId }));
      expect(issued.status).toBe(201);
      const fresh = ((await issued.json()) as { token: string }).token;
      expect(fresh).not.toBe(buyer.token);
      await shape.application.container.get(TOKENS.AdmitWaiters).execute();
      const paidSecond = await pay(fresh, second.reservationId, { 'Idempotency-Key': 'lost-2' });
      expect(paidSecond.status).toBe(201);
      expect(await paidSecond.json()).toMatchObject({ reservationId: second.reservationId, balance: 0 });
      // A spent token replays any stored payment of its user (nothing new is bought), and nothing else.
      expect((await pay(buyer.token, second.reservationId, { 'Idempotency-Key': 'lost-2' })).status).toBe(200);
      expect((await pay(buyer.token, first.reservationId, { 'Idempotency-Key': 'lost-1' })).status).toBe(200);
      await expectError(await pay(buyer.token, second.reservationId, { 'Idempotency-Key': 'lost-3' }), 401, 'TOKEN_INVALID');

      // Past the token's own expiry (QUEUE_TOKEN_TTL_SECONDS), it is unknown: even a replay needs a new token.
      shape.clock.advance(600_000);
      await expectError(await pay(buyer.token, first.reservationId, { 'Idempotency-Key': 'lost-1' }), 401, 'TOKEN_INVALID');
      const later = await aBuyer(buyer.userId);
      expect((await pay(later.token, first.reservationId, { 'Idempotency-Key': 'lost-1' })).status).toBe(200);
    });

    it('needs an ACTIVE token: none 401, unknown 401, waiting 403', async () => {
      const schedule = await aSchedule();
      await expectError(await request('/reservations', json({ scheduleId: schedule.id, seatNo: 1 })), 401, 'TOKEN_REQUIRED');
      await expectError(await reserve(randomBytes(16).toString('base64url'), { scheduleId: schedule.id, seatNo: 1 }), 401, 'TOKEN_INVALID');
      const waiting = (await (await request('/queue/tokens', json({ userId: aUser() }))).json()) as { token: string };
      await expectError(await reserve(waiting.token, { scheduleId: schedule.id, seatNo: 1 }), 403, 'TOKEN_NOT_ACTIVE');
      await expectError(await pay(waiting.token, 'anything'), 403, 'TOKEN_NOT_ACTIVE');
    });

    it('400 VALIDATION_FAILED naming the field', async () => {
      const { token } = await aBuyer();
      const cases: [unknown, string][] = [
        [{ seatNo: 1 }, 'scheduleId:'],
        [{ scheduleId: 'a b', seatNo: 1 }, 'scheduleId:'],
        [{ scheduleId: 's', seatNo: '1' }, 'seatNo:'],
        [{ scheduleId: 's', seatNo: 0 }, 'seatNo:'],
        [{ scheduleId: 's', seatNo: 1.5 }, 'seatNo:'],
      ];
      for (const [body, field] of cases) {
        const response = await reserve(token, body);
        expect(response.status).toBe(400);
        expect(((await response.json()) as { error: { message: string } }).error.message.startsWith(field)).toBe(true);
      }
      const concert = (await (await request('/admin/concerts', json({ title: 'T', venue: 'V' }, admin))).json()) as { id: string };
      for (const [body, field] of [
        [{ startsAt: '2026-09-01', seatCount: 1, price: 1 }, 'startsAt:'],
        [{ startsAt: '2026-02-30T19:00:00Z', seatCount: 1, price: 1 }, 'startsAt:'],
        [{ startsAt: '2026-09-01T19:00:00Z', seatCount: 0, price: 1 }, 'seatCount:'],
        [{ startsAt: '2026-09-01T19:00:00Z', seatCount: 1, price: -1 }, 'price:'],
      ] as const) {
        const response = await request(`/admin/concerts/${concert.id}/schedules`, json(body, admin));
        expect(response.status).toBe(400);
        expect(((await response.json()) as { error: { message: string } }).error.message.startsWith(field)).toBe(true);
      }
      await expectError(await request('/admin/concerts', json({ title: '  ', venue: 'V' }, admin)), 400, 'VALIDATION_FAILED');
    });

    it('admin routes: 403 FORBIDDEN without the admin token or with a wrong one, before reading the body', async () => {
      await expectError(await request('/admin/concerts', json({ title: 'T', venue: 'V' })), 403, 'FORBIDDEN');
      await expectError(await request('/admin/concerts', json({ title: 'T', venue: 'V' }, { Authorization: `Bearer ${ADMIN_TOKEN}x` })), 403, 'FORBIDDEN');
      await expectError(await request('/admin/concerts', json({ title: 'T', venue: 'V' }, { Authorization: ADMIN_TOKEN })), 403, 'FORBIDDEN');
      await expectError(await request('/admin/concerts', json({ nonsense: true }, { Authorization: 'Bearer nope' })), 403, 'FORBIDDEN');
      await expectError(await request('/admin/concerts/x/schedules', json({}, { Authorization: 'Bearer nope' })), 403, 'FORBIDDEN');
    });

    it('GET /openapi.json describes the catalog, reservation and admin routes', async () => {
      const doc = (await (await request('/openapi.json')).json()) as {
        paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
        components: { securitySchemes?: Record<string, unknown> };
      };
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/concerts',
          '/concerts/{concertId}/schedules',
          '/schedules/{scheduleId}/seats',
          '/reservations',
          '/reservations/{reservationId}',
          '/reservations/{reservationId}/payment',
          '/admin/concerts',
          '/admin/concerts/{concertId}/schedules',
        ]),
      );
      const payment = doc.paths['/reservations/{reservationId}/payment']!.post!;
      expect(payment.security).toEqual([{ queueToken: [] }]);
      expect(Object.keys(payment.responses)).toEqual(expect.arrayContaining(['200', '201', '401', '403', '404', '409', '503']));
      expect(doc.paths['/admin/concerts']!.post!.security).toEqual([{ adminToken: [] }]);
      expect(Object.keys(doc.components.securitySchemes ?? {}).sort()).toEqual(['adminToken', 'queueToken']);
    });
  });

  describe(`hold sweeper job: ${name}`, () => {
    it('expires an ended hold on its own (HOLD_TTL_SECONDS=1: a round every 250 ms) and counts it in /metrics', async () => {
      const shape = await createShape({ HOLD_TTL_SECONDS: '1' });
      try {
        const { app, container } = shape.application;
        const json = (body: unknown, headers: Record<string, string> = {}) => ({
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
        const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
        const { id: concertId } = (await (await app.request('/admin/concerts', json({ title: 'T', venue: 'V' }, admin))).json()) as { id: string };
        const schedule = (await (
          await app.request(`/admin/concerts/${concertId}/schedules`, json({ startsAt: '2026-09-01T19:00:00Z', seatCount: 1, price: 1 }, admin))
        ).json()) as { id: string };
        const { token } = (await (await app.request('/queue/tokens', json({ userId: aUser() }))).json()) as { token: string };
        await container.get(TOKENS.AdmitWaiters).execute();
        const reserved = await app.request('/reservations', json({ scheduleId: schedule.id, seatNo: 1 }, { Authorization: `Bearer ${token}` }));
        const { reservationId } = (await reserved.json()) as ReservationBody;

        shape.clock.advance(1_000);
        // What an operator does: watch the stored state until the job has been round.
        await vi.waitFor(
          async () => {
            const stored = await container.get(TOKENS.Transaction).run((uow) => uow.reservations.find(reservationId));
            expect(stored?.status).toBe('EXPIRED');
          },
          { timeout: 10_000, interval: 50 },
        );
        const seats = (await (await app.request(`/schedules/${schedule.id}/seats`)).json()) as { seats: { status: string }[] };
        expect(seats.seats[0]?.status).toBe('AVAILABLE');
        expect(await (await app.request('/metrics')).text()).toMatch(/^reservation_holds_expired_total 1$/m);
      } finally {
        await shape.cleanup();
      }
    });
  });

  describe(`start-up: ${name}`, () => {
    it('seeds the demo catalog into an empty database when SEED_DEMO is true; admin refuses everyone without ADMIN_TOKEN', async () => {
      const shape = await createShape({ SEED_DEMO: 'true', ADMIN_TOKEN: '' });
      try {
        const request = (path: string, init?: RequestInit) => shape.application.app.request(path, init);
        expect(await (await request('/concerts')).json()).toEqual({ concerts: [DEMO_CONCERT] });
        const { schedules } = (await (await request(`/concerts/${DEMO_CONCERT.id}/schedules`)).json()) as { schedules: { id: string; totalSeats: number }[] };
        expect(schedules.length).toBeGreaterThanOrEqual(1);
        const { seats } = (await (await request(`/schedules/${schedules[0]!.id}/seats`)).json()) as { seats: { seatNo: number; status: string }[] };
        expect(seats.map((seat) => seat.seatNo)).toEqual(Array.from({ length: DEMO_SEATS }, (_, i) => i + 1));
        expect(seats.every((seat) => seat.status === 'AVAILABLE')).toBe(true);

        const forbidden = await request('/admin/concerts', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: 'Bearer anything-at-all' },
          body: JSON.stringify({ title: 'T', venue: 'V' }),
        });
        expect(forbidden.status).toBe(403);
      } finally {
        await shape.cleanup();
      }
    });
  });
}

describeSaleApi('embedded (PGlite, in-process lock and queue)', embeddedShape);
describeSaleApi('distributed (Postgres, Redis lock and queue)', distributedShape);
