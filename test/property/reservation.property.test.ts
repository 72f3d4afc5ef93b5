/**
 * Reserving, paying, sweeping ended holds, charging and the clock moving,
 * all at once, under every interleaving fast-check's scheduler picks. Each
 * in-memory adapter awaits a scheduled tick before each step, and the clock
 * moves in scheduled steps too, so the scheduler decides which transaction
 * moves next and when a hold ends, and shrinks a failure to a short story.
 *
 * Both layers are shown: every invariant of DESIGN.md holds with the lock
 * and the database guards, with the guards alone (a no-op lock) and with
 * the lock alone (unguarded repositories); with neither, a counterexample
 * is found. The seat limit gets a property of its own: one buyer's many
 * reserves at once, beside payments, the sweeper and the clock.
 */
import fc from 'fast-check';
import { MemoryDatabase } from '../../adapters/memory/memory-database.js';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import type { SeatRow } from '../../adapters/memory/memory-seat-repository.js';
import { SEATS, seatKey } from '../../adapters/memory/memory-seat-repository.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import type { Tick } from '../../adapters/memory/tick.js';
import { immediateTick } from '../../adapters/memory/tick.js';
import { DomainError } from '../../core/domain/errors.js';
import type { PointHistoryEntry } from '../../core/domain/points.js';
import { BALANCE_LIMIT } from '../../core/domain/points.js';
import type { Payment, Reservation } from '../../core/domain/reservation.js';
import type { IdGenerator } from '../../core/ports/id-generator.port.js';
import type { LockPort } from '../../core/ports/lock.port.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { ExpireToken } from '../../core/usecases/queue/expire-token.js';
import { ExtendToken } from '../../core/usecases/queue/extend-token.js';
import { ExpireHolds } from '../../core/usecases/reservations/expire-holds.js';
import type { PayReservationOutput } from '../../core/usecases/reservations/pay-reservation.js';
import { PayReservation } from '../../core/usecases/reservations/pay-reservation.js';
import { ReserveSeat } from '../../core/usecases/reservations/reserve-seat.js';
import { ManualClock } from '../support/manual-clock.js';
import { NoopLock } from '../support/noop-lock.js';
import { MemoryCache } from '../../adapters/memory/memory-cache.js';
import { CatalogCache } from '../../core/usecases/catalog/catalog-cache.js';
import type { Protection } from '../support/protection-layers.js';
import { describeProtectionLayers } from '../support/protection-layers.js';

const USERS = ['u1', 'u2', 'u3'] as const;
type User = (typeof USERS)[number];
const SCHEDULE = 's1';
const SEAT_NOS = [1, 2] as const;
const PRICE = 1_000;
const HOLD_TTL_MS = 1_000;
/** Far above what two seats allow: the first property is not about the seat limit. */
const ROOMY_SEAT_LIMIT = 4;
/** Errors a request may answer with; anything else is a bug. */
const EXPECTED_CODES = new Set([
  'SEAT_UNAVAILABLE',
  'LOCK_BUSY',
  'RESERVATION_EXPIRED',
  'RESERVATION_NOT_PENDING',
  'INSUFFICIENT_POINTS',
  'IDEMPOTENCY_IN_PROGRESS',
  'NO_RESERVATION',
]);

/** One step of a user's script; a user's steps run in order, users (and the sweeper, and the clock) at once. */
type Step =
  | { readonly kind: 'reserve'; readonly seatNo: number }
  /** Pays the user's latest reservation; `twice` sends a second, concurrent request (a double click, a retry). */
  | { readonly kind: 'pay'; readonly key: string | undefined; readonly twice: boolean }
  | { readonly kind: 'charge'; readonly amount: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('reserve' as const), seatNo: fc.constantFrom(...SEAT_NOS) }), weight: 3 },
  {
    arbitrary: fc.record({ kind: fc.constant('pay' as const), key: fc.option(fc.constantFrom('k1', 'k2'), { nil: undefined }), twice: fc.boolean() }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('charge' as const), amount: fc.constantFrom(500, 1_000) }), weight: 1 },
);

