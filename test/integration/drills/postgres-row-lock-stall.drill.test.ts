/**
 * Drill 5 (DESIGN.md, "Failure model": a row lock or statement stalls):
 * another Postgres session holds the buyer's wallet row, longer than the
 * hold lasts and longer than any lease. The service must end each request
 * at its bound (409 or 503) while that session still holds the row, commit
 * nothing then or afterwards, and never sell a hold that ended while its
 * payment waited.
 *
 * The real application (distributed shape: a database and a Redis prefix
 * of its own) with a short hold, on a ManualClock: the hold ends when the
 * drill moves the clock, at a chosen point of the payment's wait, instead
 * of after a sleep. The row lock and the database's time bounds are real.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DB_LOCK_TIMEOUT_MS, DB_TRANSACTION_MAX_MS, LOCK_LEASE_MS } from '../../../app/time-bounds.js';
import type { AppShape } from '../../support/app-shapes.js';
import { distributedApp } from '../../support/app-shapes.js';
import type { Answer, ErrorBody } from '../../support/drill-sale-client.js';
import { DRILL_ADMIN_TOKEN, drillSaleClient } from '../../support/drill-sale-client.js';
import { ManualClock } from '../../support/manual-clock.js';
import type { DatabaseObserver, RowLocker } from '../../support/postgres-session-faults.js';
import { holdRowLocks, observeDatabase, pollUntil } from '../../support/postgres-session-faults.js';

const HOLD_TTL_SECONDS = 3;
const PRICE = 10_000;
/** Scheduling on a busy two-core machine, not a second wait. */
const SLACK_MS = 750;

