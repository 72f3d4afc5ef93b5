/**
 * One app instance of drill 6 under a steady load
 * (test/integration/drills/instance-killed.drill.test.ts): from `ready`
 * until the `stop` command, loops of charges, reserves and payments of its
 * own buyers and seats (`SEATS`, `first-last` of `SCHEDULE_ID`), paying
 * three holds of four and letting the fourth run out for the sweeper. Its
 * hold sweeper job runs as in production.
 *
 * The `contend` command adds loops on another instance's keys: charges of
 * `wallets`, reserves of `seats` (by a buyer of this instance's own, until
 * one succeeds), and retries of `payments` with their Idempotency-Key (as
 * a client whose answer was lost, until a final answer).
 *
 * Every request is printed as it ends: `outcome`, with `target` `load` or
 * the contended key (`wallet:<user>`, `seat:<no>`, `payment:<reservation>`),
 * its start and end (epoch ms) and `ok` or the error's code. The loops are
 * paced (a steady load on shared cores, not a flood).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TOKENS } from '../../../app/tokens.js';
import { NO_TOKEN, emit, onCommand, startDrillInstance } from './drill-instance.js';
import { outcomeOf, required } from './sale-worker-support.js';

const NAME = required('NAME');
const scheduleId = required('SCHEDULE_ID');
const [firstSeat, lastSeat] = required('SEATS').split('-').map(Number) as [number, number];
const CHARGE_AMOUNT = Number(required('CHARGE_AMOUNT'));
const PACE_MS = Number(required('PACE_MS'));
/** Four seats per buyer (MAX_SEATS_PER_USER), held or bought: enough buyers for every seat of the range. */
const users = Array.from({ length: Math.ceil((lastSeat - firstSeat + 1) / 4) + 1 }, (_, i) => `${NAME}-u${i}`);
/** Reserves the contended seats: a buyer of its own, so that the load's buyers keep their seat limit. */
const contender = `${NAME}-contender`;

const application = await startDrillInstance();
const { container } = application;
const [charge, reserve, pay] = await Promise.all([
  container.getAsync(TOKENS.ChargePoints),
  container.getAsync(TOKENS.ReserveSeat),
  container.getAsync(TOKENS.PayReservation),
]);
// Wallets to pay from, before the load starts (not CHARGE_AMOUNT, so that the test tells them from the load's charges).
for (const userId of [...users, contender]) await charge.execute({ userId, amount: Number(required('SEED_POINTS')) });

let stopped = false;
const loops: Promise<void>[] = [];
/** Runs `step` every PACE_MS (times `paceFactor`) until stopped or until `step` answers 'done'. */
const loop = (step: () => Promise<'done' | void>, paceFactor = 1): void =>
  void loops.push(
    (async () => {
      while (!stopped) {
        if ((await step()) === 'done') return;
        await sleep(PACE_MS * paceFactor); // pacing of a steady load, not a synchronisation
      }
    })(),
  );

interface Request {
  readonly kind: 'charge' | 'reserve' | 'pay';
  readonly target: string;
  readonly userId: string;
  readonly seatNo?: number;
  readonly reservationId?: string;
}

/** Runs one request and prints how it ended; answers `ok` or the error's code, and what it returned. */
async function record<T extends Record<string, unknown>>(request: Request, send: () => Promise<T>): Promise<{ outcome: string; result?: T }> {
  const startedAt = Date.now();
  let outcome = 'ok';
  let result: T | undefined;
  try {
    result = await send();
  } catch (error) {
    outcome = outcomeOf(error);
  }
  emit({ event: 'outcome', worker: NAME, ...request, startedAt, endedAt: Date.now(), outcome, ...result });
  return { outcome, ...(result === undefined ? {} : { result }) };
}

const chargeOnce = (userId: string, target: string) =>
  record({ kind: 'charge', target, userId }, async () => {
    await charge.execute({ userId, amount: CHARGE_AMOUNT, idempotencyKey: randomBytes(8).toString('hex') });
    return {};
  });
const reserveOnce = (userId: string, seatNo: number, target: string) =>
  record({ kind: 'reserve', target, userId, seatNo }, async () => ({ reservationId: (await reserve.execute({ userId, ...NO_TOKEN, scheduleId, seatNo })).id }));
const payOnce = (userId: string, reservationId: string, idempotencyKey: string, target: string) =>
  record({ kind: 'pay', target, userId, reservationId }, async () => {
    const paid = await pay.execute({ userId, token: NO_TOKEN.token, reservationId, idempotencyKey });
    return { paymentId: paid.paymentId, replayed: paid.replayed };
  });
/** Answers after which the same request is tried again: busy or unavailable, nothing decided. */
const RETRY = new Set(['LOCK_BUSY', 'IDEMPOTENCY_IN_PROGRESS', 'SERVICE_UNAVAILABLE']);

// The load of this instance's own buyers and seats.
let nextCharge = 0;
loop(async () => void (await chargeOnce(users[nextCharge++ % users.length] as string, 'load')));

const seatsOf = new Map<string, number>(users.map((userId) => [userId, 0]));
const holds: { userId: string; reservationId: string }[] = [];
let nextSeat = firstSeat;
let made = 0;
loop(async () => {
  if (nextSeat > lastSeat) return 'done';
  const userId = users.find((candidate) => (seatsOf.get(candidate) ?? 0) < 4);
  if (userId === undefined) return 'done';
  const { outcome, result } = await reserveOnce(userId, nextSeat, 'load');
  if (outcome === 'ok' && result !== undefined) {
    seatsOf.set(userId, (seatsOf.get(userId) ?? 0) + 1);
    // Every fourth hold is left to run out: the sweepers end it.
    if (++made % 4 !== 0) holds.push({ userId, reservationId: result.reservationId });
  }
  if (!RETRY.has(outcome)) nextSeat++;
}, 3);

loop(async () => {
  const hold = holds[0];
  if (hold === undefined) return;
  const { outcome } = await payOnce(hold.userId, hold.reservationId, `pay-${hold.reservationId}`, 'load');
  if (!RETRY.has(outcome)) holds.shift();
});

interface Contend {
  readonly wallets: readonly string[];
  readonly seats: readonly number[];
  readonly payments: readonly { readonly userId: string; readonly reservationId: string; readonly idempotencyKey: string }[];
}

onCommand((command) => {
  if (command.contend !== undefined) {
    const { wallets, seats, payments } = command.contend as Contend;
    for (const wallet of wallets) loop(async () => void (await chargeOnce(wallet, `wallet:${wallet}`)), 2);
    for (const seatNo of seats) loop(async () => ((await reserveOnce(contender, seatNo, `seat:${seatNo}`)).outcome === 'ok' ? 'done' : undefined), 2);
    for (const { userId, reservationId, idempotencyKey } of payments) {
      loop(async () => (RETRY.has((await payOnce(userId, reservationId, idempotencyKey, `payment:${reservationId}`)).outcome) ? undefined : 'done'), 2);
    }
  }
  if (command.stop === true) {
    stopped = true;
    void (async () => {
      await Promise.all(loops);
      emit({ event: 'stopped' });
      await application.close();
      process.exit(0);
    })();
  }
});

emit({ event: 'ready' });
