/**
 * The five workloads, each on rows of its own (a run tag in every user and
 * schedule id), seeded in bulk before its run: reserve on distinct seats,
 * reserve on one hot seat (rounds of every caller at once on a fresh seat),
 * charge on distinct wallets, charge on one hot wallet, and pay (each buyer
 * holds 4 seats and can afford 3; every reservation is paid by two callers
 * at once, as a double click would).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../../adapters/kysely/schema.js';
import type { ChargePoints } from '../../core/usecases/charge-points.js';
import type { PayReservation } from '../../core/usecases/reservations/pay-reservation.js';
import type { ReserveSeat } from '../../core/usecases/reservations/reserve-seat.js';

export type WorkloadId = 'reserve-distinct' | 'reserve-hot' | 'charge-distinct' | 'charge-hot' | 'pay';

export const WORKLOADS: readonly { readonly id: WorkloadId; readonly name: string }[] = [
  { id: 'reserve-distinct', name: 'reserve, distinct seats' },
  { id: 'reserve-hot', name: 'reserve, one hot seat' },
  { id: 'charge-distinct', name: 'charge, distinct wallets' },
  { id: 'charge-hot', name: 'charge, one hot wallet' },
  { id: 'pay', name: 'pay (4 holds, 3 affordable, each paid twice at once)' },
];

export interface UseCases {
  readonly charge: ChargePoints;
  readonly reserve: ReserveSeat;
  readonly pay: PayReservation;
}

/** What a successful task did to a wallet: the harness's side of the lost-update check. */
export interface WalletDelta {
  readonly userId: string;
  readonly delta: number;
}

export type Task = (uc: UseCases) => Promise<WalletDelta | undefined>;

export interface Sizes {
  /** Tasks of a distinct-rows workload (reserve, charge). */
  readonly distinct: number;
  /** Rounds of the hot seat, each `callers` reserves of one fresh seat at once. */
  readonly hotRounds: number;
  readonly hotCharges: number;
  /** Buyers of the pay workload: 4 holds each, 8 payment requests each. */
  readonly payUsers: number;
  readonly callers: number;
}

export interface Prepared {
  readonly tag: string;
  /** Run one after the other; the tasks of one round are shared by every caller. */
  readonly rounds: readonly (readonly Task[])[];
  /** Every wallet of the run with its balance before it. */
  readonly initialBalances: ReadonlyMap<string, number>;
}

export const PRICE = 100;
export const CHARGE = 100;
const SEATS_PER_SCHEDULE = 1_000;
const HOLDS_PER_BUYER = 4;
/** Far after the run: no token is extended, no hold ends during it. */
const FAR = new Date(Date.now() + 24 * 3600_000);

const user = (tag: string, i: number) => `${tag}u${i}`;
const schedule = (tag: string, i: number) => `${tag}s${i}`;

async function seedSchedules(db: Kysely<Database>, tag: string, seats: number, held?: (scheduleIndex: number) => string): Promise<void> {
  await sql`insert into concerts (id, title, venue) values (${`${tag}c`}, 'lock bench', 'bench')`.execute(db);
  const schedules = Math.ceil(seats / SEATS_PER_SCHEDULE);
  for (let s = 0; s < schedules; s++) {
    const count = Math.min(SEATS_PER_SCHEDULE, seats - s * SEATS_PER_SCHEDULE);
    await sql`insert into schedules (id, concert_id, starts_at, total_seats) values (${schedule(tag, s)}, ${`${tag}c`}, ${FAR}, ${count})`.execute(db);
    if (held === undefined) {
      await sql`insert into seats (schedule_id, seat_no, price, status) select ${schedule(tag, s)}, g, ${PRICE}::int, 'AVAILABLE' from generate_series(1, ${count}::int) g`.execute(db);
    } else {
      // Held by reservation `<prefix><seat index over the run>`: the pay workload's holds.
      await sql`
        insert into seats (schedule_id, seat_no, price, status, held_by, held_until)
        select ${schedule(tag, s)}, g, ${PRICE}::int, 'HELD', ${held(s)}::text || (${s * SEATS_PER_SCHEDULE}::int + g - 1), ${FAR}::timestamptz
        from generate_series(1, ${count}::int) g`.execute(db);
    }
  }
}

