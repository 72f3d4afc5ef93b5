/**
 * Drill 4 (DESIGN.md, "Failure model": Postgres connections killed
 * mid-transaction): every backend of the application's database is
 * terminated (pg_terminate_backend, what a restart or a failover does to
 * each session) while a payment or a charge is inside its transaction.
 * The request answers 503, nothing of it is written, and the next requests
 * succeed: the pool has dropped the dead connections and made new ones.
 *
 * The real application (distributed shape: a database and a Redis prefix
 * of its own); the transaction is caught mid-way by another session holding
 * the wallet row, so that the termination lands between its statements
 * (its Idempotency-Key claimed, the reservation confirmed, the debit
 * waiting). Only sessions of that one database are terminated.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCK_LEASE_MS } from '../../../app/time-bounds.js';
import type { AppShape } from '../../support/app-shapes.js';
import { distributedApp } from '../../support/app-shapes.js';
import type { Answer, ErrorBody } from '../../support/drill-sale-client.js';
import { DRILL_ADMIN_TOKEN, drillSaleClient } from '../../support/drill-sale-client.js';
import type { DatabaseObserver, RowLocker } from '../../support/postgres-session-faults.js';
import { holdRowLocks, observeDatabase, pollUntil } from '../../support/postgres-session-faults.js';

const PRICE = 10_000;

describe('drill 4: Postgres backends terminated mid-transaction', () => {
  let shape: AppShape;
  let observer: DatabaseObserver;
  let scheduleId: string;
  const lockers: RowLocker[] = [];
  const client = drillSaleClient(() => shape);

  beforeAll(async () => {
    shape = await distributedApp({
      LOG_LEVEL: 'silent',
      SEED_DEMO: 'false',
      ADMIN_TOKEN: DRILL_ADMIN_TOKEN,
      HOLD_TTL_SECONDS: '300',
      QUEUE_ADMIT_INTERVAL_MS: '3600000',
    });
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

  function expectUnavailable(answer: Answer): void {
    expect({ status: answer.status, code: (answer.body as ErrorBody | undefined)?.error?.code }, JSON.stringify(answer.body)).toEqual({
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
    });
  }

  /**
   * Starts `request`, waits until its transaction waits on the wallet row the
   * locker holds, terminates every other session of the database (the
   * service's whole pool), waits until they are gone, and answers what the
   * request answered. The locker lets go afterwards.
   */
  async function terminatedMidTransaction(userId: string, request: () => Promise<Answer>): Promise<Answer> {
    const locker = await holdRowLocks(client.databaseUrl(), 'select 1 from user_points where user_id = $1 for update', [userId]);
    lockers.push(locker);
    const answer = request();
    await pollUntil('the request to wait on the wallet row', async () => (await observer.lockWaiters([locker.pid])) === 1);
    expect(await observer.terminateAll([locker.pid])).toBeGreaterThan(0);
    await pollUntil("the service's sessions to be gone", async () => (await observer.sessions(undefined, [locker.pid])) === 0);
    const answered = await answer;
    await locker.release();
    return answered;
  }

  it('answers a payment 503 and writes nothing of it; the retry with the same key pays, on a pool that recovered at once', async () => {
    const buyer = await client.aBuyer(50_000);
    const { reservationId } = await client.reserve(buyer, scheduleId, 1);

    const answer = await terminatedMidTransaction(buyer.userId, () => client.pay(buyer, reservationId, 'pay-1'));
    expectUnavailable(answer);
    expect(answer.ms).toBeLessThan(LOCK_LEASE_MS);
    // Rolled back by the server with its session: the reservation PENDING, the seat HELD, the wallet untouched.
    await expect(client.stored(buyer, reservationId)).resolves.toEqual({
      reservationStatus: 'PENDING',
      payments: 0,
      seatStatus: 'HELD',
      balance: 50_000,
      uses: 0,
    });

    // The very next request succeeds, and the key was never stored: it pays now (201, not a replay).
    const retry = await client.pay(buyer, reservationId, 'pay-1');
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    await expect(client.stored(buyer, reservationId)).resolves.toEqual({
      reservationStatus: 'CONFIRMED',
      payments: 1,
      seatStatus: 'SOLD',
      balance: 50_000 - PRICE,
      uses: 1,
    });
  });

  it('answers a charge 503 and writes nothing of it; the retry with the same key charges once', async () => {
    const buyer = await client.aBuyer(1_000);

    const answer = await terminatedMidTransaction(buyer.userId, () => client.charge(buyer, 700, 'charge-1'));
    expectUnavailable(answer);
    await expect(client.stored(buyer, 'none')).resolves.toMatchObject({ balance: 1_000 });

    const retry = await client.charge(buyer, 700, 'charge-1');
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body).toMatchObject({ balance: 1_700 });
    expect((await client.charge(buyer, 700, 'charge-1')).body).toMatchObject({ balance: 1_700 });
  });

  it('serves every request after its idle pooled connections were all terminated between requests', async () => {
    const buyer = await client.aBuyer(50_000);
    // Connections in the pool now, all idle.
    expect(await observer.sessions('idle')).toBeGreaterThan(0);
    await observer.terminateAll();
    await pollUntil("the service's sessions to be gone", async () => (await observer.sessions()) === 0);

    const seats = await client.request<{ seats: unknown[] }>(`/schedules/${scheduleId}/seats`);
    expect(seats.status).toBe(200);
    const { reservationId } = await client.reserve(buyer, scheduleId, 2);
    const paid = await client.pay(buyer, reservationId);
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
  });
});
