import type { Kysely } from 'kysely';
import { Migrator, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KyselyReservationRepository } from '../../adapters/kysely/kysely-reservation-repository.js';
import { migrateToLatest } from '../../adapters/kysely/migrate.js';
import { migrationProvider } from '../../adapters/kysely/migrations/index.js';
import type { Database } from '../../adapters/kysely/schema.js';
import { NotFoundError, ReservationExpiredError, ReservationNotPendingError, SeatLimitReachedError, SeatUnavailableError } from '../../core/domain/errors.js';
import type { Reservation } from '../../core/domain/reservation.js';
import type { TransactionPort, UnitOfWork } from '../../core/ports/transaction.port.js';
import { deferred } from '../support/deferred.js';
import type { TransactionFixture } from './transaction.contract.js';

export interface ReservationFixture extends TransactionFixture {
  /**
   * Resolves once a transaction started just before has reached the row lock
   * it must wait for (Postgres: a session waits on a lock), so that a test
   * proves a wait rather than a lucky order. Where transactions serialise,
   * the later one is queued anyway: it may resolve at once.
   */
  blocked(): Promise<void>;
}

const t0 = new Date('2026-01-01T00:00:00Z');
/** A seat limit no test of something else reaches. */
const ROOMY = 50;
const at = (ms: number) => new Date(t0.getTime() + ms);
const MINUTE = 60_000;

/** How a promise settled, observed from the start (a rejection before the test looks is not an unhandled one). */
function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** A PENDING reservation of a seat of schedule s1, by default holding until t0 + 5 min. */
function reservation(id: string, seatNo: number, overrides: Partial<Reservation> = {}): Reservation {
  return { id, userId: 'u1', scheduleId: 's1', seatNo, price: 500, status: 'PENDING', expiresAt: at(5 * MINUTE), ...overrides };
}

/**
 * What CatalogRepository, SeatRepository and ReservationRepository promise,
 * run against each adapter: the read views at a given instant, and the
 * guards (conditional updates, one live reservation per seat, one payment
 * per reservation) that keep the invariants even without the lock.
 */
/**
 * `serialisesTransactions`: the database runs one transaction at a time
 * (PGlite), so the tests that need two open at once are not registered for it.
 */
