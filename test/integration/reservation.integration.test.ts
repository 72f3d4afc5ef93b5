import type { MigratedDatabase } from '../support/migrated-database.js';
import { createMigratedDatabase } from '../support/migrated-database.js';
/**
 * Reserving and paying against real Redis and Postgres from several OS
 * processes at once, as several app instances would: a crowd on one seat,
 * one buyer trying to take more seats than the limit (with the lock, and
 * with the database's guard alone), payments racing the end of their holds
 * (with a sweeper and another buyer waiting for the seats), and a user's
 * charges racing their payments. Workers wait at a barrier so that their
 * requests really overlap.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KyselyTransactionManager } from '../../adapters/kysely/kysely-transaction.js';
import { createRedis } from '../../adapters/redis/create-redis.js';
import { RedisLock } from '../../adapters/redis/redis-lock.js';
import { RedisQueue } from '../../adapters/redis/redis-queue.js';
import type { Reservation } from '../../core/domain/reservation.js';
import { systemClock } from '../../core/ports/clock.port.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { ExpireToken } from '../../core/usecases/queue/expire-token.js';
import { ExtendToken } from '../../core/usecases/queue/extend-token.js';
import { aName, aSchedule } from '../support/catalog-builders.js';
import { createIsolatedRedis, type IsolatedRedis } from '../support/isolated-redis.js';
import { salesUseCases } from '../support/sales-use-cases.js';
import { runWorker } from '../support/spawn-worker.js';
import { openBarrier } from './workers/barrier.js';

const PROCESSES = 4;
const USERS_PER_PROCESS = 25;
const PRICE = 100;
const MAX_SEATS_PER_USER = 4;
/** For the tests where one buyer holds many seats on purpose: they are about payments and expiry, not the limit. */
const ROOMY_SEAT_LIMIT = 50;
/** The buyers of these tests have no queue token; this one outlives every hold, so none is extended. */
const NO_TOKEN = { token: 'no-such-token-0000', tokenExpiresAt: new Date(Date.now() + 24 * 3_600_000) };

type Outcomes = { outcomes: { reservationId?: string; userId?: string; outcome: string }[] };

