/**
 * One OS process of the reservation races: each of `USERS` (comma-separated)
 * reserves `SEAT_NO` of `SCHEDULE_ID`, all at once, after the barrier.
 * With `LOOP_MS`, one user keeps trying every seat of `SEATS` it does not
 * hold yet for that long (a buyer taking seats the moment their hold ends).
 */
import { ReserveSeat } from '../../../core/usecases/reservations/reserve-seat.js';
import { outcomeOf, required, saleWorkerPorts } from './sale-worker-support.js';

const ports = await saleWorkerPorts();
const reserve = new ReserveSeat(ports.lock, ports.tx, ports.clock, ports.ids, ports.catalogCache, { holdTtlMs: 300_000 });
const scheduleId = required('SCHEDULE_ID');
const attempt = (userId: string, seatNo: number) =>
  reserve.execute({ userId, scheduleId, seatNo }).then(
    (reservation) => ({ userId, seatNo, outcome: 'ok', reservationId: reservation.id }),
    (error: unknown) => ({ userId, seatNo, outcome: outcomeOf(error), reservationId: undefined }),
  );

await ports.start();
if (process.env.LOOP_MS === undefined) {
  const seatNo = Number(required('SEAT_NO'));
  await ports.finish({ outcomes: await Promise.all(required('USERS').split(',').map((userId) => attempt(userId, seatNo))) });
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
