import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import {
  DependencyUnavailableError,
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientPointsError,
  LockBusyError,
  NotFoundError,
  ReservationExpiredError,
  ReservationNotPendingError,
  SeatUnavailableError,
  TokenInvalidError,
} from '../../core/domain/errors.js';
import type { Reservation } from '../../core/domain/reservation.js';
import { lockKeys } from '../../core/keys.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { GetBalance } from '../../core/usecases/get-balance.js';
import { GetPointHistory } from '../../core/usecases/get-point-history.js';
import { ExpireToken } from '../../core/usecases/queue/expire-token.js';
import { ExpireHolds } from '../../core/usecases/reservations/expire-holds.js';
import { PayReservation } from '../../core/usecases/reservations/pay-reservation.js';
import { UuidGenerator } from '../../adapters/system/uuid-generator.js';
import { aSchedule } from '../support/catalog-builders.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';
import { RecordingLock } from '../support/recording-lock.js';
import { salesUseCases, TEST_HOLD_TTL_MS } from '../support/sales-use-cases.js';
import { MemoryCache } from '../../adapters/memory/memory-cache.js';
import { CatalogCache } from '../../core/usecases/catalog/catalog-cache.js';
import { holdLock } from '../support/hold-lock.js';

const PRICE = 1_000;