describe('reserving and paying on real Redis and Postgres', () => {
  let database: MigratedDatabase;
  let redis: IsolatedRedis;
  let client: ReturnType<typeof createRedis>;
  let uc: ReturnType<typeof salesUseCases>;
  let chargePoints: ChargePoints;
  let barriers = 0;

  beforeAll(async () => {
    database = await createMigratedDatabase(inject('databaseUrl'));
    redis = createIsolatedRedis(inject('redisUrl'));
    client = createRedis(inject('redisUrl'));
    const lock = new RedisLock(client, { prefix: redis.prefix });
    const tx = new KyselyTransactionManager(database.db);
    const queue = new RedisQueue(client, { prefix: redis.prefix });
    uc = salesUseCases({
      lock,
      tx,
      clock: systemClock,
      expireToken: new ExpireToken(queue, systemClock),
      extendToken: new ExtendToken(queue, systemClock),
      holdTtlMs: 300_000,
      maxSeatsPerUser: ROOMY_SEAT_LIMIT,
    });
    chargePoints = new ChargePoints(lock, tx, systemClock);
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.cleanup();
    await database?.drop();
  });

  /** Runs workers that start together once the barrier opens (after `beforeGo`). */
  async function race<T>(workers: { script: string; env: Record<string, string> }[], beforeGo?: () => Promise<void>): Promise<T[]> {
    const barrier = `${redis.prefix}barrier-${++barriers}`;
    const running = workers.map(({ script, env }) =>
      runWorker<T>(new URL(`./workers/${script}`, import.meta.url), {
        DATABASE_URL: database.url,
        REDIS_URL: inject('redisUrl'),
        REDIS_PREFIX: redis.prefix,
        BARRIER_KEY: barrier,
        ...env,
      }),
    );
    // A worker that dies before the barrier must fail the test, not leave it waiting for a count that never comes.
    await Promise.race([openBarrier(redis.redis, barrier, workers.length, beforeGo), Promise.all(running).then(() => undefined)]);
    return Promise.all(running);
  }

  const reservationsOf = (scheduleId: string) =>
    database.db.selectFrom('reservations').selectAll().where('schedule_id', '=', scheduleId).orderBy('seat_no').orderBy('created_at').execute();
  const seatsOf = (scheduleId: string) => database.db.selectFrom('seats').selectAll().where('schedule_id', '=', scheduleId).orderBy('seat_no').execute();
  const paymentsOf = (userId: string) => database.db.selectFrom('payments').selectAll().where('user_id', '=', userId).execute();

  async function expectExactWallet(userId: string, expectedBalance: number): Promise<void> {
    const wallet = await database.db.selectFrom('user_points').select('balance').where('user_id', '=', userId).executeTakeFirstOrThrow();
    expect(wallet.balance).toBe(expectedBalance);
    const history = await database.db.selectFrom('point_history').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    let running = 0;
    for (const entry of history) {
      running += entry.kind === 'CHARGE' ? entry.amount : -entry.amount;
      expect(entry.balance_after, `history row ${entry.id}`).toBe(running);
    }
    expect(running).toBe(expectedBalance);
    const uses = history.filter((entry) => entry.kind === 'USE');
    expect(uses.length).toBe((await paymentsOf(userId)).length);
  }

  it(`${PROCESSES} processes × ${USERS_PER_PROCESS} users race for one seat: exactly one PENDING reservation, every other answer a clear 409`, async () => {
    const schedule = await aSchedule(uc, { seatCount: 1, price: PRICE });
    const results = await race<Outcomes>(
      Array.from({ length: PROCESSES }, (_, p) => ({
        script: 'reserve-worker.ts',
        env: {
          SCHEDULE_ID: schedule.id,
          SEAT_NO: '1',
          USERS: Array.from({ length: USERS_PER_PROCESS }, (_, u) => `p${p}-u${u}`).join(','),
        },
      })),
    );
    const outcomes = results.flatMap((r) => r.outcomes);
    expect(outcomes).toHaveLength(PROCESSES * USERS_PER_PROCESS);
    const winners = outcomes.filter((o) => o.outcome === 'ok');
    expect(winners).toHaveLength(1);
    const refusals = outcomes.filter((o) => o.outcome !== 'ok').map((o) => o.outcome);
    expect(refusals.filter((code) => code !== 'SEAT_UNAVAILABLE' && code !== 'LOCK_BUSY')).toEqual([]);
    expect(refusals).toHaveLength(PROCESSES * USERS_PER_PROCESS - 1);

    const stored = await reservationsOf(schedule.id);
    expect(stored.map((r) => ({ id: r.id, userId: r.user_id, status: r.status }))).toEqual([
      { id: winners[0]?.reservationId, userId: winners[0]?.userId, status: 'PENDING' },
    ]);
    expect(await seatsOf(schedule.id)).toMatchObject([{ status: 'HELD', held_by: winners[0]?.reservationId }]);
  });

  for (const { layers, noLock } of [
    { layers: 'the lock and the database guard', noLock: false },
    { layers: 'the database guard alone (a no-op lock)', noLock: true },
  ]) {
    it(`one buyer, ${PROCESSES} processes, ${PROCESSES * 10} reserves of as many seats at once, with ${layers}: exactly ${MAX_SEATS_PER_USER} held, every other SEAT_LIMIT_REACHED`, async () => {
      const SEATS_PER_PROCESS = 10;
      const schedule = await aSchedule(uc, { seatCount: PROCESSES * SEATS_PER_PROCESS, price: PRICE });
      const buyer = aName('buyer');
      const results = await race<Outcomes>(
        Array.from({ length: PROCESSES }, (_, p) => ({
          script: 'reserve-worker.ts',
          env: {
            SCHEDULE_ID: schedule.id,
            USERS: buyer,
            SEATS: Array.from({ length: SEATS_PER_PROCESS }, (_, i) => p * SEATS_PER_PROCESS + i + 1).join(','),
            MAX_SEATS_PER_USER: String(MAX_SEATS_PER_USER),
            ...(noLock ? { NO_LOCK: 'true' } : {}),
          },
        })),
      );
      const outcomes = results.flatMap((r) => r.outcomes);
      expect(outcomes).toHaveLength(PROCESSES * SEATS_PER_PROCESS);
      const held = outcomes.filter((o) => o.outcome === 'ok');
      expect(held).toHaveLength(MAX_SEATS_PER_USER);
      // Not LOCK_BUSY: a buyer's own reserves queue up on the user's key (or, without the lock, on the counter's row).
      expect(outcomes.filter((o) => o.outcome !== 'ok').map((o) => o.outcome)).toEqual(Array(PROCESSES * SEATS_PER_PROCESS - MAX_SEATS_PER_USER).fill('SEAT_LIMIT_REACHED'));

      const stored = await reservationsOf(schedule.id);
      expect(stored.map((r) => ({ id: r.id, userId: r.user_id, status: r.status })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
        held.map((o) => ({ id: o.reservationId, userId: buyer, status: 'PENDING' })).sort((a, b) => a.id!.localeCompare(b.id!)),
      );
      const heldSeats = (await seatsOf(schedule.id)).filter((seat) => seat.status !== 'AVAILABLE');
      expect(heldSeats.map((seat) => seat.held_by).sort()).toEqual(stored.map((r) => r.id).sort());
      const counter = await database.db.selectFrom('user_schedule_seats').select('seats').where('user_id', '=', buyer).where('schedule_id', '=', schedule.id).executeTakeFirst();
      expect(counter).toEqual({ seats: MAX_SEATS_PER_USER });
    });
  }

  it('payments racing the end of their holds, beside a sweeper and a buyer taking freed seats: each ends CONFIRMED and SOLD, or EXPIRED and not sold, never a mix', async () => {
    const SEATS = 20;
    const schedule = await aSchedule(uc, { seatCount: SEATS, price: PRICE });
    const [payer, other] = ['payer', 'taker'];
    await chargePoints.execute({ userId: payer, amount: SEATS * PRICE });
    const mine: Reservation[] = [];
    for (let seatNo = 1; seatNo <= SEATS; seatNo++) mine.push(await uc.reserveSeat.execute({ userId: payer, ...NO_TOKEN, scheduleId: schedule.id, seatNo }));

    const results = await race<unknown>(
      [
        { script: 'pay-worker.ts', env: { USER_ID: payer, RESERVATIONS: mine.map((r) => r.id).join(',') } },
        { script: 'sweep-worker.ts', env: { LOOP_MS: '1500' } },
        {
          script: 'reserve-worker.ts',
          env: { SCHEDULE_ID: schedule.id, USERS: other, SEATS: mine.map((r) => r.seatNo).join(','), LOOP_MS: '1500', MAX_SEATS_PER_USER: String(ROOMY_SEAT_LIMIT) },
        },
      ],
      // The boundaries, set just before the start: seats 1-2 ended already, 19-20 end in two minutes, and seats
      // 3-18 end 20 to 620 ms after the start, while the payments (one at a time on the wallet's lock) go through.
      async () => {
        const start = Date.now();
        for (const { id, seatNo } of mine) {
          const endsAt = new Date(seatNo <= 2 ? start - 1_000 : seatNo >= SEATS - 1 ? start + 120_000 : start + 20 + (seatNo - 3) * 40);
          await database.db.updateTable('reservations').set({ expires_at: endsAt }).where('id', '=', id).execute();
          await database.db.updateTable('seats').set({ held_until: endsAt }).where('schedule_id', '=', schedule.id).where('seat_no', '=', seatNo).execute();
        }
      },
    );
    const [{ outcomes: payments }, sweep] = results as [Outcomes, { expired: number; errors: string[] }];
    expect(sweep.errors).toEqual([]);
    expect(payments.filter((p) => p.outcome !== 'ok' && p.outcome !== 'RESERVATION_EXPIRED')).toEqual([]);
    // Whatever the sweeper and the taker left: every ended hold is expired from here on.
    await uc.expireHolds.execute();

    const reservations = await reservationsOf(schedule.id);
    const seats = await seatsOf(schedule.id);
    const paid = await paymentsOf(payer);
    for (const seat of seats) {
      const ofSeat = reservations.filter((r) => r.seat_no === seat.seat_no);
      expect(ofSeat.filter((r) => r.status !== 'EXPIRED').length, `seat ${seat.seat_no}: live reservations`).toBeLessThanOrEqual(1);
      const reservation = ofSeat.find((r) => r.user_id === payer)!;
      const payment = paid.filter((p) => p.reservation_id === reservation.id);
      const answer = payments.find((p) => p.reservationId === reservation.id)?.outcome;
      const story = `seat ${seat.seat_no}: ${reservation.status}, seat ${seat.status}, ${payment.length} payment(s), answered ${answer}`;
      if (reservation.status === 'CONFIRMED') {
        expect({ seat: seat.status, payments: payment.length, answer }, story).toEqual({ seat: 'SOLD', payments: 1, answer: 'ok' });
        expect(payment[0]!.created_at.getTime(), story).toBeLessThan(reservation.expires_at.getTime());
      } else {
        expect(reservation.status, story).toBe('EXPIRED');
        expect({ payments: payment.length, answer }, story).toEqual({ payments: 0, answer: 'RESERVATION_EXPIRED' });
        const taker = ofSeat.find((r) => r.status === 'PENDING');
        if (taker === undefined) expect({ status: seat.status, heldBy: seat.held_by }, story).toEqual({ status: 'AVAILABLE', heldBy: null });
        else expect({ status: seat.status, heldBy: seat.held_by, user: taker.user_id }, story).toEqual({ status: 'HELD', heldBy: taker.id, user: other });
      }
    }
    const statusOf = (seatNo: number) => reservations.find((r) => r.seat_no === seatNo && r.user_id === payer)?.status;
    expect([statusOf(1), statusOf(2)]).toEqual(['EXPIRED', 'EXPIRED']);
    expect([statusOf(SEATS - 1), statusOf(SEATS)]).toEqual(['CONFIRMED', 'CONFIRMED']);
    await expectExactWallet(payer, SEATS * PRICE - paid.length * PRICE);
  });

  it('charges and payments of one user at once, from three processes: the exact balance and history', async () => {
    const RESERVATIONS = 10;
    const CHARGES = 25;
    const AMOUNT = 7;
    const user = 'busy-wallet';
    const schedule = await aSchedule(uc, { seatCount: RESERVATIONS, price: PRICE });
    await chargePoints.execute({ userId: user, amount: RESERVATIONS * PRICE });
    const mine: Reservation[] = [];
    for (let seatNo = 1; seatNo <= RESERVATIONS; seatNo++) mine.push(await uc.reserveSeat.execute({ userId: user, ...NO_TOKEN, scheduleId: schedule.id, seatNo }));

    const charge = { script: 'charge-worker.ts', env: { USER_ID: user, COUNT: String(CHARGES), AMOUNT: String(AMOUNT) } };
    const results = await race<{ outcomes: (string | { outcome: string })[] }>([
      charge,
      charge,
      { script: 'pay-worker.ts', env: { USER_ID: user, RESERVATIONS: mine.map((r) => r.id).join(',') } },
    ]);
    const outcomes = results.flatMap((r) => r.outcomes.map((o) => (typeof o === 'string' ? o : o.outcome)));
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(outcomes).toHaveLength(2 * CHARGES + RESERVATIONS);

    expect((await seatsOf(schedule.id)).every((seat) => seat.status === 'SOLD')).toBe(true);
    expect(await paymentsOf(user)).toHaveLength(RESERVATIONS);
    await expectExactWallet(user, 2 * CHARGES * AMOUNT);
    const history = await database.db.selectFrom('point_history').select('kind').where('user_id', '=', user).execute();
    expect(history).toHaveLength(1 + 2 * CHARGES + RESERVATIONS);
  });
});
