import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { MemoryReservationRepository } from '../../adapters/memory/memory-reservation-repository.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { RandomTokenGenerator } from '../../adapters/system/random-token-generator.js';
import {
  DependencyUnavailableError,
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientPointsError,
  LockBusyError,
  NotFoundError,
  ReservationExpiredError,
  ReservationNotPendingError,
  SeatLimitReachedError,
  SeatUnavailableError,
  TokenInvalidError,
} from '../../core/domain/errors.js';
import type { Reservation } from '../../core/domain/reservation.js';
import { lockKeys } from '../../core/keys.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { GetBalance } from '../../core/usecases/get-balance.js';
import { GetPointHistory } from '../../core/usecases/get-point-history.js';
import { ExpireToken } from '../../core/usecases/queue/expire-token.js';
import { ExtendToken } from '../../core/usecases/queue/extend-token.js';
import { ExpireHolds } from '../../core/usecases/reservations/expire-holds.js';
import { PayReservation } from '../../core/usecases/reservations/pay-reservation.js';
import { UuidGenerator } from '../../adapters/system/uuid-generator.js';
import { aSchedule } from '../support/catalog-builders.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';
import { RecordingLock } from '../support/recording-lock.js';
import { salesUseCases, TEST_HOLD_TTL_MS, TEST_MAX_SEATS_PER_USER } from '../support/sales-use-cases.js';
import { MemoryCache } from '../../adapters/memory/memory-cache.js';
import { CatalogCache } from '../../core/usecases/catalog/catalog-cache.js';
import { holdLock } from '../support/hold-lock.js';

const PRICE = 1_000;
const TOKEN_TTL_MS = 3_600_000;

