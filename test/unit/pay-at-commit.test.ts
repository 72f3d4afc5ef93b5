/**
 * A payment commits only while its hold lasts, judged at commit (DESIGN.md,
 * "Invariants"): whatever its statements wait for after the confirm (a
 * wallet row locked by another session, a slow server), the hold is judged
 * again right before COMMIT, and the payment row carries that instant.
 *
 * The wait is simulated on the injected clock: a transaction port whose
 * repositories move the ManualClock while one statement runs, as time
 * passing behind a row lock would. test/integration/drills/ shows the same
 * on Postgres with a real row lock.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { RandomTokenGenerator } from '../../adapters/system/random-token-generator.js';
import { ReservationExpiredError } from '../../core/domain/errors.js';
import type { Reservation } from '../../core/domain/reservation.js';
import type { TransactionOptions, TransactionPort, UnitOfWork } from '../../core/ports/transaction.port.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { aSchedule } from '../support/catalog-builders.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';
import { salesUseCases, TEST_HOLD_TTL_MS } from '../support/sales-use-cases.js';

const PRICE = 1_000;

/** Which statement is slow, and by how much the clock moves while it runs. */
interface Stall {
  readonly repository: 'points' | 'reservations';
  readonly method: string;
  readonly ms: number;
}

/** A TransactionPort whose one armed statement takes `ms` of the ManualClock, inside the transaction (the hook's statements included). */
class StallingTransactions implements TransactionPort {
  stall: Stall | undefined;

  constructor(
    private readonly inner: TransactionPort,
    private readonly clock: ManualClock,
  ) {}

  run<T>(work: (uow: UnitOfWork) => Promise<T>, options: TransactionOptions<T> = {}): Promise<T> {
    const { beforeCommit } = options;
    return this.inner.run((uow) => work(this.stalling(uow)), {
      ...options,
      ...(beforeCommit === undefined ? {} : { beforeCommit: (uow: UnitOfWork, result: T) => beforeCommit(this.stalling(uow), result) }),
    });
  }

  read<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.inner.read(work);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  private stalling(uow: UnitOfWork): UnitOfWork {
    const stall = this.stall;
    if (stall === undefined) return uow;
    const clock = this.clock;
    const repository = new Proxy(uow[stall.repository], {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        if (property !== stall.method) return value.bind(target);
        return async (...args: unknown[]) => {
          const result: unknown = await value.apply(target, args);
          clock.advance(stall.ms);
          return result;
        };
      },
    });
    return { ...uow, [stall.repository]: repository };
  }
}

describe('PayReservation judges the hold at commit', () => {
  let clock: ManualClock;
  let memory: MemoryTransactionManager;
  let tx: StallingTransactions;
  let queue: ReturnType<typeof queueUseCases>;
  let uc: ReturnType<typeof salesUseCases>;
  let scheduleId: string;
  const tokens = new RandomTokenGenerator();

  const activeToken = async (userId: string) => {
    const { token } = await queue.queue.issue(userId, tokens.next(), clock.now());
    await queue.admitWaiters.execute();
    return token;
  };
  const reserve = async (userId: string): Promise<Reservation> => {
    const token = await activeToken(userId);
    const status = await queue.queue.status(token, clock.now());
    if (status?.status !== 'ACTIVE') throw new Error('expected an ACTIVE token');
    return uc.reserveSeat.execute({ userId, token, tokenExpiresAt: status.expiresAt, scheduleId, seatNo: 1 });
  };
  const pay = async (userId: string, reservationId: string, idempotencyKey?: string) =>
    uc.payReservation.execute({ userId, token: await activeToken(userId), reservationId, idempotencyKey });
  /** Everything a payment writes, as stored. */
  const written = async (reservation: Reservation, userId: string) =>
    memory.read(async (uow) => ({
      status: (await uow.reservations.find(reservation.id))?.status,
      payment: await uow.reservations.findPaymentByReservation(reservation.id),
      seat: (await uow.catalog.findSeat(scheduleId, 1, new Date(0)))?.status,
      balance: await uow.points.balanceOf(userId),
      uses: (await uow.points.history(userId, 100)).filter((entry) => entry.kind === 'USE').length,
    }));

  beforeEach(async () => {
    clock = new ManualClock();
    memory = new MemoryTransactionManager();
    tx = new StallingTransactions(memory, clock);
    const lock = new MemoryLock(clock);
    queue = queueUseCases(clock, { settings: { activeMax: 100, activeTtlMs: 3_600_000 } });
    uc = salesUseCases({ lock, tx, clock, expireToken: queue.expireToken, extendToken: queue.extendToken });
    scheduleId = (await aSchedule(uc, { seatCount: 2, price: PRICE })).id;
    await new ChargePoints(lock, tx, clock).execute({ userId: 'u1', amount: 5_000 });
  });

  it('refuses, writing nothing, a payment whose hold ended while it waited on the wallet row after the confirm', async () => {
    const reservation = await reserve('u1');
    clock.advance(TEST_HOLD_TTL_MS - 1_000);
    // Confirmed a second before the end, then the debit waits for the row a second: the hold ends exactly then.
    tx.stall = { repository: 'points', method: 'debit', ms: 1_000 };

    await expect(pay('u1', reservation.id, 'k1')).rejects.toBeInstanceOf(ReservationExpiredError);
    await expect(written(reservation, 'u1')).resolves.toEqual({ status: 'PENDING', payment: undefined, seat: 'HELD', balance: 5_000, uses: 0 });
    // The Idempotency-Key was rolled back with the rest: it is not "in flight" nor stored; the hold has ended for it too.
    tx.stall = undefined;
    await expect(pay('u1', reservation.id, 'k1')).rejects.toBeInstanceOf(ReservationExpiredError);
  });

  it('refuses a payment whose last statement ran past the hold: nothing but COMMIT follows the judgement', async () => {
    const reservation = await reserve('u1');
    clock.advance(TEST_HOLD_TTL_MS - 1_000);
    tx.stall = { repository: 'reservations', method: 'insertPayment', ms: 1_000 };

    await expect(pay('u1', reservation.id)).rejects.toBeInstanceOf(ReservationExpiredError);
    await expect(written(reservation, 'u1')).resolves.toEqual({ status: 'PENDING', payment: undefined, seat: 'HELD', balance: 5_000, uses: 0 });
  });

  it('stamps the payment with the instant it commits at, not the instant it began', async () => {
    const reservation = await reserve('u1');
    const began = clock.now();
    tx.stall = { repository: 'points', method: 'debit', ms: 5_000 };

    const paid = await pay('u1', reservation.id);
    expect(clock.now().getTime()).toBe(began.getTime() + 5_000);
    const state = await written(reservation, 'u1');
    expect(state).toMatchObject({ status: 'CONFIRMED', seat: 'SOLD', balance: 4_000, uses: 1 });
    expect(state.payment).toEqual({ id: paid.paymentId, reservationId: reservation.id, userId: 'u1', amount: PRICE, at: clock.now() });
  });

  it('still pays a hold that lasts through the wait, up to its last millisecond', async () => {
    const reservation = await reserve('u1');
    clock.advance(TEST_HOLD_TTL_MS - 1_001);
    tx.stall = { repository: 'points', method: 'debit', ms: 1_000 };

    await expect(pay('u1', reservation.id)).resolves.toMatchObject({ status: 'CONFIRMED' });
    expect(clock.now().getTime()).toBe(reservation.expiresAt.getTime() - 1);
  });
});