describe('reservations and payments', () => {
  let clock: ManualClock;
  let tx: MemoryTransactionManager;
  let memoryLock: MemoryLock;
  let lock: RecordingLock;
  let queue: ReturnType<typeof queueUseCases>;
  let uc: ReturnType<typeof salesUseCases>;
  let scheduleId: string;

  const charge = (userId: string, amount: number) => new ChargePoints(memoryLock, tx, clock).execute({ userId, amount });
  const balanceOf = async (userId: string) => (await new GetBalance(tx).execute(userId)).balance;
  const seatOf = async (seatNo: number) => (await uc.getSeatMap.execute(scheduleId)).find((seat) => seat.seatNo === seatNo)?.status;
  const stored = (id: string) => tx.run((uow) => uow.reservations.find(id));
  const paymentOf = (id: string) => tx.run((uow) => uow.reservations.findPaymentByReservation(id));
  /** An ACTIVE queue token for the user, as the HTTP guard would have checked. */
  const activeToken = async (userId: string) => {
    const { token } = await queue.issueToken.execute({ userId });
    await queue.admitWaiters.execute();
    return token;
  };
  const reserve = (userId: string, seatNo = 1) => uc.reserveSeat.execute({ userId, scheduleId, seatNo });
  const pay = async (userId: string, reservationId: string, idempotencyKey?: string) =>
    uc.payReservation.execute({ userId, token: await activeToken(userId), reservationId, idempotencyKey });


  beforeEach(async () => {
    clock = new ManualClock();
    tx = new MemoryTransactionManager();
    memoryLock = new MemoryLock(clock);
    lock = new RecordingLock(memoryLock);
    queue = queueUseCases(clock, { settings: { activeMax: 100, admitIntervalMs: 1_000, activeTtlMs: 3_600_000 } });
    uc = salesUseCases({ lock, tx, clock, expireToken: queue.expireToken, pay: { lockWaitMs: 50 } });
    scheduleId = (await aSchedule(uc, { seatCount: 3, price: PRICE })).id;
    lock.calls.length = 0;
  });

  describe('ReserveSeat', () => {
    it('holds an AVAILABLE seat for the hold TTL under the seat key, fail-fast', async () => {
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
      expect(lock.calls).toEqual([{ keys: [lockKeys.seat(scheduleId, 2)], wait: 'fail-fast' }]);
      await expect(stored(reservation.id)).resolves.toEqual(reservation);
      expect(await seatOf(2)).toBe('HELD');
      expect((await uc.listSchedules.execute((await uc.listConcerts.execute())[0]!.id))[0]!.availableSeats).toBe(2);
    });

    it('answers 409 SEAT_UNAVAILABLE for a held seat and for a sold one, at once and without a lock', async () => {
      const held = await reserve('u1', 1);
      await expect(reserve('u2', 1)).rejects.toBeInstanceOf(SeatUnavailableError);
      await charge('u1', PRICE);
      await pay('u1', held.id);
      lock.calls.length = 0;
      await expect(reserve('u2', 1)).rejects.toBeInstanceOf(SeatUnavailableError);
      expect(lock.calls).toEqual([]);
    });

    it('answers 409 LOCK_BUSY at once while another request holds the seat key', async () => {
      const release = await holdLock(memoryLock, [lockKeys.seat(scheduleId, 1)]);
      await expect(reserve('u1', 1)).rejects.toBeInstanceOf(LockBusyError);
      await release();
      await expect(reserve('u1', 1)).resolves.toMatchObject({ status: 'PENDING' });
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
      await expect(uc.reserveSeat.execute({ userId: 'u1', scheduleId: 'nope', seatNo: 1 })).rejects.toThrow(/no schedule nope/);
      await expect(reserve('u1', 4)).rejects.toThrow(/has no seat 4/);
      await expect(reserve('u1', 4)).rejects.toBeInstanceOf(NotFoundError);
      await expect(reserve('u1', 0)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'seatNo' });
      await expect(reserve('u1', 1.5)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'seatNo' });
      await expect(uc.reserveSeat.execute({ userId: 'u1', scheduleId: 'a b', seatNo: 1 })).rejects.toMatchObject({ field: 'scheduleId' });
      expect(lock.calls).toEqual([]);
    });
  });

  describe('PayReservation', () => {
    it('confirms, deducts, records USE and the payment, sells the seat, then expires the token; under the three keys', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      lock.calls.length = 0;
      const token = await activeToken('u1');
      clock.advance(1_000);

      const paid = await uc.payReservation.execute({ userId: 'u1', token, reservationId: reservation.id });
      expect(paid).toEqual({
        paymentId: expect.any(String),
        reservationId: reservation.id,
        amount: PRICE,
        status: 'CONFIRMED',
        balance: 4_000,
        replayed: false,
        tokenExpired: true,
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
      await expect(new GetPointHistory(tx).execute('u1')).resolves.toMatchObject([
        { kind: 'USE', amount: PRICE, balanceAfter: 4_000, at: clock.now() },
        { kind: 'CHARGE', amount: 5_000, balanceAfter: 5_000 },
      ]);
      // Spent: it holds no slot, but still names its user (until its own expiry) so that a retry can replay.
      await expect(queue.queue.status(token, clock.now())).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
      await expect(queue.queue.counts(clock.now())).resolves.toEqual({ waiting: 0, active: 0 });
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
      await expect(new GetPointHistory(tx).execute('u1')).resolves.toHaveLength(1);
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
      expect(again).toEqual({ ...first, replayed: true });
      expect(await balanceOf('u1')).toBe(4_010);
      await expect(new GetPointHistory(tx).execute('u1')).resolves.toHaveLength(3);
    });

    it('replays the stored payment to the token that payment spent, with the same key: no write, no wallet lock', async () => {
      await charge('u1', 5_000);
      const reservation = await reserve('u1', 1);
      const token = await activeToken('u1');
      const first = await uc.payReservation.execute({ userId: 'u1', token, reservationId: reservation.id, idempotencyKey: 'pay-1' });
      await expect(queue.requireActiveToken.executeForPayment(token, 'pay-1')).resolves.toMatchObject({ spent: true });
      await charge('u1', 10);
      lock.calls.length = 0;

      const again = await uc.payReservation.execute({ userId: 'u1', token, reservationId: reservation.id, idempotencyKey: 'pay-1', tokenSpent: true });
      expect(again).toEqual({ ...first, replayed: true, tokenExpired: true });
      expect(lock.calls).toEqual([{ keys: [lockKeys.idempotency(`pay:${reservation.id}`, 'pay-1')], wait: 'fail-fast' }]);
      expect(await balanceOf('u1')).toBe(4_010);
      await expect(new GetPointHistory(tx).execute('u1')).resolves.toHaveLength(3);
      await expect(queue.queue.status(token, clock.now())).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
    });

    it('refuses a spent token anything but a replay (TOKEN_INVALID), before any write, claiming no key', async () => {
      await charge('u1', 5_000);
      await charge('u2', 5_000);
      const paid = await reserve('u1', 1);
      const pending = await reserve('u1', 2);
      const others = await reserve('u2', 3);
      const token = await activeToken('u1');
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
      const token = await activeToken('u1');
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
      const token = await activeToken('u1');
      await expect(payReservation.execute({ userId: 'u1', token, reservationId: reservation.id })).resolves.toMatchObject({
        status: 'CONFIRMED',
        tokenExpired: false,
      });
      expect(reported).toHaveBeenCalledWith(expect.any(DependencyUnavailableError));
      expect(await seatOf(1)).toBe('SOLD');
    });

    it('pays a free seat without moving points or writing history', async () => {
      const free = (await aSchedule(uc, { seatCount: 1, price: 0 })).id;
      const reservation = await uc.reserveSeat.execute({ userId: 'u1', scheduleId: free, seatNo: 1 });
      await expect(pay('u1', reservation.id)).resolves.toMatchObject({ amount: 0, balance: 0 });
      await expect(new GetPointHistory(tx).execute('u1')).resolves.toEqual([]);
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
      for (let seatNo = 1; seatNo <= 25; seatNo++) await uc.reserveSeat.execute({ userId: `u${seatNo}`, scheduleId: many, seatNo });
      clock.advance(TEST_HOLD_TTL_MS);
      await expect(new ExpireHolds(lock, tx, clock, new CatalogCache(new MemoryCache(clock), tx), { batchSize: 10, maxBatches: 2 }).execute()).resolves.toBe(20);
      await expect(new ExpireHolds(lock, tx, clock, new CatalogCache(new MemoryCache(clock), tx), { batchSize: 10, maxBatches: 2 }).execute()).resolves.toBe(5);
    });
  });
});