describe('reservations and payments', () => {
  let clock: ManualClock;
  let tx: MemoryTransactionManager;
  let memoryLock: MemoryLock;
  let lock: RecordingLock;
  let queue: ReturnType<typeof queueUseCases>;
  let uc: ReturnType<typeof salesUseCases>;
  let scheduleId: string;
  const tokens = new RandomTokenGenerator();

  const charge = (userId: string, amount: number) => new ChargePoints(memoryLock, tx, clock).execute({ userId, amount });
  const balanceOf = async (userId: string) => (await new GetBalance(tx).execute(userId)).balance;
  const historyOf = async (userId: string) => (await new GetPointHistory(tx).execute({ userId })).items;
  const seatOf = async (seatNo: number, ofSchedule = scheduleId) => (await uc.getSeatMap.execute(ofSchedule)).find((seat) => seat.seatNo === seatNo)?.status;
  /** The seat as stored, not as a buyer sees it at some instant: whether it was really released. */
  const storedSeatOf = (seatNo: number) => tx.run((uow) => uow.catalog.findSeat(scheduleId, seatNo, new Date(0))).then((seat) => seat?.status);
  const stored = (id: string) => tx.run((uow) => uow.reservations.find(id));
  const paymentOf = (id: string) => tx.run((uow) => uow.reservations.findPaymentByReservation(id));
  const tokenState = (token: string) => queue.queue.status(token, clock.now());
  /** The user's ACTIVE queue token (its live one, or a new one admitted at once) and its expiry, as the HTTP guard would have read them. */
  const activeToken = async (userId: string) => {
    const { token } = await queue.queue.issue(userId, tokens.next(), clock.now());
    await queue.admitWaiters.execute();
    const state = await tokenState(token);
    if (state?.status !== 'ACTIVE') throw new Error(`the token of ${userId} is not ACTIVE: ${JSON.stringify(state)}`);
    return { token, expiresAt: state.expiresAt };
  };
  const reserve = async (userId: string, seatNo = 1, ofSchedule = scheduleId) => {
    const { token, expiresAt } = await activeToken(userId);
    return uc.reserveSeat.execute({ userId, token, tokenExpiresAt: expiresAt, scheduleId: ofSchedule, seatNo });
  };
  const pay = async (userId: string, reservationId: string, idempotencyKey?: string) =>
    uc.payReservation.execute({ userId, token: (await activeToken(userId)).token, reservationId, idempotencyKey });

  beforeEach(async () => {
    clock = new ManualClock();
    tx = new MemoryTransactionManager();
    memoryLock = new MemoryLock(clock);
    lock = new RecordingLock(memoryLock);
    queue = queueUseCases(clock, { settings: { activeMax: 100, admitIntervalMs: 1_000, activeTtlMs: TOKEN_TTL_MS } });
    uc = salesUseCases({
      lock,
      tx,
      clock,
      expireToken: queue.expireToken,
      extendToken: queue.extendToken,
      pay: { lockWaitMs: 50 },
      reserve: { userLockWaitMs: 50 },
    });
    scheduleId = (await aSchedule(uc, { seatCount: 6, price: PRICE })).id;
    lock.calls.length = 0;
  });

  describe('ReserveSeat', () => {
    it("holds an AVAILABLE seat for the hold TTL under the user's seats key (waiting) and the seat key (fail-fast)", async () => {
      const reservation = await reserve('u1', 2);
      expect(reservation).toEqual({
        id: expect.any(String),
        userId: 'u1',
        scheduleId,
        seatNo: 2,
        price: PRICE,
        status: 'PENDING',
        expiresAt: new Date(clock.now().getTime() + TEST_HOLD_TTL_MS),
      });
      expect(lock.calls).toEqual([
        { keys: [lockKeys.userSeats(scheduleId, 'u1')], wait: 'wait' },
        { keys: [lockKeys.seat(scheduleId, 2)], wait: 'fail-fast' },
      ]);
      await expect(stored(reservation.id)).resolves.toEqual(reservation);
      expect(await seatOf(2)).toBe('HELD');
      expect((await uc.listSchedules.execute((await uc.listConcerts.execute())[0]!.id))[0]!.availableSeats).toBe(5);
    });

    it('answers 409 SEAT_UNAVAILABLE for a held seat and for a sold one, at once and without a lock', async () => {
      const held = await reserve('u1', 1);
      await expect(reserve('u2', 1)).rejects.toBeInstanceOf(SeatUnavailableError);
      await charge('u1', PRICE);
      await pay('u1', held.id);
      lock.calls.length = 0;
      const liveOf = vi.spyOn(MemoryReservationRepository.prototype, 'liveOf');
      await expect(reserve('u2', 1)).rejects.toBeInstanceOf(SeatUnavailableError);
      const liveOfCalls = liveOf.mock.calls.length;
      liveOf.mockRestore();
      expect(lock.calls).toEqual([]);
      // A hot seat's crowd ends on the seat's read alone: nobody's own holds are counted for a seat they cannot take.
      expect(liveOfCalls).toBe(0);
    });

    it('answers 409 LOCK_BUSY at once while another request holds the seat key', async () => {
      const release = await holdLock(memoryLock, [lockKeys.seat(scheduleId, 1)]);
      await expect(reserve('u1', 1)).rejects.toBeInstanceOf(LockBusyError);
      await release();
      await expect(reserve('u1', 1)).resolves.toMatchObject({ status: 'PENDING' });
    });

    it("queues behind the same user's reserve of that schedule, for a bounded time", async () => {
      const release = await holdLock(memoryLock, [lockKeys.userSeats(scheduleId, 'u1')]);
      // Another user: another key, no wait.
      await expect(reserve('u2', 2)).resolves.toMatchObject({ status: 'PENDING' });
      await expect(reserve('u1', 1)).rejects.toBeInstanceOf(LockBusyError);
      const waiting = reserve('u1', 1);
      await new Promise((resolve) => setTimeout(resolve, 10));
      await release();
      await expect(waiting).resolves.toMatchObject({ userId: 'u1', seatNo: 1, status: 'PENDING' });
    });

    it('takes a seat whose hold has ended and expires that old reservation in the same transaction', async () => {
      const old = await reserve('u1', 1);
      clock.advance(TEST_HOLD_TTL_MS - 1);
      await expect(reserve('u2', 1)).rejects.toBeInstanceOf(SeatUnavailableError);
      clock.advance(1);
      expect(await seatOf(1)).toBe('AVAILABLE');
      const fresh = await reserve('u2', 1);
      expect(fresh.userId).toBe('u2');
      await expect(stored(old.id)).resolves.toMatchObject({ status: 'EXPIRED' });
      await expect(stored(fresh.id)).resolves.toMatchObject({ status: 'PENDING' });
    });

    it('answers 404 naming the schedule or the seat, and refuses bad input before any lock', async () => {
      const { token, expiresAt } = await activeToken('u1');
      await expect(uc.reserveSeat.execute({ userId: 'u1', token, tokenExpiresAt: expiresAt, scheduleId: 'nope', seatNo: 1 })).rejects.toThrow(/no schedule nope/);
      await expect(reserve('u1', 7)).rejects.toThrow(/has no seat 7/);
      await expect(reserve('u1', 7)).rejects.toBeInstanceOf(NotFoundError);
      await expect(reserve('u1', 0)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'seatNo' });
      await expect(reserve('u1', 1.5)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'seatNo' });
      await expect(reserve('u1', 1, 'a b')).rejects.toMatchObject({ field: 'scheduleId' });
      expect(lock.calls).toEqual([]);
    });

    describe('the seat limit', () => {
      /** The user's reservations as stored, whatever their state. */
      const storedOf = async (userId: string) => (await uc.listUserReservations.execute({ userId })).items;

      it('answers 409 SEAT_LIMIT_REACHED past MAX_SEATS_PER_USER seats of a schedule, at once and without a lock, writing nothing', async () => {
        for (let seatNo = 1; seatNo <= TEST_MAX_SEATS_PER_USER; seatNo++) await reserve('u1', seatNo);
        lock.calls.length = 0;
        const refusal = reserve('u1', 5);
        await expect(refusal).rejects.toBeInstanceOf(SeatLimitReachedError);
        await expect(refusal).rejects.toMatchObject({ code: 'SEAT_LIMIT_REACHED', limit: TEST_MAX_SEATS_PER_USER });
        expect(lock.calls).toEqual([]);
        expect(await seatOf(5)).toBe('AVAILABLE');
        await expect(storedOf('u1')).resolves.toHaveLength(TEST_MAX_SEATS_PER_USER);
        // Per user and per schedule.
        await expect(reserve('u2', 5)).resolves.toMatchObject({ status: 'PENDING' });
        const other = (await aSchedule(uc, { seatCount: 1 })).id;
        await expect(reserve('u1', 1, other)).resolves.toMatchObject({ status: 'PENDING' });
      });

      it('counts a bought seat like a held one', async () => {
        await charge('u1', 10 * PRICE);
        const [first] = [await reserve('u1', 1), await reserve('u1', 2), await reserve('u1', 3), await reserve('u1', 4)];
        await pay('u1', first!.id);
        await expect(reserve('u1', 5)).rejects.toBeInstanceOf(SeatLimitReachedError);
        // Long after every hold has ended, the sale still counts; the ended holds do not.
        clock.advance(TEST_HOLD_TTL_MS);
        await reserve('u1', 5);
        await reserve('u1', 6);
        await reserve('u1', 2);
        await expect(reserve('u1', 3)).rejects.toBeInstanceOf(SeatLimitReachedError);
      });

      it('checks the limit again under the lock: of two reserves racing for the last place, one is refused', async () => {
        for (let seatNo = 1; seatNo < TEST_MAX_SEATS_PER_USER; seatNo++) await reserve('u1', seatNo);
        const { token, expiresAt } = await activeToken('u1');
        const racing = (seatNo: number) => uc.reserveSeat.execute({ userId: 'u1', token, tokenExpiresAt: expiresAt, scheduleId, seatNo });
        const outcomes = await Promise.allSettled([racing(5), racing(6)]);
        expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
        expect(outcomes.find((outcome) => outcome.status === 'rejected')).toMatchObject({ reason: expect.any(SeatLimitReachedError) });
        await expect(storedOf('u1')).resolves.toHaveLength(TEST_MAX_SEATS_PER_USER);
      });

      it("frees the place of the user's own ended hold: expires it and releases its seat in the same transaction, under its seat's key", async () => {
        const first = await reserve('u1', 1);
        clock.advance(1_000);
        for (let seatNo = 2; seatNo <= TEST_MAX_SEATS_PER_USER; seatNo++) await reserve('u1', seatNo);
        clock.advance(TEST_HOLD_TTL_MS - 1_000);
        lock.calls.length = 0;

        const fresh = await reserve('u1', 5);
        expect(lock.calls).toEqual([
          { keys: [lockKeys.userSeats(scheduleId, 'u1')], wait: 'wait' },
          { keys: [lockKeys.seat(scheduleId, 1), lockKeys.seat(scheduleId, 5)].sort(), wait: 'fail-fast' },
        ]);
        await expect(stored(first.id)).resolves.toMatchObject({ status: 'EXPIRED' });
        await expect(stored(fresh.id)).resolves.toMatchObject({ status: 'PENDING' });
        expect(await storedSeatOf(1)).toBe('AVAILABLE');
        // The others still hold: the limit is reached again.
        await expect(reserve('u1', 6)).rejects.toBeInstanceOf(SeatLimitReachedError);
        // Its own ended seat may be taken again at once, by the user or anyone.
        await expect(reserve('u2', 1)).resolves.toMatchObject({ status: 'PENDING' });
      });

      it('takes back its own ended hold of the very seat it asks for', async () => {
        const first = await reserve('u1', 1);
        clock.advance(TEST_HOLD_TTL_MS);
        const again = await reserve('u1', 1);
        await expect(stored(first.id)).resolves.toMatchObject({ status: 'EXPIRED' });
        await expect(stored(again.id)).resolves.toMatchObject({ status: 'PENDING', seatNo: 1 });
      });

      it("answers LOCK_BUSY, writing nothing, while the seat of the user's ended hold is busy (the sweeper on it)", async () => {
        const first = await reserve('u1', 1);
        clock.advance(TEST_HOLD_TTL_MS);
        const release = await holdLock(memoryLock, [lockKeys.reservation(first.id), lockKeys.seat(scheduleId, 1)]);
        await expect(reserve('u1', 2)).rejects.toBeInstanceOf(LockBusyError);
        await expect(stored(first.id)).resolves.toMatchObject({ status: 'PENDING' });
        expect(await seatOf(2)).toBe('AVAILABLE');
        await release();
        await expect(reserve('u1', 2)).resolves.toMatchObject({ status: 'PENDING' });
      });
    });

    describe('the queue token', () => {
      it('is kept ACTIVE until the hold ends when the hold would outlive it', async () => {
        const { token } = await activeToken('u1');
        clock.advance(TOKEN_TTL_MS - 10_000);
        const { expiresAt } = await activeToken('u1');
        const reservation = await uc.reserveSeat.execute({ userId: 'u1', token, tokenExpiresAt: expiresAt, scheduleId, seatNo: 1 });
        expect(reservation.expiresAt.getTime()).toBeGreaterThan(expiresAt.getTime());
        await expect(tokenState(token)).resolves.toEqual({ status: 'ACTIVE', userId: 'u1', expiresAt: reservation.expiresAt });
        clock.advance(TEST_HOLD_TTL_MS - 1);
        // Payable to the hold's last instant.
        await charge('u1', PRICE);
        await expect(uc.payReservation.execute({ userId: 'u1', token, reservationId: reservation.id })).resolves.toMatchObject({ queueToken: 'SPENT' });
      });

      it('is left alone when it outlives the hold', async () => {
        const { token, expiresAt } = await activeToken('u1');
        const extend = vi.spyOn(queue.extendToken, 'execute');
        await uc.reserveSeat.execute({ userId: 'u1', token, tokenExpiresAt: expiresAt, scheduleId, seatNo: 1 });
        expect(extend).not.toHaveBeenCalled();
        await expect(tokenState(token)).resolves.toEqual({ status: 'ACTIVE', userId: 'u1', expiresAt });
      });

      it('that cannot be extended (queue down) leaves the committed hold standing, and is reported', async () => {
        const broken = new MemoryQueue();
        broken.extend = () => Promise.reject(new DependencyUnavailableError('queue'));
        const reported = vi.fn();
        const { reserveSeat } = salesUseCases({
          lock,
          tx,
          clock,
          expireToken: queue.expireToken,
          extendToken: new ExtendToken(broken, clock),
          reserve: { userLockWaitMs: 50, onTokenNotExtended: reported },
        });
        const { token } = await activeToken('u1');
        const reservation = await reserveSeat.execute({ userId: 'u1', token, tokenExpiresAt: clock.now(), scheduleId, seatNo: 1 });
        expect(reported).toHaveBeenCalledWith(expect.any(DependencyUnavailableError));
        await expect(stored(reservation.id)).resolves.toEqual(reservation);
        expect(await seatOf(1)).toBe('HELD');
      });
    });
  });

  describe('PayReservation', () => {
    it('confirms, deducts, records USE and the payment, sells the seat, then expires the token; under the three keys', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      lock.calls.length = 0;
      const { token } = await activeToken('u1');
      clock.advance(1_000);

      const paid = await uc.payReservation.execute({ userId: 'u1', token, reservationId: reservation.id });
      expect(paid).toEqual({
        paymentId: expect.any(String),
        reservationId: reservation.id,
        amount: PRICE,
        status: 'CONFIRMED',
        balance: 4_000,
        replayed: false,
        queueToken: 'SPENT',
      });
      expect(lock.calls).toEqual([
        { keys: [lockKeys.points('u1'), lockKeys.reservation(reservation.id), lockKeys.seat(scheduleId, 1)].sort(), wait: 'wait' },
      ]);
      await expect(stored(reservation.id)).resolves.toMatchObject({ status: 'CONFIRMED' });
      await expect(paymentOf(reservation.id)).resolves.toEqual({
        id: paid.paymentId,
        reservationId: reservation.id,
        userId: 'u1',
        amount: PRICE,
        at: clock.now(),
      });
      expect(await seatOf(1)).toBe('SOLD');
      expect(await balanceOf('u1')).toBe(4_000);
      await expect(historyOf('u1')).resolves.toMatchObject([
        { kind: 'USE', amount: PRICE, balanceAfter: 4_000, at: clock.now() },
        { kind: 'CHARGE', amount: 5_000, balanceAfter: 5_000 },
      ]);
      // Spent: it holds no slot, but still names its user (until its own expiry) so that a retry can replay.
      await expect(queue.queue.status(token, clock.now())).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
      await expect(queue.queue.counts(clock.now())).resolves.toEqual({ waiting: 0, active: 0 });
    });

    it('spends the token only with the payment that leaves its user no PENDING reservation, over every schedule', async () => {
      await charge('u1', 5_000);
      const other = (await aSchedule(uc, { seatCount: 2, price: PRICE })).id;
      const { token } = await activeToken('u1');
      const first = await reserve('u1', 1);
      const second = await reserve('u1', 1, other);
      await expect(uc.payReservation.execute({ userId: 'u1', token, reservationId: first.id })).resolves.toMatchObject({ queueToken: 'KEPT' });
      await expect(tokenState(token)).resolves.toMatchObject({ status: 'ACTIVE' });
      await expect(uc.payReservation.execute({ userId: 'u1', token, reservationId: second.id })).resolves.toMatchObject({ queueToken: 'SPENT' });
      await expect(tokenState(token)).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
    });

    it('does not count a hold that has ended, nor another user\'s, as left to pay', async () => {
      await charge('u1', 5_000);
      const ended = await reserve('u1', 1);
      clock.advance(1_000);
      const paid = await reserve('u1', 2);
      await reserve('u2', 3);
      clock.advance(TEST_HOLD_TTL_MS - 1_000);
      const { token } = await activeToken('u1');
      await expect(stored(ended.id)).resolves.toMatchObject({ status: 'PENDING' });
      await expect(uc.payReservation.execute({ userId: 'u1', token, reservationId: paid.id })).resolves.toMatchObject({ queueToken: 'SPENT' });
    });

    it('never spends a token with a replayed answer', async () => {
      await charge('u1', 5_000);
      const first = await reserve('u1', 1);
      const second = await reserve('u1', 2);
      const { token } = await activeToken('u1');
      const paid = await uc.payReservation.execute({ userId: 'u1', token, reservationId: first.id, idempotencyKey: 'k1' });
      expect(paid.queueToken).toBe('KEPT');
      // A retry of the first payment while the second hold still waits: the token must stay, to pay it.
      const again = await uc.payReservation.execute({ userId: 'u1', token, reservationId: first.id, idempotencyKey: 'k1' });
      expect(again).toEqual({ ...paid, replayed: true, queueToken: 'KEPT' });
      await expect(tokenState(token)).resolves.toMatchObject({ status: 'ACTIVE' });
      await expect(uc.payReservation.execute({ userId: 'u1', token, reservationId: second.id })).resolves.toMatchObject({ queueToken: 'SPENT' });
      // Replayed after the last payment left nothing to pay: still nothing spent by the replay itself.
      const expire = vi.spyOn(queue.expireToken, 'execute');
      await expect(uc.payReservation.execute({ userId: 'u1', token, reservationId: first.id, idempotencyKey: 'k1', tokenSpent: true })).resolves.toMatchObject({
        replayed: true,
        queueToken: 'KEPT',
      });
      expect(expire).not.toHaveBeenCalled();
    });

    it("pays several holds of one user at once: they queue on the wallet's key, and exactly the last spends the token", async () => {
      const { payReservation } = salesUseCases({ lock, tx, clock, expireToken: queue.expireToken, pay: { lockWaitMs: 5_000 } });
      await charge('u1', 5_000);
      const holds = [await reserve('u1', 1), await reserve('u1', 2), await reserve('u1', 3), await reserve('u1', 4)];
      const { token } = await activeToken('u1');
      const paid = await Promise.all(holds.map((hold) => payReservation.execute({ userId: 'u1', token, reservationId: hold.id })));
      expect(paid.map((p) => p.queueToken).sort()).toEqual(['KEPT', 'KEPT', 'KEPT', 'SPENT']);
      expect(paid.map((p) => p.balance).sort()).toEqual([1_000, 2_000, 3_000, 4_000]);
      for (const hold of holds) await expect(stored(hold.id)).resolves.toMatchObject({ status: 'CONFIRMED' });
      expect(await balanceOf('u1')).toBe(1_000);
      await expect(tokenState(token)).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
    });

    it('answers 404 for an unknown reservation and 403 for someone else\'s, before any lock, writing nothing', async () => {
      await charge('u2', 5_000);
      const reservation = await reserve('u1', 1);
      lock.calls.length = 0;
      await expect(pay('u1', 'nope')).rejects.toBeInstanceOf(NotFoundError);
      await expect(pay('u2', reservation.id)).rejects.toBeInstanceOf(ForbiddenError);
      expect(lock.calls).toEqual([]);
      expect(await balanceOf('u2')).toBe(5_000);
      await expect(stored(reservation.id)).resolves.toMatchObject({ status: 'PENDING' });
    });

    it('answers 409 INSUFFICIENT_POINTS and rolls everything back', async () => {
      await charge('u1', PRICE - 1);
      const reservation = await reserve('u1', 1);
      await expect(pay('u1', reservation.id)).rejects.toBeInstanceOf(InsufficientPointsError);
      await expect(stored(reservation.id)).resolves.toMatchObject({ status: 'PENDING' });
      await expect(paymentOf(reservation.id)).resolves.toBeUndefined();
      expect(await seatOf(1)).toBe('HELD');
      expect(await balanceOf('u1')).toBe(PRICE - 1);
      await expect(historyOf('u1')).resolves.toHaveLength(1);
      // Charged up, the same reservation can still be paid.
      await charge('u1', 1);
      await expect(pay('u1', reservation.id)).resolves.toMatchObject({ balance: 0 });
    });

    it('answers 409 RESERVATION_EXPIRED once the hold has ended (exactly at expiresAt), writing nothing', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      clock.advance(TEST_HOLD_TTL_MS);
      await expect(pay('u1', reservation.id)).rejects.toBeInstanceOf(ReservationExpiredError);
      // With a key the early answer is skipped; the transaction's guard refuses it the same way.
      await expect(pay('u1', reservation.id, 'k1')).rejects.toBeInstanceOf(ReservationExpiredError);
      expect(await balanceOf('u1')).toBe(5_000);
      await uc.expireHolds.execute();
      await expect(pay('u1', reservation.id)).rejects.toBeInstanceOf(ReservationExpiredError);
    });

    it('answers 409 RESERVATION_NOT_PENDING when paid already, and pays once', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      await pay('u1', reservation.id);
      await expect(pay('u1', reservation.id)).rejects.toBeInstanceOf(ReservationNotPendingError);
      await expect(pay('u1', reservation.id, 'new-key')).rejects.toBeInstanceOf(ReservationNotPendingError);
      expect(await balanceOf('u1')).toBe(4_000);
    });

    it('replays the same payment for a repeated Idempotency-Key, paying once', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      const first = await pay('u1', reservation.id, 'pay-1');
      await charge('u1', 10);
      const again = await pay('u1', reservation.id, 'pay-1');
      expect(again).toEqual({ ...first, replayed: true, queueToken: 'KEPT' });
      expect(await balanceOf('u1')).toBe(4_010);
      await expect(historyOf('u1')).resolves.toHaveLength(3);
    });

    it('replays the stored payment to the token that payment spent, with the same key: no write, no wallet lock', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      const { token } = await activeToken('u1');
      const first = await uc.payReservation.execute({ userId: 'u1', token, reservationId: reservation.id, idempotencyKey: 'pay-1' });
      await expect(tokenState(token)).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
      await charge('u1', 10);
      lock.calls.length = 0;

      const again = await uc.payReservation.execute({ userId: 'u1', token, reservationId: reservation.id, idempotencyKey: 'pay-1', tokenSpent: true });
      expect(again).toEqual({ ...first, replayed: true, queueToken: 'KEPT' });
      expect(lock.calls).toEqual([{ keys: [lockKeys.idempotency(`pay:${reservation.id}`, 'pay-1')], wait: 'fail-fast' }]);
      expect(await balanceOf('u1')).toBe(4_010);
      await expect(historyOf('u1')).resolves.toHaveLength(3);
      await expect(queue.queue.status(token, clock.now())).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
    });

    it('refuses a spent token anything but a replay (TOKEN_INVALID), before any write, claiming no key', async () => {
      await charge('u1', 5_000);
      await charge('u2', 5_000);
      const paid = await reserve('u1', 1);
      const pending = await reserve('u1', 2);
      const others = await reserve('u2', 3);
      const { token } = await activeToken('u1');
      await uc.payReservation.execute({ userId: 'u1', token, reservationId: paid.id, idempotencyKey: 'pay-1' });
      await pay('u2', others.id, 'pay-3');
      const spent = (reservationId: string, idempotencyKey?: string) =>
        uc.payReservation.execute({ userId: 'u1', token, reservationId, idempotencyKey, tokenSpent: true });

      await expect(spent(paid.id)).rejects.toBeInstanceOf(TokenInvalidError);
      await expect(spent(paid.id, 'another-key')).rejects.toBeInstanceOf(TokenInvalidError);
      await expect(spent(pending.id, 'pay-2')).rejects.toBeInstanceOf(TokenInvalidError);
      await expect(spent(pending.id, 'pay-1')).rejects.toBeInstanceOf(TokenInvalidError);
      await expect(spent(others.id, 'pay-3')).rejects.toBeInstanceOf(TokenInvalidError);
      await expect(spent('nope', 'pay-1')).rejects.toBeInstanceOf(TokenInvalidError);

      await expect(stored(pending.id)).resolves.toMatchObject({ status: 'PENDING' });
      expect(await seatOf(2)).toBe('HELD');
      expect(await balanceOf('u1')).toBe(4_000);
      // The refused key was not kept: with a new ACTIVE token it pays the reservation.
      await expect(pay('u1', pending.id, 'pay-2')).resolves.toMatchObject({ replayed: false, balance: 3_000 });
    });

    it('answers IDEMPOTENCY_IN_PROGRESS to a spent token\'s replay while its key is in flight', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      const { token } = await activeToken('u1');
      await uc.payReservation.execute({ userId: 'u1', token, reservationId: reservation.id, idempotencyKey: 'pay-1' });
      const release = await holdLock(memoryLock, [lockKeys.idempotency(`pay:${reservation.id}`, 'pay-1')]);
      const replay = () => uc.payReservation.execute({ userId: 'u1', token, reservationId: reservation.id, idempotencyKey: 'pay-1', tokenSpent: true });
      await expect(replay()).rejects.toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS' });
      await release();
      await expect(replay()).resolves.toMatchObject({ replayed: true });
    });

    it('scopes the key to the reservation: the same key pays another reservation', async () => {
      await charge('u1', 5_000);
      const one = await reserve('u1', 1);
      const two = await reserve('u1', 2);
      await pay('u1', one.id, 'same');
      await expect(pay('u1', two.id, 'same')).resolves.toMatchObject({ reservationId: two.id, replayed: false, balance: 3_000 });
    });

    it('refuses a key reused with another body', async () => {
      // The fingerprint is the reservation, which the scope already names: only a forged record can differ.
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      await tx.run(async (uow) => {
        await uow.idempotency.claim({ scope: `pay:${reservation.id}`, key: 'forged', fingerprint: '{"other":1}' });
        await uow.idempotency.complete(`pay:${reservation.id}`, 'forged', {});
      });
      await expect(pay('u1', reservation.id, 'forged')).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    });

    it('keeps a committed sale when the token cannot be expired, and reports it', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      const broken = new MemoryQueue();
      broken.expire = () => Promise.reject(new DependencyUnavailableError('queue'));
      const reported = vi.fn();
      const payReservation = new PayReservation(lock, tx, clock, new UuidGenerator(), new ExpireToken(broken, clock), new CatalogCache(new MemoryCache(clock), tx), {
        lockWaitMs: 50,
        onTokenNotExpired: reported,
      });
      const { token } = await activeToken('u1');
      await expect(payReservation.execute({ userId: 'u1', token, reservationId: reservation.id })).resolves.toMatchObject({
        status: 'CONFIRMED',
        queueToken: 'NOT_SPENT',
      });
      expect(reported).toHaveBeenCalledWith(expect.any(DependencyUnavailableError));
      expect(await seatOf(1)).toBe('SOLD');
    });

    it('pays a free seat without moving points or writing history', async () => {
      const free = (await aSchedule(uc, { seatCount: 1, price: 0 })).id;
      const reservation = await reserve('u1', 1, free);
      await expect(pay('u1', reservation.id)).resolves.toMatchObject({ amount: 0, balance: 0 });
      await expect(historyOf('u1')).resolves.toEqual([]);
    });

    it('answers LOCK_BUSY when the wallet stays busy past the bounded wait', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      const release = await holdLock(memoryLock, [lockKeys.points('u1')]);
      await expect(pay('u1', reservation.id)).rejects.toBeInstanceOf(LockBusyError);
      await release();
      await expect(pay('u1', reservation.id)).resolves.toMatchObject({ status: 'CONFIRMED' });
      expect(await balanceOf('u1')).toBe(4_000);
    });
  });

  describe('GetReservation', () => {
    it('answers the owner, refuses others (403) and unknown ids (404), and reads an ended hold as EXPIRED', async () => {
      const reservation = await reserve('u1', 1);
      await expect(uc.getReservation.execute({ userId: 'u1', reservationId: reservation.id })).resolves.toEqual(reservation);
      await expect(uc.getReservation.execute({ userId: 'u2', reservationId: reservation.id })).rejects.toBeInstanceOf(ForbiddenError);
      await expect(uc.getReservation.execute({ userId: 'u1', reservationId: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
      clock.advance(TEST_HOLD_TTL_MS);
      await expect(uc.getReservation.execute({ userId: 'u1', reservationId: reservation.id })).resolves.toEqual({
        ...reservation,
        status: 'EXPIRED',
      } satisfies Reservation);
    });
  });

  describe('ListUserReservations', () => {
    const list = (input: { userId: string; limit?: number; cursor?: string }) => uc.listUserReservations.execute(input);

    it("pages the user's reservations newest first; an ended hold reads EXPIRED; following nextCursor walks each once while more are made", async () => {
      await charge('u1', 5_000);
      const other = (await aSchedule(uc, { seatCount: 6, price: PRICE })).id;
      const made: Reservation[] = [];
      made.push(await reserve('u1', 1));
      clock.advance(TEST_HOLD_TTL_MS);
      made.push(await reserve('u1', 2), await reserve('u1', 3), await reserve('u1', 1, other));
      await reserve('u2', 4);
      await pay('u1', made[2]!.id);

      const first = await list({ userId: 'u1', limit: 3 });
      expect(first.items).toEqual([
        made[3],
        { ...made[2], status: 'CONFIRMED' },
        made[1],
      ]);
      const rest = await list({ userId: 'u1', limit: 3, cursor: first.nextCursor });
      // The first hold ended, and the user's next reserve expired it.
      expect(rest).toEqual({ items: [{ ...made[0], status: 'EXPIRED' }], nextCursor: undefined });

      const seen: string[] = [];
      let page = await list({ userId: 'u1', limit: 1 });
      for (;;) {
        seen.push(...page.items.map((r) => r.id));
        if (page.nextCursor === undefined) break;
        await reserve('u1', 2 + seen.length, other);
        page = await list({ userId: 'u1', limit: 1, cursor: page.nextCursor });
      }
      expect(seen).toEqual([...made].reverse().map((r) => r.id));
      await expect(list({ userId: 'u1' })).resolves.toMatchObject({ items: { length: made.length + 3 }, nextCursor: undefined });
      await expect(list({ userId: 'nobody' })).resolves.toEqual({ items: [], nextCursor: undefined });
    });

    it('reads a PENDING hold that has ended as EXPIRED before the sweeper gets to it', async () => {
      const hold = await reserve('u1', 1);
      clock.advance(TEST_HOLD_TTL_MS - 1);
      await expect(list({ userId: 'u1' })).resolves.toEqual({ items: [hold], nextCursor: undefined });
      clock.advance(1);
      await expect(list({ userId: 'u1' })).resolves.toEqual({ items: [{ ...hold, status: 'EXPIRED' }], nextCursor: undefined });
      await expect(stored(hold.id)).resolves.toMatchObject({ status: 'PENDING' });
    });

    it('refuses a limit out of 1..100, a cursor it never issued, and a bad user id', async () => {
      for (const limit of [0, 101, 2.5]) await expect(list({ userId: 'u1', limit })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'limit' });
      for (const cursor of ['', 'nope', 'c1.0', 'c1.-1']) await expect(list({ userId: 'u1', cursor })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'cursor' });
      await expect(list({ userId: 'a b' })).rejects.toMatchObject({ field: 'userId' });
      await expect(list({ userId: 'u1', limit: 100 })).resolves.toEqual({ items: [], nextCursor: undefined });
    });
  });

  describe('ExpireHolds', () => {
    it('expires ended holds only and releases their seats, under the reservation and seat keys', async () => {
      const first = await reserve('u1', 1);
      clock.advance(1_000);
      const second = await reserve('u2', 2);
      clock.advance(TEST_HOLD_TTL_MS - 1_000);
      lock.calls.length = 0;

      await expect(uc.expireHolds.execute()).resolves.toBe(1);
      expect(lock.calls).toEqual([{ keys: [lockKeys.reservation(first.id), lockKeys.seat(scheduleId, 1)].sort(), wait: 'fail-fast' }]);
      await expect(stored(first.id)).resolves.toMatchObject({ status: 'EXPIRED' });
      await expect(stored(second.id)).resolves.toMatchObject({ status: 'PENDING' });
      await expect(tx.run((uow) => uow.catalog.findSeat(scheduleId, 1, new Date(0)))).resolves.toMatchObject({ status: 'AVAILABLE' });

      clock.advance(1_000);
      await expect(uc.expireHolds.execute()).resolves.toBe(1);
      await expect(uc.expireHolds.execute()).resolves.toBe(0);
    });

    it('never undoes a sale', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      await pay('u1', reservation.id);
      clock.advance(TEST_HOLD_TTL_MS * 2);
      await expect(uc.expireHolds.execute()).resolves.toBe(0);
      await expect(stored(reservation.id)).resolves.toMatchObject({ status: 'CONFIRMED' });
      expect(await seatOf(1)).toBe('SOLD');
    });

    it('skips a hold whose keys are busy (a payment or another sweeper is on it), and gets it next round', async () => {
      const reservation = await reserve('u1', 1);
      clock.advance(TEST_HOLD_TTL_MS);
      const release = await holdLock(memoryLock, [lockKeys.reservation(reservation.id)]);
      await expect(uc.expireHolds.execute()).resolves.toBe(0);
      await expect(stored(reservation.id)).resolves.toMatchObject({ status: 'PENDING' });
      await release();
      await expect(uc.expireHolds.execute()).resolves.toBe(1);
    });

    it('works through more ended holds than one batch', async () => {
      const many = (await aSchedule(uc, { seatCount: 25 })).id;
      for (let seatNo = 1; seatNo <= 25; seatNo++) await reserve(`u${seatNo}`, seatNo, many);
      clock.advance(TEST_HOLD_TTL_MS);
      await expect(new ExpireHolds(lock, tx, clock, new CatalogCache(new MemoryCache(clock), tx), { batchSize: 10, maxBatches: 2 }).execute()).resolves.toBe(20);
      await expect(new ExpireHolds(lock, tx, clock, new CatalogCache(new MemoryCache(clock), tx), { batchSize: 10, maxBatches: 2 }).execute()).resolves.toBe(5);
    });
  });
});