interface Scenario {
  readonly users: readonly { readonly userId: User; readonly startBalance: number; readonly steps: readonly Step[] }[];
  /** Sweeper rounds, one after another beside the users, each after some scheduler steps (so they land anywhere in the story). */
  readonly sweeps: readonly { readonly afterSteps: number }[];
  /** Clock moves, one after another, each after some scheduler steps; 1,000 ms is a whole hold. */
  readonly clockMoves: readonly { readonly afterSteps: number; readonly ms: number }[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  users: fc.uniqueArray(
    fc.record({
      userId: fc.constantFrom(...USERS),
      startBalance: fc.constantFrom(0, 1_000, 2_500),
      steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }),
    }),
    { minLength: 2, maxLength: 3, selector: (user) => user.userId },
  ),
  sweeps: fc.array(fc.record({ afterSteps: fc.integer({ min: 0, max: 30 }) }), { maxLength: 3 }),
  clockMoves: fc.array(fc.record({ afterSteps: fc.integer({ min: 0, max: 30 }), ms: fc.constantFrom(300, 700, 1_000) }), { maxLength: 4 }),
});

type Outcome =
  | { readonly kind: 'reserve'; readonly userId: User; readonly ok: true; readonly reservation: Reservation }
  | { readonly kind: 'pay'; readonly userId: User; readonly key: string | undefined; readonly ok: true; readonly output: PayReservationOutput }
  | { readonly kind: 'charge'; readonly userId: User; readonly amount: number; readonly ok: true }
  | { readonly kind: Step['kind'] | 'sweep'; readonly userId: User | 'sweeper'; readonly ok: false; readonly code: string };

/** Readable, deterministic ids, so that a shrunk counterexample reads well. */
class SequentialIds implements IdGenerator {
  private n = 0;
  next(): string {
    return `id-${++this.n}`;
  }
}

