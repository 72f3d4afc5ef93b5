/**
 * The sale as a client sees it over HTTP: admin builds the catalog, a buyer
 * queues, charges, reserves, pays, and the seat map and the queue follow;
 * then every error code of the reservation and admin routes. Every request
 * that acts for a user carries that user's access token; reserving and
 * paying also the user's own ACTIVE queue token (`Queue-Token`). The app
 * gets a ManualClock, so holds and tokens end when the test moves it, not
 * after a sleep, and admission rounds run when a test runs the use case.
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
const QUEUE_TOKEN_TTL_MS = 600_000;
const MAX_SEATS_PER_USER = 4;
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

interface ReservationList {
  items: ReservationBody[];
  nextCursor: string | null;
}

/** Someone with an access token. */
interface User {
  readonly userId: string;
  readonly access: string;
}

/** A user with a queue token (ACTIVE once admitted). */
interface Buyer extends User {
  readonly token: string;
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const as = (user: User, headers: Record<string, string> = {}) => ({ Authorization: `Bearer ${user.access}`, ...headers });
/** The headers of a sale request: the access token and the queue token. */
const selling = (buyer: Buyer, headers: Record<string, string> = {}) => as(buyer, { 'Queue-Token': buyer.token, ...headers });

async function expectError(response: Response, status: number, code: string) {
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect({ status: response.status, code: body.error.code }, body.error.message).toEqual({ status, code });
}

/** What every test of a shape uses: requests as clients make them. */
function clientOf(shape: () => Shape) {
  const request = (path: string, init?: RequestInit) => shape().application.app.request(path, init);

  /** A concert with one schedule of `seatCount` seats, made through the admin routes. */
  async function aSchedule(seatCount = 3, price = PRICE) {
    const concert = await request('/admin/concerts', json({ title: 'E2E Tour', venue: 'E2E Hall' }, admin));
    expect(concert.status).toBe(201);
    const { id: concertId } = (await concert.json()) as { id: string };
    const schedule = await request(`/admin/concerts/${concertId}/schedules`, json({ startsAt: '2026-09-01T19:00:00+09:00', seatCount, price }, admin));
    expect(schedule.status).toBe(201);
    return { concertId, ...((await schedule.json()) as { id: string; startsAt: string; totalSeats: number; availableSeats: number; price: number }) };
  }

  async function aUserWithAccess(userId = aUser()): Promise<User> {
    return { userId, access: await shape().tokenFor(userId) };
  }

  /** A user in line with a new queue token, not admitted. */
  async function aWaiter(user?: User): Promise<Buyer> {
    const who = user ?? (await aUserWithAccess());
    const issued = await request('/queue/tokens', { method: 'POST', headers: as(who) });
    expect(issued.status, 'a new queue token').toBe(201);
    return { ...who, token: ((await issued.json()) as { token: string }).token };
  }

  /** A user with an ACTIVE queue token, admitted by a round of the AdmitWaiters use case. */
  async function aBuyer(user?: User): Promise<Buyer> {
    const waiter = await aWaiter(user);
    await shape().application.container.get(TOKENS.AdmitWaiters).execute();
    return waiter;
  }

  const charge = (user: User, amount: number) => request('/users/me/points/charge', json({ amount }, as(user)));
  const reserve = (buyer: Buyer, body: unknown) => request('/reservations', json(body, selling(buyer)));
  const pay = (buyer: Buyer, reservationId: string, headers: Record<string, string> = {}) =>
    request(`/reservations/${reservationId}/payment`, { method: 'POST', headers: selling(buyer, headers) });
  const getReservation = (user: User, reservationId: string) => request(`/reservations/${reservationId}`, { headers: as(user) });
  const listReservations = (user: User, query = '', pathUser = 'me') => request(`/users/${pathUser}/reservations${query}`, { headers: as(user) });
  const currentToken = (user: User) => request('/queue/tokens/current', { headers: as(user) });
  const balanceOf = async (user: User) => ((await (await request('/users/me/points', { headers: as(user) })).json()) as { balance: number }).balance;
  const seatMap = async (scheduleId: string) =>
    ((await (await request(`/schedules/${scheduleId}/seats`)).json()) as { seats: { seatNo: number; price: number; status: string }[] }).seats;
  const statusOf = async (scheduleId: string, seatNo: number) => (await seatMap(scheduleId)).find((s) => s.seatNo === seatNo)?.status;
  async function reserved(buyer: Buyer, scheduleId: string, seatNo: number): Promise<ReservationBody> {
    const response = await reserve(buyer, { scheduleId, seatNo });
    expect(response.status, `seat ${seatNo}`).toBe(201);
    return (await response.json()) as ReservationBody;
  }

  return {
    request,
    aSchedule,
    aUserWithAccess,
    aWaiter,
    aBuyer,
    charge,
    reserve,
    reserved,
    pay,
    getReservation,
    listReservations,
    currentToken,
    balanceOf,
    seatMap,
    statusOf,
  };
}

function describeSaleApi(name: string, createShape: (env?: Env) => Promise<Shape>): void {
  describe(`reservation API: ${name}`, () => {
    let shape: Shape;
    beforeAll(async () => {
      shape = await createShape();
    });
    afterAll(async () => shape?.cleanup());

    const {
      request,
      aSchedule,
      aUserWithAccess,
      aWaiter,
      aBuyer,
      charge,
      reserve,
      reserved,
      pay,
      getReservation,
      listReservations,
      currentToken,
      balanceOf,
      statusOf,
    } = clientOf(() => shape);

    it('the full flow: catalog → queue → charge → reserve → pay → seat SOLD → token spent, the reservation still readable', async () => {
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

      const buyer = await aBuyer();
      expect((await charge(buyer, 60_000)).status).toBe(200);

      const response = await reserve(buyer, { scheduleId: schedule.id, seatNo: 2 });
      expect(response.status).toBe(201);
      const reservation = (await response.json()) as ReservationBody;
      expect(reservation).toEqual({
        reservationId: expect.any(String),
        scheduleId: schedule.id,
        seatNo: 2,
        price: PRICE,
        status: 'PENDING',
        expiresAt: new Date(shape.clock.now().getTime() + HOLD_TTL_SECONDS * 1_000).toISOString(),
      });
      expect(await statusOf(schedule.id, 2)).toBe('HELD');
      const got = await getReservation(buyer, reservation.reservationId);
      expect(got.status).toBe(200);
      expect(await got.json()).toEqual(reservation);

      const paid = await pay(buyer, reservation.reservationId);
      expect(paid.status).toBe(201);
      expect(paid.headers.get('Idempotent-Replayed')).toBeNull();
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
      expect(await (await request(`/users/${buyer.userId}/points`, { headers: as(buyer) })).json()).toEqual({ userId: buyer.userId, balance: 10_000 });
      const history = (await (await request(`/users/${buyer.userId}/points/history`, { headers: as(buyer) })).json()) as {
        items: { kind: string; amount: number; balanceAfter: number }[];
        nextCursor: string | null;
      };
      expect(history.items.map(({ kind, amount, balanceAfter }) => ({ kind, amount, balanceAfter }))).toEqual([
        { kind: 'USE', amount: PRICE, balanceAfter: 10_000 },
        { kind: 'CHARGE', amount: 60_000, balanceAfter: 60_000 },
      ]);
      expect(history.nextCursor).toBeNull();

      // The payment left nothing to pay: the token is spent. The caller has no live token, and the spent one buys nothing.
      await expectError(await currentToken(buyer), 404, 'NOT_FOUND');
      await expectError(await reserve(buyer, { scheduleId: schedule.id, seatNo: 3 }), 401, 'TOKEN_INVALID');
      expect(await statusOf(schedule.id, 3)).toBe('AVAILABLE');
      // Reading needs only the access token, whatever became of the queue token.
      const confirmed = await getReservation(buyer, reservation.reservationId);
      expect(confirmed.status).toBe(200);
      expect(await confirmed.json()).toEqual({ ...reservation, status: 'CONFIRMED' });
      expect(await (await listReservations(buyer)).json()).toEqual({ items: [{ ...reservation, status: 'CONFIRMED' }], nextCursor: null });
      // The user may queue again.
      const again = await aBuyer(buyer);
      expect(again.token).not.toBe(buyer.token);
      expect(await (await currentToken(buyer)).json()).toMatchObject({ token: again.token, status: 'ACTIVE' });
    });

    it('404 NOT_FOUND for an unknown concert, schedule, seat or reservation', async () => {
      const schedule = await aSchedule();
      const buyer = await aBuyer();
      await expectError(await request('/concerts/nope/schedules'), 404, 'NOT_FOUND');
      await expectError(await request('/schedules/nope/seats'), 404, 'NOT_FOUND');
      await expectError(await reserve(buyer, { scheduleId: 'nope', seatNo: 1 }), 404, 'NOT_FOUND');
      await expectError(await reserve(buyer, { scheduleId: schedule.id, seatNo: 4 }), 404, 'NOT_FOUND');
      await expectError(await getReservation(buyer, 'nope'), 404, 'NOT_FOUND');
      await expectError(await pay(buyer, 'nope'), 404, 'NOT_FOUND');
      await expectError(
        await request('/admin/concerts/nope/schedules', json({ startsAt: '2026-09-01T19:00:00Z', seatCount: 1, price: 1 }, admin)),
        404,
        'NOT_FOUND',
      );
    });

    it("403 FORBIDDEN for someone else's reservation, read or paid (with the payer's own ACTIVE token); nothing changes", async () => {
      const schedule = await aSchedule();
      const owner = await aBuyer();
      const other = await aBuyer();
      await charge(other, PRICE);
      const reservation = await reserved(owner, schedule.id, 1);
      await expectError(await getReservation(other, reservation.reservationId), 403, 'FORBIDDEN');
      await expectError(await pay(other, reservation.reservationId), 403, 'FORBIDDEN');
      await expectError(await pay(other, reservation.reservationId, { 'Idempotency-Key': 'steal-1' }), 403, 'FORBIDDEN');
      expect(await balanceOf(other)).toBe(PRICE);
      expect(await statusOf(schedule.id, 1)).toBe('HELD');
      expect(await (await getReservation(owner, reservation.reservationId)).json()).toEqual(reservation);
      expect(await (await listReservations(other)).json()).toEqual({ items: [], nextCursor: null });
      // The refused payer's token is untouched.
      expect(await (await currentToken(other)).json()).toMatchObject({ token: other.token, status: 'ACTIVE' });
    });

    it('409 SEAT_UNAVAILABLE for a held or sold seat, and LOCK_BUSY while another request holds the seat', async () => {
      const schedule = await aSchedule();
      const first = await aBuyer();
      const second = await aBuyer();
      await charge(first, PRICE);
      const { reservationId } = await reserved(first, schedule.id, 1);
      await expectError(await reserve(second, { scheduleId: schedule.id, seatNo: 1 }), 409, 'SEAT_UNAVAILABLE');
      expect((await pay(first, reservationId)).status).toBe(201);
      await expectError(await reserve(second, { scheduleId: schedule.id, seatNo: 1 }), 409, 'SEAT_UNAVAILABLE');

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
      await expectError(await reserve(second, { scheduleId: schedule.id, seatNo: 2 }), 409, 'LOCK_BUSY');
      release.resolve();
      await holding;
      expect((await reserve(second, { scheduleId: schedule.id, seatNo: 2 })).status).toBe(201);
    });

    it('409 RESERVATION_EXPIRED once the hold ends; the seat is free again and the sweeper expires the hold', async () => {
      const schedule = await aSchedule();
      const buyer = await aBuyer();
      const next = await aBuyer();
      await charge(buyer, PRICE);
      const { reservationId } = await reserved(buyer, schedule.id, 3);

      shape.clock.advance(HOLD_TTL_SECONDS * 1_000);
      expect(await statusOf(schedule.id, 3)).toBe('AVAILABLE');
      await expectError(await pay(buyer, reservationId), 409, 'RESERVATION_EXPIRED');
      expect(await balanceOf(buyer)).toBe(PRICE);
      expect(await (await getReservation(buyer, reservationId)).json()).toMatchObject({ status: 'EXPIRED' });

      await shape.application.container.get(TOKENS.ExpireHolds).execute();
      const stored = await shape.application.container.get(TOKENS.Transaction).run((uow) => uow.reservations.find(reservationId));
      expect(stored?.status).toBe('EXPIRED');
      expect((await reserve(next, { scheduleId: schedule.id, seatNo: 3 })).status).toBe(201);
      await expectError(await pay(buyer, reservationId), 409, 'RESERVATION_EXPIRED');
    });

    it('409 INSUFFICIENT_POINTS writes nothing; a repeated Idempotency-Key replays (200), with the spent token or a new one, and spends no new token', async () => {
      const schedule = await aSchedule();
      const buyer = await aBuyer();
      const { reservationId } = await reserved(buyer, schedule.id, 1);
      await expectError(await pay(buyer, reservationId, { 'Idempotency-Key': 'pay-1' }), 409, 'INSUFFICIENT_POINTS');
      expect(await statusOf(schedule.id, 1)).toBe('HELD');
      expect(await (await currentToken(buyer)).json()).toMatchObject({ token: buyer.token, status: 'ACTIVE' });

      await charge(buyer, PRICE + 5);
      const paid = await pay(buyer, reservationId, { 'Idempotency-Key': 'pay-1' });
      expect(paid.status).toBe(201);
      const receipt = await paid.json();
      expect(receipt).toMatchObject({ balance: 5 });
      await expectError(await currentToken(buyer), 404, 'NOT_FOUND');

      // The token was spent by the payment, but a retry with it and the same key still gets the stored answer.
      const retried = await pay(buyer, reservationId, { 'Idempotency-Key': 'pay-1' });
      expect(retried.status).toBe(200);
      expect(retried.headers.get('Idempotent-Replayed')).toBe('true');
      expect(await retried.json()).toEqual(receipt);
      // So does a retry with a new token, which the replay leaves ACTIVE.
      const again = await aBuyer(buyer);
      const replay = await pay(again, reservationId, { 'Idempotency-Key': 'pay-1' });
      expect(replay.status).toBe(200);
      expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
      expect(await replay.json()).toEqual(receipt);
      expect(await (await currentToken(buyer)).json()).toMatchObject({ token: again.token, status: 'ACTIVE' });
      // Anything but the replay is a new payment of a paid reservation.
      await expectError(await pay(again, reservationId), 409, 'RESERVATION_NOT_PENDING');
      await expectError(await pay(again, reservationId, { 'Idempotency-Key': 'pay-2' }), 409, 'RESERVATION_NOT_PENDING');
      expect(await balanceOf(buyer)).toBe(5);
      expect(await (await currentToken(buyer)).json()).toMatchObject({ token: again.token, status: 'ACTIVE' });
    });

    it('three holds paid with one admission: the token is spent only by the last payment; a lost answer replays after, and nothing else', async () => {
      const schedule = await aSchedule(4);
      const buyer = await aBuyer();
      await charge(buyer, 3 * PRICE);
      const holds = [await reserved(buyer, schedule.id, 1), await reserved(buyer, schedule.id, 2), await reserved(buyer, schedule.id, 3)];

      const receipts: unknown[] = [];
      for (const [i, hold] of holds.entries()) {
        const paid = await pay(buyer, hold.reservationId, { 'Idempotency-Key': `three-${i}` });
        expect(paid.status, `payment ${i + 1}`).toBe(201);
        const receipt = await paid.json();
        expect(receipt).toMatchObject({ reservationId: hold.reservationId, balance: (2 - i) * PRICE });
        receipts.push(receipt);
        if (i < 2) expect(await (await currentToken(buyer)).json(), `after payment ${i + 1}`).toMatchObject({ token: buyer.token, status: 'ACTIVE' });
      }
      await expectError(await currentToken(buyer), 404, 'NOT_FOUND');
      for (const seatNo of [1, 2, 3]) expect(await statusOf(schedule.id, seatNo)).toBe('SOLD');

      // The client never saw the last 201: it retries with what it had, and gets the stored payment.
      for (let attempt = 0; attempt < 2; attempt++) {
        const retried = await pay(buyer, holds[2]!.reservationId, { 'Idempotency-Key': 'three-2' });
        expect(retried.status).toBe(200);
        expect(retried.headers.get('Idempotent-Replayed')).toBe('true');
        expect(await retried.json()).toEqual(receipts[2]);
      }
      // A spent token replays any stored payment of its user (nothing new is bought)...
      const first = await pay(buyer, holds[0]!.reservationId, { 'Idempotency-Key': 'three-0' });
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual(receipts[0]);
      // ...and nothing else: 401, and nothing changes.
      await expectError(await pay(buyer, holds[2]!.reservationId), 401, 'TOKEN_INVALID');
      await expectError(await pay(buyer, holds[2]!.reservationId, { 'Idempotency-Key': 'three-9' }), 401, 'TOKEN_INVALID');
      await expectError(await pay(buyer, holds[1]!.reservationId, { 'Idempotency-Key': 'three-0' }), 401, 'TOKEN_INVALID');
      await expectError(await reserve(buyer, { scheduleId: schedule.id, seatNo: 4 }), 401, 'TOKEN_INVALID');
      expect(await statusOf(schedule.id, 4)).toBe('AVAILABLE');
      expect(await balanceOf(buyer)).toBe(0);
      for (const hold of holds) expect(await (await getReservation(buyer, hold.reservationId)).json()).toEqual({ ...hold, status: 'CONFIRMED' });

      // A new token replays too, and stays ACTIVE: a replay never spends.
      const fresh = await aBuyer(buyer);
      expect(fresh.token).not.toBe(buyer.token);
      const replayed = await pay(fresh, holds[1]!.reservationId, { 'Idempotency-Key': 'three-1' });
      expect(replayed.status).toBe(200);
      expect(await replayed.json()).toEqual(receipts[1]);
      expect(await (await currentToken(buyer)).json()).toMatchObject({ token: fresh.token, status: 'ACTIVE' });

      // Past the spent token's own expiry (QUEUE_TOKEN_TTL_SECONDS), it is unknown: even a replay needs a live token.
      shape.clock.advance(QUEUE_TOKEN_TTL_MS);
      await expectError(await pay(buyer, holds[2]!.reservationId, { 'Idempotency-Key': 'three-2' }), 401, 'TOKEN_INVALID');
      const later = await aBuyer(buyer);
      const late = await pay(later, holds[2]!.reservationId, { 'Idempotency-Key': 'three-2' });
      expect(late.status).toBe(200);
      expect(await late.json()).toEqual(receipts[2]);
    });

    it('a hold that ends after the queue token extends the token to the hold\'s end; one inside the token\'s life leaves it', async () => {
      const schedule = await aSchedule();
      const buyer = await aBuyer();
      await charge(buyer, PRICE);
      const { expiresAt: tokenEnd } = (await (await currentToken(buyer)).json()) as { expiresAt: string };
      const early = await reserved(buyer, schedule.id, 1);
      expect(await (await currentToken(buyer)).json()).toMatchObject({ status: 'ACTIVE', expiresAt: tokenEnd });

      // Ten seconds before the token ends, a new hold of HOLD_TTL_SECONDS: the token lives until it ends.
      shape.clock.advance(Date.parse(tokenEnd) - shape.clock.now().getTime() - 10_000);
      const late = await reserved(buyer, schedule.id, 2);
      expect(Date.parse(late.expiresAt)).toBeGreaterThan(Date.parse(tokenEnd));
      expect(await (await currentToken(buyer)).json()).toEqual({ token: buyer.token, status: 'ACTIVE', expiresAt: late.expiresAt });

      // Past the token's own end, the hold is paid with it.
      shape.clock.advance(30_000);
      const paid = await pay(buyer, late.reservationId);
      expect(paid.status).toBe(201);
      expect(await (await getReservation(buyer, early.reservationId)).json()).toMatchObject({ status: 'EXPIRED' });
      await expectError(await currentToken(buyer), 404, 'NOT_FOUND');
    });

    it(`409 SEAT_LIMIT_REACHED at the ${MAX_SEATS_PER_USER + 1}th seat of a schedule: PENDING and CONFIRMED count, ended holds do not`, async () => {
      const schedule = await aSchedule(7);
      const elsewhere = await aSchedule(1);
      const buyer = await aBuyer();
      await charge(buyer, 2 * PRICE);
      const holds: ReservationBody[] = [];
      for (let seatNo = 1; seatNo <= MAX_SEATS_PER_USER; seatNo++) holds.push(await reserved(buyer, schedule.id, seatNo));

      await expectError(await reserve(buyer, { scheduleId: schedule.id, seatNo: 5 }), 409, 'SEAT_LIMIT_REACHED');
      expect(await statusOf(schedule.id, 5)).toBe('AVAILABLE');
      expect(((await (await listReservations(buyer)).json()) as ReservationList).items).toHaveLength(MAX_SEATS_PER_USER);

      // Two of them bought: still four seats of the schedule.
      for (const hold of holds.slice(0, 2)) expect((await pay(buyer, hold.reservationId)).status).toBe(201);
      await expectError(await reserve(buyer, { scheduleId: schedule.id, seatNo: 5 }), 409, 'SEAT_LIMIT_REACHED');
      // The limit is per schedule.
      expect((await reserve(buyer, { scheduleId: elsewhere.id, seatNo: 1 })).status).toBe(201);
      // Someone else is not limited by this buyer's seats.
      const other = await aBuyer();
      expect((await reserve(other, { scheduleId: schedule.id, seatNo: 7 })).status).toBe(201);

      // Once the two unpaid holds end, they no longer count: two more seats, and no third.
      shape.clock.advance(HOLD_TTL_SECONDS * 1_000);
      expect((await reserve(buyer, { scheduleId: schedule.id, seatNo: 5 })).status).toBe(201);
      expect((await reserve(buyer, { scheduleId: schedule.id, seatNo: 6 })).status).toBe(201);
      await expectError(await reserve(buyer, { scheduleId: schedule.id, seatNo: 3 }), 409, 'SEAT_LIMIT_REACHED');
      expect(await statusOf(schedule.id, 3)).toBe('AVAILABLE');
    });

    it('SEAT_LIMIT_REACHED holds under concurrency: of seven reserves at once, exactly four hold', async () => {
      const schedule = await aSchedule(7);
      const buyer = await aBuyer();
      const responses = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((seatNo) => reserve(buyer, { scheduleId: schedule.id, seatNo })));
      const outcomes = await Promise.all(
        responses.map(async (response) => (response.status === 201 ? 'HELD' : ((await response.json()) as { error: { code: string } }).error.code)),
      );
      expect(outcomes.filter((outcome) => outcome === 'HELD')).toHaveLength(MAX_SEATS_PER_USER);
      for (const outcome of outcomes.filter((o) => o !== 'HELD')) expect(['SEAT_LIMIT_REACHED', 'LOCK_BUSY']).toContain(outcome);
      expect(outcomes).toContain('SEAT_LIMIT_REACHED');
      const { items } = (await (await listReservations(buyer)).json()) as ReservationList;
      expect(items).toHaveLength(MAX_SEATS_PER_USER);
      const seats = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((seatNo) => statusOf(schedule.id, seatNo)));
      expect(seats.filter((status) => status === 'HELD')).toHaveLength(MAX_SEATS_PER_USER);
    });

    it("GET /users/{userId}/reservations: the caller's own, newest first, paged; `me` is the caller; 400 for a bad page", async () => {
      const schedule = await aSchedule(3);
      const buyer = await aBuyer();
      const stranger = await aBuyer();
      await charge(buyer, PRICE);
      const [one, two, three] = [await reserved(buyer, schedule.id, 1), await reserved(buyer, schedule.id, 2), await reserved(buyer, schedule.id, 3)];
      expect((await pay(buyer, one.reservationId)).status).toBe(201);

      const first = (await (await listReservations(buyer, '?limit=2', buyer.userId)).json()) as ReservationList;
      expect(first.items).toEqual([three, two]);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = (await (await listReservations(buyer, `?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`)).json()) as ReservationList;
      expect(second).toEqual({ items: [{ ...one, status: 'CONFIRMED' }], nextCursor: null });
      expect(await (await listReservations(buyer)).json()).toEqual({ items: [three, two, { ...one, status: 'CONFIRMED' }], nextCursor: null });
      expect(await (await listReservations(stranger)).json()).toEqual({ items: [], nextCursor: null });

      // An ended hold reads EXPIRED, as GET /reservations/{id} answers it.
      shape.clock.advance(HOLD_TTL_SECONDS * 1_000);
      expect(((await (await listReservations(buyer)).json()) as ReservationList).items.map((item) => item.status)).toEqual(['EXPIRED', 'EXPIRED', 'CONFIRMED']);

      for (const query of ['?limit=0', '?limit=101', '?limit=x', '?cursor=nonsense', '?cursor=c1.0']) {
        await expectError(await listReservations(buyer, query), 400, 'VALIDATION_FAILED');
      }
      await expectError(await listReservations(stranger, '', buyer.userId), 403, 'FORBIDDEN');
      await expectError(await request(`/users/${buyer.userId}/reservations`), 401, 'UNAUTHENTICATED');
    });

    it('needs the access token and an ACTIVE queue token: none 401, unknown 401, waiting 403', async () => {
      const schedule = await aSchedule();
      const user = await aUserWithAccess();
      const body = { scheduleId: schedule.id, seatNo: 1 };
      await expectError(await request('/reservations', json(body, as(user))), 401, 'TOKEN_REQUIRED');
      await expectError(await request('/reservations', json(body, as(user, { 'Queue-Token': '' }))), 401, 'TOKEN_REQUIRED');
      await expectError(await request('/reservations', json(body, as(user, { 'Queue-Token': randomBytes(16).toString('base64url') }))), 401, 'TOKEN_INVALID');
      const waiting = await aWaiter(user);
      await expectError(await reserve(waiting, body), 403, 'TOKEN_NOT_ACTIVE');
      await expectError(await pay(waiting, 'anything'), 403, 'TOKEN_NOT_ACTIVE');
      // The queue token alone is no access token, in either header.
      await expectError(await request('/reservations', json(body, { 'Queue-Token': waiting.token })), 401, 'UNAUTHENTICATED');
      await expectError(await request('/reservations', json(body, { Authorization: `Bearer ${waiting.token}` })), 401, 'UNAUTHENTICATED');
      await expectError(await request('/reservations/anything/payment', { method: 'POST', headers: { 'Queue-Token': waiting.token } }), 401, 'UNAUTHENTICATED');
      expect(await statusOf(schedule.id, 1)).toBe('AVAILABLE');
    });

    it('400 VALIDATION_FAILED naming the field', async () => {
      const buyer = await aBuyer();
      const cases: [unknown, string][] = [
        [{ seatNo: 1 }, 'scheduleId:'],
        [{ scheduleId: 'a b', seatNo: 1 }, 'scheduleId:'],
        [{ scheduleId: 's', seatNo: '1' }, 'seatNo:'],
        [{ scheduleId: 's', seatNo: 0 }, 'seatNo:'],
        [{ scheduleId: 's', seatNo: 1.5 }, 'seatNo:'],
      ];
      for (const [body, field] of cases) {
        const response = await reserve(buyer, body);
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

    it('admin routes: 401 UNAUTHENTICATED without a credential, 403 FORBIDDEN with a wrong one, before reading the body', async () => {
      const user = await aUserWithAccess();
      await expectError(await request('/admin/concerts', json({ title: 'T', venue: 'V' })), 401, 'UNAUTHENTICATED');
      await expectError(await request('/admin/concerts', json({ title: 'T', venue: 'V' }, { Authorization: ADMIN_TOKEN })), 401, 'UNAUTHENTICATED');
      await expectError(await request('/admin/concerts', json({ title: 'T', venue: 'V' }, { Authorization: 'Bearer ' })), 401, 'UNAUTHENTICATED');
      await expectError(await request('/admin/concerts/x/schedules', json({})), 401, 'UNAUTHENTICATED');
      await expectError(await request('/admin/concerts', json({ title: 'T', venue: 'V' }, { Authorization: `Bearer ${ADMIN_TOKEN}x` })), 403, 'FORBIDDEN');
      await expectError(await request('/admin/concerts', json({ nonsense: true }, { Authorization: 'Bearer nope' })), 403, 'FORBIDDEN');
      await expectError(await request('/admin/concerts/x/schedules', json({}, { Authorization: 'Bearer nope' })), 403, 'FORBIDDEN');
      // A user's access token is no admin token.
      await expectError(await request('/admin/concerts', json({ title: 'T', venue: 'V' }, as(user))), 403, 'FORBIDDEN');
    });

    it('GET /openapi.json describes the catalog, reservation and admin routes with what each requires', async () => {
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
          '/users/{userId}/reservations',
          '/admin/concerts',
          '/admin/concerts/{concertId}/schedules',
        ]),
      );
      const payment = doc.paths['/reservations/{reservationId}/payment']!.post!;
      expect(payment.security).toEqual([{ accessToken: [], queueToken: [] }]);
      expect(Object.keys(payment.responses)).toEqual(expect.arrayContaining(['200', '201', '401', '403', '404', '409', '503']));
      expect(doc.paths['/reservations']!.post!.security).toEqual([{ accessToken: [], queueToken: [] }]);
      expect(Object.keys(doc.paths['/reservations']!.post!.responses)).toEqual(expect.arrayContaining(['201', '401', '403', '404', '409']));
      expect(doc.paths['/reservations/{reservationId}']!.get!.security).toEqual([{ accessToken: [] }]);
      expect(doc.paths['/users/{userId}/reservations']!.get!.security).toEqual([{ accessToken: [] }]);
      expect(doc.paths['/concerts']!.get!.security ?? []).toEqual([]);
      expect(doc.paths['/admin/concerts']!.post!.security).toEqual([{ adminToken: [] }]);
      expect(Object.keys(doc.paths['/admin/concerts']!.post!.responses)).toEqual(expect.arrayContaining(['201', '401', '403']));
      expect(Object.keys(doc.components.securitySchemes ?? {}).sort()).toEqual(['accessToken', 'adminToken', 'queueToken']);
    });
  });

  describe(`hold sweeper job: ${name}`, () => {
    it('expires an ended hold on its own (HOLD_TTL_SECONDS=1: a round every 250 ms) and counts it in /metrics', async () => {
      const shape = await createShape({ HOLD_TTL_SECONDS: '1' });
      try {
        const { app, container } = shape.application;
        const { id: concertId } = (await (await app.request('/admin/concerts', json({ title: 'T', venue: 'V' }, admin))).json()) as { id: string };
        const schedule = (await (
          await app.request(`/admin/concerts/${concertId}/schedules`, json({ startsAt: '2026-09-01T19:00:00Z', seatCount: 1, price: 1 }, admin))
        ).json()) as { id: string };
        const userId = aUser();
        const buyer = { userId, access: await shape.tokenFor(userId) };
        const { token } = (await (await app.request('/queue/tokens', { method: 'POST', headers: as(buyer) })).json()) as { token: string };
        await container.get(TOKENS.AdmitWaiters).execute();
        const reserved = await app.request('/reservations', json({ scheduleId: schedule.id, seatNo: 1 }, selling({ ...buyer, token })));
        expect(reserved.status).toBe(201);
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

        const forbidden = await request('/admin/concerts', json({ title: 'T', venue: 'V' }, { Authorization: 'Bearer anything-at-all' }));
        await expectError(forbidden, 403, 'FORBIDDEN');
        await expectError(await request('/admin/concerts', json({ title: 'T', venue: 'V' })), 401, 'UNAUTHENTICATED');
      } finally {
        await shape.cleanup();
      }
    });

    it('MAX_SEATS_PER_USER sets the limit', async () => {
      const shape = await createShape({ MAX_SEATS_PER_USER: '2' });
      try {
        const client = clientOf(() => shape);
        const schedule = await client.aSchedule(3);
        const buyer = await client.aBuyer();
        await client.reserved(buyer, schedule.id, 1);
        await client.reserved(buyer, schedule.id, 2);
        await expectError(await client.reserve(buyer, { scheduleId: schedule.id, seatNo: 3 }), 409, 'SEAT_LIMIT_REACHED');
      } finally {
        await shape.cleanup();
      }
    });
  });
}

describeSaleApi('embedded (PGlite, in-process lock and queue)', embeddedShape);
describeSaleApi('distributed (Postgres, Redis lock and queue)', distributedShape);
