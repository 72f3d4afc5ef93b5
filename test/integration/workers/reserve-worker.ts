/**
 * One OS process of the reservation races, after the barrier:
 * - by default, each of `USERS` (comma-separated) reserves `SEAT_NO` of
 *   `SCHEDULE_ID`, all at once (a crowd on one seat);
 * - with `SEATS` (comma-separated), the one user of `USERS` reserves every
 *   one of them at once (one buyer trying to corner a show);
 * - with `SEATS` and `LOOP_MS`, that user keeps trying every seat it does not
 *   hold yet for that long (a buyer taking seats the moment their hold ends).
 * `MAX_SEATS_PER_USER` sets the seat limit (4 by default); `NO_LOCK=true`
 * replaces the lock with a no-op, leaving the database's guards alone.
 */
import type { LockPort } from '../../../core/ports/lock.port.js';
import { ExtendToken } from '../../../core/usecases/queue/extend-token.js';
import { ReserveSeat } from '../../../core/usecases/reservations/reserve-seat.js';
import { NoopLock } from '../../support/noop-lock.js';
import { outcomeOf, required, saleWorkerPorts } from './sale-worker-support.js';

const ports = await saleWorkerPorts();
const lock: LockPort = process.env.NO_LOCK === 'true' ? new NoopLock() : ports.lock;
const reserve = new ReserveSeat(lock, ports.tx, ports.clock, ports.ids, ports.catalogCache, new ExtendToken(ports.queue, ports.clock), {
  holdTtlMs: 300_000,
  maxSeatsPerUser: Number(process.env.MAX_SEATS_PER_USER ?? 4),
  // A buyer's own reserves queue up behind each other: this race is about the limit, not the wait bound.
  userLockWaitMs: 60_000,
});
const scheduleId = required('SCHEDULE_ID');
// The token names nobody and outlives every hold here: extending it is never asked for.
const token = { token: 'no-such-token-0000', tokenExpiresAt: new Date(Date.now() + 3_600_000) };
const attempt = (userId: string, seatNo: number) =>
  reserve.execute({ userId, ...token, scheduleId, seatNo }).then(
    (reservation) => ({ userId, seatNo, outcome: 'ok', reservationId: reservation.id }),
    (error: unknown) => ({ userId, seatNo, outcome: outcomeOf(error), reservationId: undefined }),
  );

await ports.start();
if (process.env.SEATS === undefined) {
  const seatNo = Number(required('SEAT_NO'));
  await ports.finish({ outcomes: await Promise.all(required('USERS').split(',').map((userId) => attempt(userId, seatNo))) });
} else if (process.env.LOOP_MS === undefined) {
  const [userId] = required('USERS').split(',') as [string];
  await ports.finish({ outcomes: await Promise.all(required('SEATS').split(',').map((seatNo) => attempt(userId, Number(seatNo)))) });
} else {
  const [userId] = required('USERS').split(',') as [string];
  const left = new Set(required('SEATS').split(',').map(Number));
  const won: number[] = [];
  const until = Date.now() + Number(process.env.LOOP_MS);
  while (Date.now() < until && left.size > 0) {
    for (const result of await Promise.all([...left].map((seatNo) => attempt(userId, seatNo)))) {
      if (result.outcome === 'ok') {
        left.delete(result.seatNo);
        won.push(result.seatNo);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await ports.finish({ won });
}
