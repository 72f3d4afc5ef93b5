/**
 * The instance drill 6 kills (test/integration/drills/instance-killed.drill.test.ts).
 * An app instance that makes three holds and starts two payments with the
 * real use case, lock and transaction manager; each payment stops right
 * before its COMMIT, everything else done: its Idempotency-Key claimed,
 * the reservation CONFIRMED, the wallet debited, the seat SOLD, the
 * payment row written, all of it uncommitted, and every key it locked (the Idempotency-Key's, the
 * reservation's, the seat's, the wallet's) held in Redis. Then it prints
 * `holding` and waits for the SIGKILL.
 *
 * - `R1`: `USER_1` holds `SEAT_1` for `LONG_HOLD_MS` (it outlasts the
 *   lease, so a retry of its payment can still pay once the lease is over),
 *   and pays it with `KEY_1`;
 * - `R2`: `USER_2` holds `SEAT_2` for `SHORT_HOLD_MS` (it ends while the
 *   dead instance's keys on that seat still stand), and pays it with `KEY_2`;
 * - `R3`: `USER_2` holds `SEAT_3` for `SHORT_HOLD_MS`, and nothing more:
 *   no key of it is held when the process dies, and the hold must end on
 *   time like any other.
 */
import { TOKENS } from '../../../app/tokens.js';
import type { TransactionOptions, TransactionPort, UnitOfWork } from '../../../core/ports/transaction.port.js';
import { PayReservation } from '../../../core/usecases/reservations/pay-reservation.js';
import { ReserveSeat } from '../../../core/usecases/reservations/reserve-seat.js';
import { NO_TOKEN, emit, startDrillInstance } from './drill-instance.js';
import { required } from './sale-worker-support.js';

const application = await startDrillInstance();
const { container } = application;
const [lock, tx, clock, ids, cache, extendToken, expireToken, charge] = await Promise.all([
  container.getAsync(TOKENS.Lock),
  container.getAsync(TOKENS.Transaction),
  container.getAsync(TOKENS.Clock),
  container.getAsync(TOKENS.IdGenerator),
  container.getAsync(TOKENS.CatalogCache),
  container.getAsync(TOKENS.ExtendToken),
  container.getAsync(TOKENS.ExpireToken),
  container.getAsync(TOKENS.ChargePoints),
]);
const scheduleId = required('SCHEDULE_ID');
const [user1, user2] = [required('USER_1'), required('USER_2')];
const holdFor = (holdTtlMs: number) => new ReserveSeat(lock, tx, clock, ids, cache, extendToken, { holdTtlMs, maxSeatsPerUser: 4, userLockWaitMs: 2_000 });

for (const userId of [user1, user2]) await charge.execute({ userId, amount: Number(required('SEED_POINTS')) });
const reserve = (userId: string, seat: string, holdTtlMs: string) =>
  holdFor(Number(holdTtlMs)).execute({ userId, ...NO_TOKEN, scheduleId, seatNo: Number(seat) });
const r1 = await reserve(user1, required('SEAT_1'), required('LONG_HOLD_MS'));
const r2 = await reserve(user2, required('SEAT_2'), required('SHORT_HOLD_MS'));
const r3 = await reserve(user2, required('SEAT_3'), required('SHORT_HOLD_MS'));

/** The real transaction manager, except that a transaction that has done everything, its last step before COMMIT included, waits there for ever. */
let stalled = 0;
let bothStalled: () => void = () => undefined;
const allStalled = new Promise<void>((resolve) => (bothStalled = resolve));
const neverCommits: TransactionPort = {
  run: <T>(work: (uow: UnitOfWork) => Promise<T>, options?: TransactionOptions<T>) =>
    tx.run(work, {
      ...options,
      beforeCommit: async (uow, result) => {
        await options?.beforeCommit?.(uow, result);
        if (++stalled === 2) bothStalled();
        await new Promise<never>(() => undefined);
      },
    }),
  read: (work) => tx.read(work),
  ping: () => tx.ping(),
};
const pay = new PayReservation(lock, neverCommits, clock, ids, expireToken, cache, { lockWaitMs: 2_000 });
// Never settle: the process dies first.
void pay.execute({ userId: user1, token: NO_TOKEN.token, reservationId: r1.id, idempotencyKey: required('KEY_1') });
void pay.execute({ userId: user2, token: NO_TOKEN.token, reservationId: r2.id, idempotencyKey: required('KEY_2') });
await allStalled;

const hold = (r: typeof r1) => ({ id: r.id, seatNo: r.seatNo, userId: r.userId, expiresAt: r.expiresAt.getTime() });
emit({ event: 'holding', r1: hold(r1), r2: hold(r2), r3: hold(r3) });
// Its open connections keep the process alive; this says so: it waits to be killed.
setInterval(() => undefined, 60_000);