describe('drill 5: a wallet row locked by another session past the hold and the lease', () => {
  let shape: AppShape;
  let clock: ManualClock;
  let observer: DatabaseObserver;
  let scheduleId: string;
  const lockers: RowLocker[] = [];
  const client = drillSaleClient(() => shape);

  beforeAll(async () => {
    clock = new ManualClock(new Date());
    shape = await distributedApp(
      {
        LOG_LEVEL: 'silent',
        SEED_DEMO: 'false',
        ADMIN_TOKEN: DRILL_ADMIN_TOKEN,
        HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS),
        // Admission rounds run when the drill runs them.
        QUEUE_ADMIT_INTERVAL_MS: '3600000',
      },
      { clock },
    );
    observer = await observeDatabase(inject('databaseUrl'), client.databaseUrl());
    scheduleId = await client.aSchedule(10, PRICE);
  });

  afterEach(async () => {
    await Promise.all(lockers.splice(0).map((locker) => locker.release()));
  });

  afterAll(async () => {
    await observer?.close();
    await shape?.cleanup();
  });

  /** Another session takes the buyer's wallet row (FOR UPDATE) and keeps it until the drill lets go. */
  async function lockWallet(userId: string): Promise<RowLocker> {
    const locker = await holdRowLocks(client.databaseUrl(), 'select 1 from user_points where user_id = $1 for update', [userId]);
    lockers.push(locker);
    return locker;
  }

  function expectError(answer: Answer, statuses: readonly number[], codes: readonly string[]): void {
    const code = (answer.body as ErrorBody | undefined)?.error?.code;
    expect({ status: statuses.includes(answer.status), code: codes.includes(code ?? '') }, `${answer.status} ${JSON.stringify(answer.body)}`).toEqual({
      status: true,
      code: true,
    });
  }

  it('answers a payment 409 at the lock timeout, long before its lease could end, while the row is still held; nothing commits then or after the hold ends', async () => {
    const buyer = await client.aBuyer(50_000);
    const { reservationId, expiresAt } = await client.reserve(buyer, scheduleId, 1);
    const locker = await lockWallet(buyer.userId);

    const payment = client.pay(buyer, reservationId, 'pay-1');
    await pollUntil('the payment to wait on the wallet row', async () => (await observer.lockWaiters([locker.pid])) === 1);
    // The hold ends while the payment waits.
    clock.advance(new Date(expiresAt).getTime() - clock.now().getTime() + 1);
    const answer = await payment;

    expectError(answer, [409, 503], ['LOCK_BUSY', 'RESERVATION_EXPIRED', 'SERVICE_UNAVAILABLE']);
    expect(answer.ms).toBeLessThan(DB_LOCK_TIMEOUT_MS + SLACK_MS);
    expect(answer.ms).toBeLessThan(LOCK_LEASE_MS);
    // Answered while the other session still held the row: the bound ended it, not the release.
    expect(await observer.sessions('idle in transaction')).toBe(1);

    await locker.release();
    // Nothing of it committed, nor later: the same key, once the row is free, finds the hold ended.
    await expect(client.stored(buyer, reservationId)).resolves.toMatchObject({ payments: 0, uses: 0, balance: 50_000 });
    expectError(await client.pay(buyer, reservationId, 'pay-1'), [409], ['RESERVATION_EXPIRED']);
    const after = await client.stored(buyer, reservationId);
    expect(after).toMatchObject({ payments: 0, uses: 0, balance: 50_000 });
    expect(after.reservationStatus).not.toBe('CONFIRMED');
    expect(after.seatStatus).not.toBe('SOLD');
  });

  it('refuses (409 RESERVATION_EXPIRED) a payment whose hold ended while it waited on the row, even though the row is released in time for it to finish', async () => {
    const buyer = await client.aBuyer(50_000);
    const { reservationId, expiresAt } = await client.reserve(buyer, scheduleId, 2);
    const locker = await lockWallet(buyer.userId);

    // Confirmed while the hold lasts, then the debit waits on the row...
    const payment = client.pay(buyer, reservationId);
    await pollUntil('the payment to wait on the wallet row', async () => (await observer.lockWaiters([locker.pid])) === 1);
    // ...past the hold's end; then the row is let go, well within the lock timeout: every statement now succeeds.
    clock.advance(new Date(expiresAt).getTime() - clock.now().getTime() + 1);
    await locker.release();
    const answer = await payment;

    expectError(answer, [409], ['RESERVATION_EXPIRED']);
    expect(answer.ms).toBeLessThan(DB_TRANSACTION_MAX_MS);
    const stored = await client.stored(buyer, reservationId);
    expect(stored).toMatchObject({ payments: 0, uses: 0, balance: 50_000 });
    expect(stored.reservationStatus).not.toBe('CONFIRMED');
    expect(stored.seatStatus).not.toBe('SOLD');
  });

  it('still sells a hold that lasts through such a wait, stamped with the instant it committed at', async () => {
    const buyer = await client.aBuyer(50_000);
    const { reservationId, expiresAt } = await client.reserve(buyer, scheduleId, 3);
    const locker = await lockWallet(buyer.userId);

    const payment = client.pay(buyer, reservationId);
    await pollUntil('the payment to wait on the wallet row', async () => (await observer.lockWaiters([locker.pid])) === 1);
    // The wait takes all but the last millisecond of the hold.
    clock.advance(new Date(expiresAt).getTime() - clock.now().getTime() - 1);
    const committedAt = clock.now();
    await locker.release();
    const answer = await payment;

    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    await expect(client.stored(buyer, reservationId)).resolves.toEqual({
      reservationStatus: 'CONFIRMED',
      payments: 1,
      seatStatus: 'SOLD',
      balance: 50_000 - PRICE,
      uses: 1,
    });
    await expect(client.paymentCreatedAt(reservationId)).resolves.toEqual(committedAt);
  });

  it('answers a charge on a row held past the lock timeout with 409 at its bound, not when the row is let go; the retry then charges once', async () => {
    const buyer = await client.aBuyer(1_000);
    const locker = await lockWallet(buyer.userId);

    const answer = await client.charge(buyer, 500, 'charge-1');
    expectError(answer, [409, 503], ['LOCK_BUSY', 'SERVICE_UNAVAILABLE']);
    expect(answer.ms).toBeLessThan(DB_LOCK_TIMEOUT_MS + SLACK_MS);
    expect(await observer.sessions('idle in transaction')).toBe(1);

    await locker.release();
    // The wallet's Redis key went with the request: the retry is not refused as busy or in flight, and charges once.
    const retry = await client.charge(buyer, 500, 'charge-1');
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body).toMatchObject({ balance: 1_500 });
    expect((await client.charge(buyer, 500, 'charge-1')).body).toMatchObject({ balance: 1_500 });
  });
});