function codeOf(error: unknown): string {
  if (error instanceof DomainError) return error.code;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function runScenario(s: fc.Scheduler, scenario: Scenario, protection: Protection) {
  let tick: Tick = immediateTick;
  const db = new MemoryDatabase(() => tick());
  const tx = new MemoryTransactionManager(db, { guarded: protection.guards });
  const clock = new ManualClock();
  // A lease far longer than any clock move: this test is about the lock and the guards, not about lost leases.
  const lock: LockPort = protection.lock ? new MemoryLock(clock, { tick: () => tick(), defaultLeaseMs: 3_600_000 }) : new NoopLock();
  const ids = new SequentialIds();

  // The catalog and the starting wallets, committed before the race begins.
  await tx.run(async (uow) => {
    await uow.catalog.createConcert({ id: 'c1', title: 'Concert', venue: 'Hall' });
    await uow.catalog.createSchedule({ id: SCHEDULE, concertId: 'c1', startsAt: new Date('2026-06-01T19:00:00Z'), totalSeats: SEAT_NOS.length }, PRICE);
    for (const { userId, startBalance } of scenario.users) {
      if (startBalance === 0) continue;
      await uow.points.credit(userId, startBalance, BALANCE_LIMIT);
      await uow.points.appendHistory({ userId, kind: 'CHARGE', amount: startBalance, balanceAfter: startBalance, at: clock.now() });
    }
  });
  tick = () => s.schedule(Promise.resolve());

  const catalogCache = new CatalogCache(new MemoryCache(clock), tx);
  const queue = new MemoryQueue();
  const reserveSeat = new ReserveSeat(lock, tx, clock, ids, catalogCache, new ExtendToken(queue, clock), {
    holdTtlMs: HOLD_TTL_MS,
    maxSeatsPerUser: ROOMY_SEAT_LIMIT,
    userLockWaitMs: 5_000,
  });
  const payReservation = new PayReservation(lock, tx, clock, ids, new ExpireToken(queue, clock), catalogCache, { lockWaitMs: 5_000 });
  const chargePoints = new ChargePoints(lock, tx, clock, { walletWaitMs: 5_000 });
  const expireHolds = new ExpireHolds(lock, tx, clock, catalogCache);

  const outcomes: Outcome[] = [];
  const latest = new Map<User, string>();

  async function pay(userId: User, key: string | undefined): Promise<void> {
    const reservationId = latest.get(userId);
    if (reservationId === undefined) {
      outcomes.push({ kind: 'pay', userId, ok: false, code: 'NO_RESERVATION' });
      return;
    }
    try {
      const output = await payReservation.execute({ userId, token: `token-of-user-${userId}`, reservationId, idempotencyKey: key });
      outcomes.push({ kind: 'pay', userId, key, ok: true, output });
    } catch (error) {
      outcomes.push({ kind: 'pay', userId, ok: false, code: codeOf(error) });
    }
  }

  async function runStep(userId: User, step: Step): Promise<void> {
    if (step.kind === 'reserve') {
      try {
        const reservation = await reserveSeat.execute({ userId, token: `token-of-user-${userId}`, tokenExpiresAt: clock.now(), scheduleId: SCHEDULE, seatNo: step.seatNo });
        latest.set(userId, reservation.id);
        outcomes.push({ kind: 'reserve', userId, ok: true, reservation });
      } catch (error) {
        outcomes.push({ kind: 'reserve', userId, ok: false, code: codeOf(error) });
      }
    } else if (step.kind === 'pay') {
      await (step.twice ? Promise.all([pay(userId, step.key), pay(userId, step.key)]) : pay(userId, step.key));
    } else {
      try {
        await chargePoints.execute({ userId, amount: step.amount });
        outcomes.push({ kind: 'charge', userId, amount: step.amount, ok: true });
      } catch (error) {
        outcomes.push({ kind: 'charge', userId, ok: false, code: codeOf(error) });
      }
    }
  }

  const actors: Promise<void>[] = scenario.users.map(async ({ userId, steps }) => {
    for (const step of steps) await runStep(userId, step);
  });
  actors.push(
    (async () => {
      for (const { afterSteps } of scenario.sweeps) {
        for (let i = 0; i <= afterSteps; i++) await tick();
        await expireHolds.execute().catch((error: unknown) => void outcomes.push({ kind: 'sweep', userId: 'sweeper', ok: false, code: codeOf(error) }));
      }
    })(),
    (async () => {
      for (const { afterSteps, ms } of scenario.clockMoves) {
        for (let i = 0; i <= afterSteps; i++) await tick();
        clock.advance(ms);
      }
    })(),
  );
  await s.waitFor(Promise.all(actors));

  tick = immediateTick;
  const reservations = [...db.committedTable('reservations').values()] as Reservation[];
  const payments = [...db.committedTable('payments').values()] as Payment[];
  const seats = SEAT_NOS.map((seatNo) => db.committedTable(SEATS).get(seatKey(SCHEDULE, seatNo)) as SeatRow);
  const wallets = await tx.run(async (uow) =>
    Promise.all(
      scenario.users.map(async ({ userId, startBalance }) => ({
        userId,
        startBalance,
        balance: await uow.points.balanceOf(userId),
        history: await uow.points.history(userId, 1_000),
      })),
    ),
  );
  return { outcomes, reservations, payments, seats, wallets };
}

type World = Awaited<ReturnType<typeof runScenario>>;

/** Throws (naming the invariant) when one is broken. */
function checkInvariants({ outcomes, reservations, payments, seats, wallets }: World): void {
  for (const outcome of outcomes) {
    if (!outcome.ok && !EXPECTED_CODES.has(outcome.code)) throw new Error(`unexpected failure of ${outcome.kind}: ${outcome.code}`);
  }
  const reserved = outcomes.filter((o) => o.kind === 'reserve' && o.ok);
  if (reservations.length !== reserved.length) throw new Error(`phantom rows: ${reservations.length} reservations stored, ${reserved.length} answered`);

  const paymentsOf = (reservationId: string) => payments.filter((p) => p.reservationId === reservationId);
  for (const seat of seats) {
    const ofSeat = reservations.filter((r) => r.seatNo === seat.seatNo);
    const live = ofSeat.filter((r) => r.status === 'PENDING' || r.status === 'CONFIRMED');
    if (live.length > 1) throw new Error(`double booking: seat ${seat.seatNo} has live reservations ${live.map((r) => `${r.id}(${r.status})`).join(', ')}`);
    const [holder] = live;
    if (seat.status === 'SOLD' && (holder?.status !== 'CONFIRMED' || paymentsOf(holder.id).length !== 1)) {
      throw new Error(`seat ${seat.seatNo} is SOLD without exactly one paid CONFIRMED reservation`);
    }
    if (seat.status === 'HELD' && (holder?.status !== 'PENDING' || seat.heldBy !== holder.id || seat.heldUntil?.getTime() !== holder.expiresAt.getTime())) {
      throw new Error(`seat ${seat.seatNo} is HELD by ${seat.heldBy} but its PENDING reservation is ${holder?.id ?? 'none'}`);
    }
    if (seat.status === 'AVAILABLE' && holder !== undefined) throw new Error(`seat ${seat.seatNo} is AVAILABLE but ${holder.id} is ${holder.status}`);
  }

  for (const reservation of reservations) {
    const paid = paymentsOf(reservation.id);
    if (paid.length > 1) throw new Error(`paid twice: reservation ${reservation.id} has ${paid.length} payments`);
    if (reservation.status === 'EXPIRED' && paid.length > 0) throw new Error(`expired hold sold: ${reservation.id} is EXPIRED but paid`);
    if (reservation.status === 'CONFIRMED' && paid.length !== 1) throw new Error(`reservation ${reservation.id} CONFIRMED without a payment`);
    for (const payment of paid) {
      if (payment.at.getTime() >= reservation.expiresAt.getTime()) throw new Error(`paid after the hold ended: ${reservation.id}`);
      if (payment.amount !== reservation.price || payment.userId !== reservation.userId) throw new Error(`payment ${payment.id} does not match its reservation`);
    }
  }

  // Every answered payment is the stored one, and replays answer the same payment.
  for (const outcome of outcomes) {
    if (outcome.kind !== 'pay' || !outcome.ok) continue;
    const stored = payments.find((p) => p.id === outcome.output.paymentId);
    if (stored === undefined || stored.reservationId !== outcome.output.reservationId) throw new Error(`answered payment ${outcome.output.paymentId} was not stored`);
  }

  for (const { userId, startBalance, balance, history } of wallets) {
    if (balance < 0) throw new Error(`${userId}: negative balance ${balance}`);
    let running = 0;
    for (const entry of [...history].reverse() as PointHistoryEntry[]) {
      running += entry.kind === 'CHARGE' ? entry.amount : -entry.amount;
      if (entry.balanceAfter !== running) throw new Error(`${userId}: history says ${entry.balanceAfter}, sum says ${running}`);
    }
    if (balance !== running) throw new Error(`${userId}: balance ${balance} but history sums to ${running} (lost update)`);
    const charged = outcomes.reduce((sum, o) => (o.kind === 'charge' && o.ok && o.userId === userId ? sum + o.amount : sum), startBalance);
    const spent = payments.filter((p) => p.userId === userId).reduce((sum, p) => sum + p.amount, 0);
    if (balance !== charged - spent) throw new Error(`${userId}: balance ${balance} but charges minus payments is ${charged - spent}`);
    const uses = history.filter((entry) => entry.kind === 'USE').length;
    if (uses !== payments.filter((p) => p.userId === userId).length) throw new Error(`${userId}: ${uses} USE rows for its payments`);
  }
}

function reservationProperty(protection: Protection) {
  return fc.asyncProperty(fc.scheduler(), scenarioArb, async (s, scenario) => {
    checkInvariants(await runScenario(s, scenario, protection));
  });
}

const INVARIANT_MESSAGES =
  /double booking|paid twice|expired hold sold|paid after the hold ended|SOLD without|is HELD by|is AVAILABLE but|CONFIRMED without|lost update|negative balance|charges minus payments|USE rows|history says|phantom rows/;

describeProtectionLayers('reserving and paying under any interleaving', reservationProperty, {
  numRuns: 400,
  unprotectedRuns: 300,
  invariantMessages: INVARIANT_MESSAGES,
});

/**
 * The seat limit: one buyer, several sessions at once (tabs, devices, a
 * script), each reserving seats of one schedule and paying its latest hold,
 * beside the sweeper and the clock ending holds. At no instant may the
 * buyer have more than MAX PENDING or CONFIRMED reservations of the
 * schedule: the committed rows are checked at every scheduler step, not
 * only at the end, since a sweep could hide a breach that came and went.
 */
const LIMIT_USER = 'u1';
const LIMIT_MAX = 2;
const LIMIT_SEAT_NOS = [1, 2, 3, 4, 5] as const;
const LIMIT_CODES = new Set(['SEAT_UNAVAILABLE', 'SEAT_LIMIT_REACHED', 'LOCK_BUSY', 'RESERVATION_EXPIRED', 'RESERVATION_NOT_PENDING', 'NO_RESERVATION']);

type SessionStep = { readonly kind: 'reserve'; readonly seatNo: number } | { readonly kind: 'pay' };

interface LimitScenario {
  /** Each session's steps run in order; sessions run at once. Each starts with a reserve, so that they race for the places. */
  readonly sessions: readonly (readonly SessionStep[])[];
  readonly sweeps: readonly { readonly afterSteps: number }[];
  readonly clockMoves: readonly { readonly afterSteps: number; readonly ms: number }[];
}

const reserveStepArb = fc.record({ kind: fc.constant('reserve' as const), seatNo: fc.constantFrom(...LIMIT_SEAT_NOS) });
const limitScenarioArb: fc.Arbitrary<LimitScenario> = fc.record({
  sessions: fc.array(
    fc
      .tuple(reserveStepArb, fc.array(fc.oneof({ arbitrary: reserveStepArb, weight: 2 }, { arbitrary: fc.constant({ kind: 'pay' as const }), weight: 1 }), { maxLength: 3 }))
      .map(([first, rest]): SessionStep[] => [first, ...rest]),
    { minLength: 2, maxLength: 4 },
  ),
  sweeps: fc.array(fc.record({ afterSteps: fc.integer({ min: 0, max: 30 }) }), { maxLength: 2 }),
  clockMoves: fc.array(fc.record({ afterSteps: fc.integer({ min: 0, max: 30 }), ms: fc.constantFrom(300, 700, 1_000) }), { maxLength: 3 }),
});

/** The breach, named, if the buyer has more live reservations of the schedule than the limit allows. */
function seatLimitBreach(db: MemoryDatabase): string | undefined {
  const live = ([...db.committedTable('reservations').values()] as Reservation[]).filter(
    (r) => r.userId === LIMIT_USER && r.scheduleId === SCHEDULE && (r.status === 'PENDING' || r.status === 'CONFIRMED'),
  );
  if (live.length <= LIMIT_MAX) return undefined;
  return `seat limit broken: ${LIMIT_USER} has ${live.length} live reservations of ${SCHEDULE} (max ${LIMIT_MAX}): ${live.map((r) => `${r.id}(seat ${r.seatNo}, ${r.status})`).join(', ')}`;
}

async function runLimitScenario(s: fc.Scheduler, scenario: LimitScenario, protection: Protection): Promise<{ breach: string | undefined; failures: string[] }> {
  let tick: Tick = immediateTick;
  const db = new MemoryDatabase(() => tick());
  const tx = new MemoryTransactionManager(db, { guarded: protection.guards });
  const clock = new ManualClock();
  const lock: LockPort = protection.lock ? new MemoryLock(clock, { tick: () => tick(), defaultLeaseMs: 3_600_000 }) : new NoopLock();
  const ids = new SequentialIds();

  await tx.run(async (uow) => {
    await uow.catalog.createConcert({ id: 'c1', title: 'Concert', venue: 'Hall' });
    await uow.catalog.createSchedule({ id: SCHEDULE, concertId: 'c1', startsAt: new Date('2026-06-01T19:00:00Z'), totalSeats: LIMIT_SEAT_NOS.length }, PRICE);
    // Enough for every seat: this property is about the limit, not the wallet.
    await uow.points.credit(LIMIT_USER, PRICE * 100, BALANCE_LIMIT);
  });
  let breach: string | undefined;
  tick = () => {
    breach ??= seatLimitBreach(db);
    return s.schedule(Promise.resolve());
  };

  const catalogCache = new CatalogCache(new MemoryCache(clock), tx);
  const queue = new MemoryQueue();
  const reserveSeat = new ReserveSeat(lock, tx, clock, ids, catalogCache, new ExtendToken(queue, clock), {
    holdTtlMs: HOLD_TTL_MS,
    maxSeatsPerUser: LIMIT_MAX,
    userLockWaitMs: 5_000,
  });
  const payReservation = new PayReservation(lock, tx, clock, ids, new ExpireToken(queue, clock), catalogCache, { lockWaitMs: 5_000 });
  const expireHolds = new ExpireHolds(lock, tx, clock, catalogCache);
  const failures: string[] = [];
  const fail = (what: string, error: unknown) => {
    const code = codeOf(error);
    if (!LIMIT_CODES.has(code)) failures.push(`unexpected failure of ${what}: ${code}`);
  };

  const actors: Promise<void>[] = scenario.sessions.map(async (steps) => {
    let latest: string | undefined;
    for (const step of steps) {
      if (step.kind === 'reserve') {
        await reserveSeat
          .execute({ userId: LIMIT_USER, token: 'token-of-the-buyer', tokenExpiresAt: clock.now(), scheduleId: SCHEDULE, seatNo: step.seatNo })
          .then((reservation) => void (latest = reservation.id), (error: unknown) => fail('reserve', error));
      } else if (latest !== undefined) {
        await payReservation.execute({ userId: LIMIT_USER, token: 'token-of-the-buyer', reservationId: latest }).catch((error: unknown) => fail('pay', error));
      }
    }
  });
  actors.push(
    (async () => {
      for (const { afterSteps } of scenario.sweeps) {
        for (let i = 0; i <= afterSteps; i++) await tick();
        await expireHolds.execute().catch((error: unknown) => fail('sweep', error));
      }
    })(),
    (async () => {
      for (const { afterSteps, ms } of scenario.clockMoves) {
        for (let i = 0; i <= afterSteps; i++) await tick();
        clock.advance(ms);
      }
    })(),
  );
  await s.waitFor(Promise.all(actors));
  breach ??= seatLimitBreach(db);
  return { breach, failures };
}

function seatLimitProperty(protection: Protection) {
  return fc.asyncProperty(fc.scheduler(), limitScenarioArb, async (s, scenario) => {
    const { breach, failures } = await runLimitScenario(s, scenario, protection);
    if (failures.length > 0) throw new Error(failures.join('; '));
    if (breach !== undefined) throw new Error(breach);
  });
}

describeProtectionLayers('one buyer reserving from several sessions at once: never more than MAX_SEATS_PER_USER seats', seatLimitProperty, {
  numRuns: 300,
  unprotectedRuns: 300,
  invariantMessages: /seat limit broken/,
});