export function describeReservationContract(
  name: string,
  createFixture: () => Promise<ReservationFixture>,
  options: { readonly serialisesTransactions?: boolean } = {},
): void {
  const concurrentIt = options.serialisesTransactions === true ? () => undefined : it;
  describe(`Catalog, seat and reservation repositories contract: ${name}`, () => {
    let fixture: ReservationFixture;
    let tx: TransactionPort;
    const run = <T>(work: (uow: UnitOfWork) => Promise<T>) => tx.run(work);
    const statusOf = (id: string) => run((uow) => uow.reservations.find(id)).then((found) => found?.status);
    const seatStatus = (seatNo: number, now: Date) => run((uow) => uow.catalog.findSeat('s1', seatNo, now)).then((seat) => seat?.status);

    /** Concert c1 with schedule s1 of `seats` seats at 500, committed. */
    async function seed(seats = 5): Promise<void> {
      await run(async (uow) => {
        await uow.catalog.createConcert({ id: 'c1', title: 'Night', venue: 'Hall' });
        await uow.catalog.createSchedule({ id: 's1', concertId: 'c1', startsAt: at(30 * 24 * 60 * MINUTE), totalSeats: seats }, 500);
      });
    }

    /** Seat `seatNo` held by `id` and its PENDING reservation, committed. */
    async function reserve(id: string, seatNo: number, expiresAt = at(5 * MINUTE)): Promise<void> {
      await run(async (uow) => {
        await uow.seats.hold('s1', seatNo, id, expiresAt, t0);
        await uow.reservations.insert(reservation(id, seatNo, { expiresAt }), ROOMY);
      });
    }

    beforeEach(async () => {
      fixture = await createFixture();
      tx = fixture.tx;
    });
    afterEach(async () => fixture.cleanup());

    describe('catalog', () => {
      it('creates concerts and lists them oldest first', async () => {
        await run((uow) => uow.catalog.createConcert({ id: 'z', title: 'Zeta', venue: 'Arena' }));
        await run((uow) => uow.catalog.createConcert({ id: 'a', title: 'Alpha', venue: 'Club' }));
        await expect(run((uow) => uow.catalog.listConcerts())).resolves.toEqual([
          { id: 'z', title: 'Zeta', venue: 'Arena' },
          { id: 'a', title: 'Alpha', venue: 'Club' },
        ]);
        await expect(run((uow) => uow.catalog.findConcert('a'))).resolves.toEqual({ id: 'a', title: 'Alpha', venue: 'Club' });
        await expect(run((uow) => uow.catalog.findConcert('nope'))).resolves.toBeUndefined();
      });

      it('creates a schedule with seats 1..N, all AVAILABLE at its price, and lists schedules by start time', async () => {
        await run(async (uow) => {
          await uow.catalog.createConcert({ id: 'c1', title: 'Night', venue: 'Hall' });
          await uow.catalog.createConcert({ id: 'c2', title: 'Other', venue: 'Hall' });
          await uow.catalog.createSchedule({ id: 'late', concertId: 'c1', startsAt: at(2 * MINUTE), totalSeats: 3 }, 700);
          await uow.catalog.createSchedule({ id: 'early', concertId: 'c1', startsAt: at(MINUTE), totalSeats: 2 }, 0);
          await uow.catalog.createSchedule({ id: 'elsewhere', concertId: 'c2', startsAt: at(MINUTE), totalSeats: 1 }, 1);
        });
        await expect(run((uow) => uow.catalog.listSchedules('c1', t0))).resolves.toEqual([
          { id: 'early', concertId: 'c1', startsAt: at(MINUTE), totalSeats: 2, availableSeats: 2 },
          { id: 'late', concertId: 'c1', startsAt: at(2 * MINUTE), totalSeats: 3, availableSeats: 3 },
        ]);
        await expect(run((uow) => uow.catalog.listSchedules('unknown', t0))).resolves.toEqual([]);
        await expect(run((uow) => uow.catalog.findSchedule('late'))).resolves.toEqual({
          id: 'late',
          concertId: 'c1',
          startsAt: at(2 * MINUTE),
          totalSeats: 3,
        });
        await expect(run((uow) => uow.catalog.findSchedule('nope'))).resolves.toBeUndefined();
        await expect(run((uow) => uow.catalog.seatMap('late', t0))).resolves.toEqual(
          [1, 2, 3].map((seatNo) => ({ scheduleId: 'late', seatNo, price: 700, status: 'AVAILABLE' })),
        );
        await expect(run((uow) => uow.catalog.seatMap('nope', t0))).resolves.toEqual([]);
        await expect(run((uow) => uow.catalog.findSeat('early', 2, t0))).resolves.toEqual({ scheduleId: 'early', seatNo: 2, price: 0, status: 'AVAILABLE' });
        await expect(run((uow) => uow.catalog.findSeat('early', 3, t0))).resolves.toBeUndefined();
      });

      it('refuses a schedule of an unknown concert with NotFoundError, writing nothing', async () => {
        await expect(
          run((uow) => uow.catalog.createSchedule({ id: 's1', concertId: 'nope', startsAt: t0, totalSeats: 2 }, 1)),
        ).rejects.toBeInstanceOf(NotFoundError);
        await expect(run((uow) => uow.catalog.findSchedule('s1'))).resolves.toBeUndefined();
      });

      it('shows each seat as a buyer sees it at the instant asked: an ended hold is AVAILABLE', async () => {
        await seed(4);
        await reserve('r1', 1, at(MINUTE));
        await reserve('r2', 2, at(5 * MINUTE));
        await run((uow) => uow.seats.sell('s1', 2, 'r2'));
        await reserve('r3', 3, at(2 * MINUTE));
        const view = (now: Date) =>
          run(async (uow) => ({
            seats: (await uow.catalog.seatMap('s1', now)).map((seat) => seat.status),
            available: (await uow.catalog.listSchedules('c1', now)).map((schedule) => schedule.availableSeats),
          }));
        await expect(view(t0)).resolves.toEqual({ seats: ['HELD', 'SOLD', 'HELD', 'AVAILABLE'], available: [1] });
        // A hold ends at its instant exactly.
        await expect(view(at(MINUTE - 1))).resolves.toEqual({ seats: ['HELD', 'SOLD', 'HELD', 'AVAILABLE'], available: [1] });
        await expect(view(at(MINUTE))).resolves.toEqual({ seats: ['AVAILABLE', 'SOLD', 'HELD', 'AVAILABLE'], available: [2] });
        await expect(view(at(10 * MINUTE))).resolves.toEqual({ seats: ['AVAILABLE', 'SOLD', 'AVAILABLE', 'AVAILABLE'], available: [3] });
        await expect(seatStatus(1, at(MINUTE))).resolves.toBe('AVAILABLE');
        await expect(seatStatus(3, at(MINUTE))).resolves.toBe('HELD');
      });
    });

    describe('seats', () => {
      beforeEach(async () => seed());

      it('holds a seat once: a second hold is SeatUnavailableError, a SOLD seat too, an unknown seat NotFoundError', async () => {
        await expect(run((uow) => uow.seats.hold('s1', 1, 'r1', at(MINUTE), t0))).resolves.toEqual({ price: 500, replaced: undefined });
        await expect(run((uow) => uow.seats.hold('s1', 1, 'r2', at(MINUTE), t0))).rejects.toBeInstanceOf(SeatUnavailableError);
        // Even by the same reservation: the hold is a transition from free, not an upsert.
        await expect(run((uow) => uow.seats.hold('s1', 1, 'r1', at(2 * MINUTE), at(MINUTE - 1)))).rejects.toBeInstanceOf(SeatUnavailableError);
        await run((uow) => uow.seats.sell('s1', 1, 'r1'));
        await expect(run((uow) => uow.seats.hold('s1', 1, 'r3', at(20 * MINUTE), at(10 * MINUTE)))).rejects.toBeInstanceOf(SeatUnavailableError);
        await expect(run((uow) => uow.seats.hold('s1', 99, 'r4', at(MINUTE), t0))).rejects.toBeInstanceOf(NotFoundError);
        await expect(run((uow) => uow.seats.hold('nope', 1, 'r4', at(MINUTE), t0))).rejects.toBeInstanceOf(NotFoundError);
      });

      it('takes over a hold that has ended (at its instant exactly) and names the reservation it replaced', async () => {
        await run((uow) => uow.seats.hold('s1', 1, 'r1', at(MINUTE), t0));
        await expect(run((uow) => uow.seats.hold('s1', 1, 'r2', at(3 * MINUTE), at(MINUTE)))).resolves.toEqual({ price: 500, replaced: 'r1' });
        await expect(seatStatus(1, at(2 * MINUTE))).resolves.toBe('HELD');
        // The new holder is the one that may sell it.
        await expect(run((uow) => uow.seats.sell('s1', 1, 'r1'))).rejects.toBeInstanceOf(ReservationNotPendingError);
        await run((uow) => uow.seats.sell('s1', 1, 'r2'));
        await expect(seatStatus(1, at(2 * MINUTE))).resolves.toBe('SOLD');
      });

      it('sells only for the reservation holding the seat, once', async () => {
        await expect(run((uow) => uow.seats.sell('s1', 1, 'r1'))).rejects.toBeInstanceOf(ReservationNotPendingError);
        await run((uow) => uow.seats.hold('s1', 1, 'r1', at(MINUTE), t0));
        await expect(run((uow) => uow.seats.sell('s1', 1, 'stranger'))).rejects.toBeInstanceOf(ReservationNotPendingError);
        await expect(seatStatus(1, t0)).resolves.toBe('HELD');
        await run((uow) => uow.seats.sell('s1', 1, 'r1'));
        await expect(seatStatus(1, t0)).resolves.toBe('SOLD');
        await expect(run((uow) => uow.seats.sell('s1', 1, 'r1'))).rejects.toBeInstanceOf(ReservationNotPendingError);
      });

      it('releases only for the reservation holding the seat: a no-op (false) for anyone else', async () => {
        await run((uow) => uow.seats.hold('s1', 1, 'r1', at(MINUTE), t0));
        await expect(run((uow) => uow.seats.release('s1', 1, 'stranger'))).resolves.toBe(false);
        await expect(seatStatus(1, t0)).resolves.toBe('HELD');
        await expect(run((uow) => uow.seats.release('s1', 1, 'r1'))).resolves.toBe(true);
        await expect(seatStatus(1, t0)).resolves.toBe('AVAILABLE');
        await expect(run((uow) => uow.seats.release('s1', 1, 'r1'))).resolves.toBe(false);
        // A sold seat is never released.
        await run(async (uow) => {
          await uow.seats.hold('s1', 2, 'r2', at(MINUTE), t0);
          await uow.seats.sell('s1', 2, 'r2');
        });
        await expect(run((uow) => uow.seats.release('s1', 2, 'r2'))).resolves.toBe(false);
        await expect(seatStatus(2, at(10 * MINUTE))).resolves.toBe('SOLD');
      });

      it('rolls a hold back with its transaction', async () => {
        await expect(
          run(async (uow) => {
            await uow.seats.hold('s1', 1, 'r1', at(MINUTE), t0);
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        await expect(seatStatus(1, t0)).resolves.toBe('AVAILABLE');
      });

      for (const outcome of ['commit', 'rollback'] as const) {
        it(`makes a second hold wait for the first transaction, then decide on what it left (${outcome})`, async () => {
          const finish = deferred();
          const held = deferred();
          const first = run(async (uow) => {
            await uow.seats.hold('s1', 1, 'r1', at(MINUTE), t0);
            held.resolve();
            await finish.promise;
            if (outcome === 'rollback') throw new Error('rolled back');
          });
          await held.promise;
          const second = settle(run((uow) => uow.seats.hold('s1', 1, 'r2', at(MINUTE), t0)));
          await fixture.blocked();
          finish.resolve();
          await first.catch(() => undefined);
          const settled = await second;
          if (outcome === 'commit') expect(settled).toMatchObject({ ok: false, error: expect.any(SeatUnavailableError) });
          else expect(settled).toEqual({ ok: true, value: { price: 500, replaced: undefined } });
        });
      }

      concurrentIt('fails one of two transactions that wait for each other (a deadlock) with LOCK_BUSY, and lets the other commit', async () => {
        const bothHold = [deferred(), deferred()] as const;
        // Each holds one seat, then wants the other's.
        const crossed = (mine: 0 | 1, theirs: 0 | 1) =>
          settle(
            run(async (uow) => {
              await uow.seats.hold('s1', mine + 1, `first-${mine}`, at(MINUTE), t0);
              bothHold[mine].resolve();
              await bothHold[theirs].promise;
              await uow.seats.hold('s1', theirs + 1, `second-${mine}`, at(MINUTE), t0);
            }),
          );
        const outcomes = await Promise.all([crossed(0, 1), crossed(1, 0)]);
        // The failed one rolled back, so the survivor found the other seat free.
        expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
        expect(outcomes.find((outcome) => !outcome.ok)).toMatchObject({ error: { code: 'LOCK_BUSY' } });
      });

      it('judges a hold on the latest committed row: a release committed while it waited frees the seat, and nothing is named replaced', async () => {
        await run((uow) => uow.seats.hold('s1', 1, 'r1', at(MINUTE), t0));
        const finish = deferred();
        const released = deferred();
        const releaser = run(async (uow) => {
          await uow.seats.release('s1', 1, 'r1');
          released.resolve();
          await finish.promise;
        });
        await released.promise;
        const second = settle(run((uow) => uow.seats.hold('s1', 1, 'r2', at(MINUTE), t0)));
        await fixture.blocked();
        finish.resolve();
        await releaser;
        await expect(second).resolves.toEqual({ ok: true, value: { price: 500, replaced: undefined } });
      });
    });

    describe('reservations', () => {
      beforeEach(async () => seed());

      it('inserts and finds a reservation', async () => {
        await reserve('r1', 1);
        await expect(run((uow) => uow.reservations.find('r1'))).resolves.toEqual(reservation('r1', 1));
        await expect(run((uow) => uow.reservations.find('nope'))).resolves.toBeUndefined();
      });

      it('refuses a second live reservation of a seat with SeatUnavailableError, even without the seat hold (the database guard)', async () => {
        await run((uow) => uow.reservations.insert(reservation('r1', 1), ROOMY));
        await expect(run((uow) => uow.reservations.insert(reservation('r2', 1), ROOMY))).rejects.toBeInstanceOf(SeatUnavailableError);
        // CONFIRMED is live too.
        await run((uow) => uow.reservations.confirm('r1', t0));
        await expect(run((uow) => uow.reservations.insert(reservation('r3', 1), ROOMY))).rejects.toBeInstanceOf(SeatUnavailableError);
        // Other seats are unaffected.
        await run((uow) => uow.reservations.insert(reservation('r4', 2), ROOMY));
        await expect(statusOf('r2')).resolves.toBeUndefined();
      });

      it('lets a seat be reserved again once its reservation is EXPIRED, in the same transaction', async () => {
        await reserve('r1', 1, at(MINUTE));
        await run(async (uow) => {
          const { replaced } = await uow.seats.hold('s1', 1, 'r2', at(6 * MINUTE), at(MINUTE));
          expect(replaced).toBe('r1');
          await expect(uow.reservations.expire('r1', at(MINUTE))).resolves.toBe(true);
          await uow.reservations.insert(reservation('r2', 1, { expiresAt: at(6 * MINUTE) }), ROOMY);
        });
        await expect(statusOf('r1')).resolves.toBe('EXPIRED');
        await expect(statusOf('r2')).resolves.toBe('PENDING');
      });

      it('keeps the transaction usable after a refused insert', async () => {
        await run((uow) => uow.reservations.insert(reservation('r1', 1), ROOMY));
        await run(async (uow) => {
          await expect(uow.reservations.insert(reservation('r2', 1), ROOMY)).rejects.toBeInstanceOf(SeatUnavailableError);
          await uow.reservations.insert(reservation('r3', 2), ROOMY);
        });
        await expect(statusOf('r3')).resolves.toBe('PENDING');
      });

      for (const outcome of ['commit', 'rollback'] as const) {
        it(`makes a concurrent insert for the same seat wait for the first, then refuse or proceed (${outcome})`, async () => {
          const finish = deferred();
          const inserted = deferred();
          const first = run(async (uow) => {
            await uow.reservations.insert(reservation('r1', 1), ROOMY);
            inserted.resolve();
            await finish.promise;
            if (outcome === 'rollback') throw new Error('rolled back');
          });
          await inserted.promise;
          const second = settle(run((uow) => uow.reservations.insert(reservation('r2', 1), ROOMY)));
          await fixture.blocked();
          finish.resolve();
          await first.catch(() => undefined);
          const settled = await second;
          if (outcome === 'commit') expect(settled).toMatchObject({ ok: false, error: expect.any(SeatUnavailableError) });
          else expect(settled).toEqual({ ok: true, value: undefined });
        });
      }

      it('makes an insert wait for a transaction expiring the live reservation of the seat, then proceed', async () => {
        await reserve('r1', 1, at(MINUTE));
        const finish = deferred();
        const expired = deferred();
        const expirer = run(async (uow) => {
          await uow.reservations.expire('r1', at(MINUTE));
          expired.resolve();
          await finish.promise;
        });
        await expired.promise;
        const second = settle(run((uow) => uow.reservations.insert(reservation('r2', 1), ROOMY)));
        await fixture.blocked();
        finish.resolve();
        await expirer;
        await expect(second).resolves.toEqual({ ok: true, value: undefined });
        await expect(statusOf('r2')).resolves.toBe('PENDING');
      });

      it('confirms a PENDING reservation before its hold ends, once', async () => {
        await reserve('r1', 1, at(MINUTE));
        await expect(run((uow) => uow.reservations.confirm('r1', at(MINUTE - 1)))).resolves.toEqual(
          reservation('r1', 1, { status: 'CONFIRMED', expiresAt: at(MINUTE) }),
        );
        await expect(statusOf('r1')).resolves.toBe('CONFIRMED');
        await expect(run((uow) => uow.reservations.confirm('r1', at(MINUTE - 1)))).rejects.toBeInstanceOf(ReservationNotPendingError);
        await expect(run((uow) => uow.reservations.confirm('nope', t0))).rejects.toBeInstanceOf(NotFoundError);
      });

      it('refuses to confirm once the hold has ended (at its instant exactly) or the reservation is EXPIRED: ReservationExpiredError', async () => {
        await reserve('r1', 1, at(MINUTE));
        await expect(run((uow) => uow.reservations.confirm('r1', at(MINUTE)))).rejects.toBeInstanceOf(ReservationExpiredError);
        await expect(statusOf('r1')).resolves.toBe('PENDING');
        await run((uow) => uow.reservations.expire('r1', at(MINUTE)));
        // Even with a clock that says the hold is live: the reservation is over.
        await expect(run((uow) => uow.reservations.confirm('r1', t0))).rejects.toBeInstanceOf(ReservationExpiredError);
        await expect(statusOf('r1')).resolves.toBe('EXPIRED');
      });

      it('expires only a PENDING reservation whose hold has ended', async () => {
        await reserve('r1', 1, at(MINUTE));
        await reserve('r2', 2, at(MINUTE));
        await expect(run((uow) => uow.reservations.expire('r1', at(MINUTE - 1)))).resolves.toBe(false);
        await expect(statusOf('r1')).resolves.toBe('PENDING');
        await expect(run((uow) => uow.reservations.expire('r1', at(MINUTE)))).resolves.toBe(true);
        await expect(statusOf('r1')).resolves.toBe('EXPIRED');
        await expect(run((uow) => uow.reservations.expire('r1', at(MINUTE)))).resolves.toBe(false);
        // A sale is never undone by expiry.
        await run((uow) => uow.reservations.confirm('r2', t0));
        await expect(run((uow) => uow.reservations.expire('r2', at(10 * MINUTE)))).resolves.toBe(false);
        await expect(statusOf('r2')).resolves.toBe('CONFIRMED');
        await expect(run((uow) => uow.reservations.expire('nope', at(10 * MINUTE)))).resolves.toBe(false);
      });

      concurrentIt('answers false at once when another transaction holds the reservation (SKIP LOCKED), and leaves it to that one', async () => {
        await reserve('r1', 1, at(MINUTE));
        const finish = deferred();
        const confirmed = deferred();
        // A payment that confirmed just before the hold's end, still open.
        const payer = run(async (uow) => {
          await uow.reservations.confirm('r1', at(MINUTE - 1));
          confirmed.resolve();
          await finish.promise;
        });
        await confirmed.promise;
        // Answered while the payer is still open: it did not wait.
        await expect(run((uow) => uow.reservations.expire('r1', at(MINUTE)))).resolves.toBe(false);
        finish.resolve();
        await payer;
        await expect(statusOf('r1')).resolves.toBe('CONFIRMED');
      });

      it('lists ended PENDING holds, oldest first, up to the limit', async () => {
        await reserve('late', 1, at(3 * MINUTE));
        await reserve('first', 2, at(MINUTE));
        await reserve('live', 3, at(20 * MINUTE));
        await reserve('middle', 4, at(2 * MINUTE));
        await reserve('paid', 5, at(MINUTE));
        await run((uow) => uow.reservations.confirm('paid', t0));
        const ids = (limit: number) => run((uow) => uow.reservations.findEnded(at(10 * MINUTE), limit)).then((found) => found.map((r) => r.id));
        await expect(ids(10)).resolves.toEqual(['first', 'middle', 'late']);
        await expect(ids(2)).resolves.toEqual(['first', 'middle']);
        await run((uow) => uow.reservations.expire('first', at(10 * MINUTE)));
        await expect(ids(10)).resolves.toEqual(['middle', 'late']);
        await expect(run((uow) => uow.reservations.findEnded(at(2 * MINUTE), 10))).resolves.toEqual([
          reservation('middle', 4, { expiresAt: at(2 * MINUTE) }),
        ]);
      });
    });

    describe('seat limit', () => {
      beforeEach(async () => seed(12));
      const insert = (id: string, seatNo: number, max: number, overrides: Partial<Reservation> = {}) =>
        run((uow) => uow.reservations.insert(reservation(id, seatNo, overrides), max));
      const liveIds = (userId = 'u1', scheduleId = 's1') =>
        run((uow) => uow.reservations.liveOf(userId, scheduleId)).then((live) => live.map((r) => r.id).sort());

      it('refuses the insert past maxPerUser with SeatLimitReachedError, writing nothing, and leaves the transaction usable', async () => {
        await insert('r1', 1, 2);
        await insert('r2', 2, 2);
        await expect(insert('r3', 3, 2)).rejects.toBeInstanceOf(SeatLimitReachedError);
        await expect(insert('r3', 3, 2)).rejects.toMatchObject({ code: 'SEAT_LIMIT_REACHED', limit: 2 });
        await expect(statusOf('r3')).resolves.toBeUndefined();
        // Nothing of the refused row is left behind: the seat is free for someone else.
        await insert('other', 3, 1, { userId: 'u2' });
        await run(async (uow) => {
          await expect(uow.reservations.insert(reservation('r4', 4), 2)).rejects.toBeInstanceOf(SeatLimitReachedError);
          await uow.reservations.insert(reservation('theirs', 4, { userId: 'u2' }), 2);
        });
        await expect(statusOf('r4')).resolves.toBeUndefined();
        await expect(statusOf('theirs')).resolves.toBe('PENDING');
        await expect(liveIds()).resolves.toEqual(['r1', 'r2']);
        // A limit below one seat refuses even the first.
        await expect(insert('none', 5, 0, { userId: 'u3' })).rejects.toBeInstanceOf(SeatLimitReachedError);
      });

      it('counts CONFIRMED and PENDING (an ended hold too, until it is expired); expiring frees a place', async () => {
        await insert('r1', 1, 2, { expiresAt: at(MINUTE) });
        await insert('r2', 2, 2, { expiresAt: at(MINUTE) });
        await run((uow) => uow.reservations.confirm('r1', t0));
        // r2's hold has ended, but it is still PENDING: it counts.
        await expect(insert('r3', 3, 2, { expiresAt: at(10 * MINUTE) })).rejects.toBeInstanceOf(SeatLimitReachedError);
        await expect(run((uow) => uow.reservations.expire('r2', at(MINUTE)))).resolves.toBe(true);
        await insert('r3', 3, 2, { expiresAt: at(10 * MINUTE) });
        // A sale is never uncounted: r1 CONFIRMED and r3 PENDING fill the limit.
        await expect(run((uow) => uow.reservations.expire('r1', at(20 * MINUTE)))).resolves.toBe(false);
        await expect(insert('r4', 4, 2)).rejects.toBeInstanceOf(SeatLimitReachedError);
        await expect(liveIds()).resolves.toEqual(['r1', 'r3']);
      });

      it('counts per user and per schedule, and counts neither a refused seat nor a rolled-back insert', async () => {
        await run(async (uow) => {
          await uow.catalog.createSchedule({ id: 's2', concertId: 'c1', startsAt: at(60 * 24 * 60 * MINUTE), totalSeats: 2 }, 500);
        });
        await insert('r1', 1, 1);
        await insert('elsewhere', 1, 1, { scheduleId: 's2' });
        await insert('theirs', 2, 1, { userId: 'u2' });
        // u3 is refused the taken seat: no place is used up by it.
        await expect(insert('refused', 1, 1, { userId: 'u3' })).rejects.toBeInstanceOf(SeatUnavailableError);
        await expect(
          run(async (uow) => {
            await uow.reservations.insert(reservation('undone', 3, { userId: 'u3' }), 1);
            throw new Error('rolled back');
          }),
        ).rejects.toThrow('rolled back');
        await insert('u3-one', 4, 1, { userId: 'u3' });
        await expect(insert('u3-two', 5, 1, { userId: 'u3' })).rejects.toBeInstanceOf(SeatLimitReachedError);
        await expect(liveIds('u1', 's2')).resolves.toEqual(['elsewhere']);
        await expect(liveIds('u3')).resolves.toEqual(['u3-one']);
      });

      it('never lets concurrent inserts of one user on different seats, in separate transactions, pass the limit', async () => {
        const MAX = 3;
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            settle(
              run(async (uow) => {
                await uow.reservations.insert(reservation(`r${i + 1}`, i + 1), MAX);
                // Still open after its insert, so that the others meet it in flight.
                await uow.reservations.find(`r${i + 1}`);
              }),
            ),
          ),
        );
        expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(MAX);
        for (const outcome of outcomes) if (!outcome.ok) expect(outcome.error).toBeInstanceOf(SeatLimitReachedError);
        await expect(liveIds()).resolves.toHaveLength(MAX);
      });

      for (const outcome of ['commit', 'rollback'] as const) {
        it(`makes a concurrent insert of the same user wait for the first, then count what it left (${outcome})`, async () => {
          await insert('r1', 1, 2);
          const finish = deferred();
          const inserted = deferred();
          const first = run(async (uow) => {
            await uow.reservations.insert(reservation('r2', 2), 2);
            inserted.resolve();
            await finish.promise;
            if (outcome === 'rollback') throw new Error('rolled back');
          });
          await inserted.promise;
          const second = settle(run((uow) => uow.reservations.insert(reservation('r3', 3), 2)));
          await fixture.blocked();
          finish.resolve();
          await first.catch(() => undefined);
          const settled = await second;
          if (outcome === 'commit') expect(settled).toMatchObject({ ok: false, error: expect.any(SeatLimitReachedError) });
          else expect(settled).toEqual({ ok: true, value: undefined });
          await expect(liveIds()).resolves.toEqual(outcome === 'commit' ? ['r1', 'r2'] : ['r1', 'r3']);
        });

        it(`makes an insert at the limit wait for a transaction expiring one of the user's reservations (${outcome})`, async () => {
          await insert('r1', 1, 1, { expiresAt: at(MINUTE) });
          const finish = deferred();
          const expired = deferred();
          const expirer = run(async (uow) => {
            await uow.reservations.expire('r1', at(MINUTE));
            expired.resolve();
            await finish.promise;
            if (outcome === 'rollback') throw new Error('rolled back');
          });
          await expired.promise;
          const second = settle(run((uow) => uow.reservations.insert(reservation('r2', 2), 1)));
          await fixture.blocked();
          finish.resolve();
          await expirer.catch(() => undefined);
          const settled = await second;
          if (outcome === 'commit') expect(settled).toEqual({ ok: true, value: undefined });
          else expect(settled).toMatchObject({ ok: false, error: expect.any(SeatLimitReachedError) });
        });
      }
    });

    describe("a user's reservations", () => {
      beforeEach(async () => seed(16));

      it('liveOf: the PENDING (ended or not) and CONFIRMED of that user and schedule, nothing else', async () => {
        await run(async (uow) => {
          await uow.catalog.createSchedule({ id: 's2', concertId: 'c1', startsAt: at(60 * 24 * 60 * MINUTE), totalSeats: 2 }, 500);
        });
        await reserve('pending', 1, at(5 * MINUTE));
        await reserve('ended', 2, at(MINUTE));
        await reserve('paid', 3, at(MINUTE));
        await run((uow) => uow.reservations.confirm('paid', t0));
        await reserve('gone', 4, at(MINUTE));
        await run((uow) => uow.reservations.expire('gone', at(MINUTE)));
        await run((uow) => uow.reservations.insert(reservation('theirs', 5, { userId: 'u2' }), ROOMY));
        await run((uow) => uow.reservations.insert(reservation('elsewhere', 1, { scheduleId: 's2' }), ROOMY));
        const live = await run((uow) => uow.reservations.liveOf('u1', 's1'));
        expect([...live].sort((a, b) => a.id.localeCompare(b.id))).toEqual([
          reservation('ended', 2, { expiresAt: at(MINUTE) }),
          reservation('paid', 3, { status: 'CONFIRMED', expiresAt: at(MINUTE) }),
          reservation('pending', 1),
        ]);
        await expect(run((uow) => uow.reservations.liveOf('nobody', 's1'))).resolves.toEqual([]);
      });

      it('countPending: holds still running at the instant asked, over every schedule', async () => {
        await run(async (uow) => {
          await uow.catalog.createSchedule({ id: 's2', concertId: 'c1', startsAt: at(60 * 24 * 60 * MINUTE), totalSeats: 2 }, 500);
        });
        await reserve('short', 1, at(MINUTE));
        await reserve('long', 2, at(5 * MINUTE));
        await reserve('paid', 3, at(5 * MINUTE));
        await run((uow) => uow.reservations.confirm('paid', t0));
        await run((uow) => uow.reservations.insert(reservation('elsewhere', 1, { scheduleId: 's2', expiresAt: at(3 * MINUTE) }), ROOMY));
        await run((uow) => uow.reservations.insert(reservation('theirs', 4, { userId: 'u2' }), ROOMY));
        const pending = (now: Date) => run((uow) => uow.reservations.countPending('u1', now));
        await expect(pending(t0)).resolves.toBe(3);
        // A hold ends at its instant exactly.
        await expect(pending(at(MINUTE))).resolves.toBe(2);
        await expect(pending(at(3 * MINUTE))).resolves.toBe(1);
        await expect(pending(at(5 * MINUTE))).resolves.toBe(0);
        await run((uow) => uow.reservations.expire('short', at(MINUTE)));
        await expect(pending(t0)).resolves.toBe(2);
        await expect(run((uow) => uow.reservations.countPending('nobody', t0))).resolves.toBe(0);
      });

      it('listOfUser: newest first with growing positions, a page at a time, every one exactly once while more are made', async () => {
        const ids = ['a', 'b', 'c', 'd', 'e'];
        for (const [i, id] of ids.entries()) {
          await reserve(id, i + 1);
          await run((uow) => uow.reservations.insert(reservation(`theirs-${id}`, i + 6, { userId: 'u2' }), ROOMY));
        }
        await run((uow) => uow.reservations.confirm('b', t0));
        const first = await run((uow) => uow.reservations.listOfUser('u1', 2));
        expect(first).toEqual([
          { ...reservation('e', 5), position: expect.any(Number) },
          { ...reservation('d', 4), position: expect.any(Number) },
        ]);
        expect(first[0]!.position).toBeGreaterThan(first[1]!.position);

        const seen = first.map((r) => r.id);
        const late: string[] = [];
        let before = first.at(-1)!.position;
        for (let page = 0; page < 5; page++) {
          // Made between pages: newer than the cursor, so never in a later page.
          late.unshift(`late-${page}`);
          await run((uow) => uow.reservations.insert(reservation(late[0]!, 11 + page), ROOMY));
          const next = await run((uow) => uow.reservations.listOfUser('u1', 2, before));
          if (next.length === 0) break;
          expect(next.every((r) => r.position < before)).toBe(true);
          seen.push(...next.map((r) => r.id));
          before = next.at(-1)!.position;
        }
        expect(seen).toEqual(['e', 'd', 'c', 'b', 'a']);
        await expect(run((uow) => uow.reservations.listOfUser('nobody', 10))).resolves.toEqual([]);
        const all = await run((uow) => uow.reservations.listOfUser('u1', 100));
        expect(all.map((r) => r.id)).toEqual([...late, 'e', 'd', 'c', 'b', 'a']);
        expect(all.find((r) => r.id === 'b')?.status).toBe('CONFIRMED');
      });
    });

    describe('payments', () => {
      beforeEach(async () => {
        await seed();
        await reserve('r1', 1);
      });
      const payment = (id: string) => ({ id, reservationId: 'r1', userId: 'u1', amount: 500, at: at(MINUTE) });

      it('records one payment per reservation: a second is ReservationNotPendingError', async () => {
        await expect(run((uow) => uow.reservations.findPaymentByReservation('r1'))).resolves.toBeUndefined();
        await run((uow) => uow.reservations.insertPayment(payment('p1')));
        await expect(run((uow) => uow.reservations.findPaymentByReservation('r1'))).resolves.toEqual(payment('p1'));
        await expect(run((uow) => uow.reservations.insertPayment(payment('p2')))).rejects.toBeInstanceOf(ReservationNotPendingError);
        await expect(run((uow) => uow.reservations.findPaymentByReservation('r1'))).resolves.toEqual(payment('p1'));
      });

      it('records a zero payment for a free seat', async () => {
        await run((uow) => uow.reservations.insertPayment({ ...payment('p1'), amount: 0 }));
        await expect(run((uow) => uow.reservations.findPaymentByReservation('r1'))).resolves.toEqual({ ...payment('p1'), amount: 0 });
      });

      for (const outcome of ['commit', 'rollback'] as const) {
        it(`makes a concurrent payment of the same reservation wait for the first, then refuse or proceed (${outcome})`, async () => {
          const finish = deferred();
          const paid = deferred();
          const first = run(async (uow) => {
            await uow.reservations.insertPayment(payment('p1'));
            paid.resolve();
            await finish.promise;
            if (outcome === 'rollback') throw new Error('rolled back');
          });
          await paid.promise;
          const second = settle(run((uow) => uow.reservations.insertPayment(payment('p2'))));
          await fixture.blocked();
          finish.resolve();
          await first.catch(() => undefined);
          const settled = await second;
          if (outcome === 'commit') expect(settled).toMatchObject({ ok: false, error: expect.any(ReservationNotPendingError) });
          else expect(settled).toEqual({ ok: true, value: undefined });
          await expect(run((uow) => uow.reservations.findPaymentByReservation('r1'))).resolves.toEqual(
            payment(outcome === 'commit' ? 'p1' : 'p2'),
          );
        });
      }
    });
  });
}

/**
 * Migration 0003 on a database that already has reservations: each user's
 * live seats of a schedule are counted (so the limit holds for them at
 * once), and positions follow the order reservations were made in, with
 * new ones after them. `open` gives a fresh, empty database.
 */
export function describeSeatLimitMigration(
  name: string,
  open: () => Promise<{ readonly db: Kysely<Database>; close(): Promise<void> }>,
): void {
  describe(`migration 0003-seat-limit-and-paging on existing reservations: ${name}`, () => {
    it('counts the live seats per user and schedule, numbers reservations in the order they were made, and goes on from there', async () => {
      const { db, close } = await open();
      try {
        const migrator = new Migrator({ db, provider: migrationProvider });
        const before = await migrator.migrateTo('0002-catalog-reservations');
        expect(before.error).toBeUndefined();
        await sql`insert into concerts (id, title, venue) values ('c1', 'Night', 'Hall')`.execute(db);
        await sql`insert into schedules (id, concert_id, starts_at, total_seats) values ('s1', 'c1', now(), 6), ('s2', 'c1', now(), 6)`.execute(db);
        await sql`insert into seats (schedule_id, seat_no, price, status) select s, n, 500, 'AVAILABLE' from unnest(array['s1', 's2']) as s, generate_series(1, 6) as n`.execute(db);
        // Made in this order (created_at), though their ids sort otherwise and they are stored the other way round.
        const rows: [string, string, string, number, string, number][] = [
          ['z-first', 'u1', 's1', 1, 'PENDING', 0],
          ['y-second', 'u1', 's1', 2, 'CONFIRMED', 1],
          ['x-third', 'u1', 's1', 3, 'EXPIRED', 2],
          ['w-fourth', 'u1', 's2', 1, 'PENDING', 3],
          ['v-fifth', 'u2', 's1', 4, 'CONFIRMED', 4],
        ];
        for (const [id, userId, scheduleId, seatNo, status, minutes] of [...rows].reverse()) {
          await sql`insert into reservations (id, user_id, schedule_id, seat_no, price, status, expires_at, created_at)
                    values (${id}, ${userId}, ${scheduleId}, ${seatNo}, 500, ${status}, ${at(10 * MINUTE)}, ${at(minutes * MINUTE)})`.execute(db);
        }

        await migrateToLatest(db);

        const counts = await sql<{ user_id: string; schedule_id: string; seats: number }>`
          select user_id, schedule_id, seats from user_schedule_seats order by user_id, schedule_id`.execute(db);
        expect(counts.rows).toEqual([
          { user_id: 'u1', schedule_id: 's1', seats: 2 },
          { user_id: 'u1', schedule_id: 's2', seats: 1 },
          { user_id: 'u2', schedule_id: 's1', seats: 1 },
        ]);
        const repository = new KyselyReservationRepository(db);
        const listed = await repository.listOfUser('u1', 10);
        expect(listed.map((r) => r.id)).toEqual(['w-fourth', 'x-third', 'y-second', 'z-first']);
        // The limit holds for what was there before: u1 has 2 seats of s1.
        await expect(repository.insert(reservation('over', 5), 2)).rejects.toBeInstanceOf(SeatLimitReachedError);
        await repository.insert(reservation('new', 5), 3);
        const after = await repository.listOfUser('u1', 10);
        expect(after[0]).toMatchObject({ id: 'new' });
        expect(after[0]!.position).toBeGreaterThan(listed[0]!.position);
      } finally {
        await close();
      }
    });
  });
}