async function seedWallets(db: Kysely<Database>, tag: string, count: number, balance: number): Promise<Map<string, number>> {
  await sql`insert into user_points (user_id, balance) select ${tag}::text || 'u' || g, ${balance}::int from generate_series(0, ${count - 1}::int) g`.execute(db);
  // The opening balance is history too: balance = sum of history holds from the start.
  if (balance > 0) {
    await sql`
      insert into point_history (user_id, kind, amount, balance_after, created_at)
      select ${tag}::text || 'u' || g, 'CHARGE', ${balance}::int, ${balance}::int, now() from generate_series(0, ${count - 1}::int) g`.execute(db);
  }
  return new Map(Array.from({ length: count }, (_, i) => [user(tag, i), balance]));
}

const reserve = (tag: string, userIndex: number, seatIndex: number): Task => async (uc) => {
  await uc.reserve.execute({
    userId: user(tag, userIndex),
    token: 'bench-token',
    tokenExpiresAt: FAR,
    scheduleId: schedule(tag, Math.floor(seatIndex / SEATS_PER_SCHEDULE)),
    seatNo: (seatIndex % SEATS_PER_SCHEDULE) + 1,
  });
  return undefined;
};

const charge = (tag: string, userIndex: number): Task => async (uc) => {
  await uc.charge.execute({ userId: user(tag, userIndex), amount: CHARGE });
  return { userId: user(tag, userIndex), delta: CHARGE };
};

export async function prepare(db: Kysely<Database>, id: WorkloadId, tag: string, sizes: Sizes): Promise<Prepared> {
  switch (id) {
    case 'reserve-distinct': {
      await seedSchedules(db, tag, sizes.distinct);
      return { tag, rounds: [Array.from({ length: sizes.distinct }, (_, i) => reserve(tag, i, i))], initialBalances: new Map() };
    }
    case 'reserve-hot': {
      await seedSchedules(db, tag, sizes.hotRounds);
      const rounds = Array.from({ length: sizes.hotRounds }, (_, r) => Array.from({ length: sizes.callers }, (_, k) => reserve(tag, r * sizes.callers + k, r)));
      return { tag, rounds, initialBalances: new Map() };
    }
    case 'charge-distinct': {
      const initialBalances = await seedWallets(db, tag, sizes.distinct, 0);
      return { tag, rounds: [Array.from({ length: sizes.distinct }, (_, i) => charge(tag, i))], initialBalances };
    }
    case 'charge-hot': {
      const initialBalances = await seedWallets(db, tag, 1, 0);
      return { tag, rounds: [Array.from({ length: sizes.hotCharges }, () => charge(tag, 0))], initialBalances };
    }
    case 'pay':
      return preparePay(db, tag, sizes.payUsers);
  }
}

async function preparePay(db: Kysely<Database>, tag: string, buyers: number): Promise<Prepared> {
  const holds = buyers * HOLDS_PER_BUYER;
  const reservation = (seatIndex: number) => `${tag}r${seatIndex}`;
  await seedSchedules(db, tag, holds, () => `${tag}r`);
  // Buyer i holds seats 4i .. 4i+3 (over the run's schedules), reservation `<tag>r<seat index>`, and can pay for 3 of them.
  await sql`
    insert into reservations (id, user_id, schedule_id, seat_no, price, status, expires_at)
    select ${tag}::text || 'r' || g, ${tag}::text || 'u' || (g / ${HOLDS_PER_BUYER}::int), ${tag}::text || 's' || (g / ${SEATS_PER_SCHEDULE}::int),
           (g % ${SEATS_PER_SCHEDULE}::int) + 1, ${PRICE}::int, 'PENDING', ${FAR}::timestamptz
    from generate_series(0, ${holds - 1}::int) g`.execute(db);
  await sql`
    insert into user_schedule_seats (user_id, schedule_id, seats)
    select user_id, schedule_id, count(*) from reservations where user_id like ${`${tag}u%`} group by 1, 2`.execute(db);
  const initialBalances = await seedWallets(db, tag, buyers, (HOLDS_PER_BUYER - 1) * PRICE);
  const tasks: Task[] = [];
  for (let b = 0; b < buyers; b++) {
    for (let h = 0; h < HOLDS_PER_BUYER; h++) {
      const seatIndex = b * HOLDS_PER_BUYER + h;
      const pay: Task = async (uc) => {
        const paid = await uc.pay.execute({ userId: user(tag, b), token: 'bench-token', reservationId: reservation(seatIndex) });
        return { userId: user(tag, b), delta: -paid.amount };
      };
      // Twice, next to each other: two callers pick them up at the same moment.
      tasks.push(pay, pay);
    }
  }
  return { tag, rounds: [tasks], initialBalances };
}
