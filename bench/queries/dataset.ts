/**
 * The realistic database of the query report, built with set-based SQL
 * (INSERT … SELECT generate_series) on a schema the real migrations made.
 * Every CHECK, foreign key and unique index holds: one live (PENDING or
 * CONFIRMED) reservation per SOLD or HELD seat, naming the seat's holder;
 * a payment per CONFIRMED reservation; user_schedule_seats counting the live
 * ones; wallets equal to the last balance of their history.
 *
 * Rows are derived from their number g by closed forms (no random()), so a
 * run at a given scale always builds the same database, and the bench knows
 * where to find a seat, a hold or a user of each kind without asking.
 */
import type pg from 'pg';

export interface DatasetSizes {
  readonly concerts: number;
  readonly schedulesPerConcert: number;
  readonly seatsPerSchedule: number;
  /** Reservations in all, live and EXPIRED. */
  readonly reservations: number;
  /** Ordinary buyers; each has `historyPerUser` history rows. */
  readonly users: number;
  readonly historyPerUser: number;
  /**
   * A few accounts with far more rows than anyone else (a box office, a
   * reseller): per-user reads are judged on them, not only on the average.
   */
  readonly heavyUsers: number;
  readonly historyPerHeavyUser: number;
  /** Stored Idempotency-Keys of charges, spread over the last 48 h (half past the 24 h retention). */
  readonly chargeKeys: number;
  /** One concert of `schedulesPerConcert` schedules of the largest size a schedule may have: the aggregate's worst case. */
  readonly largeVenueSeats: number;
}

/** 1,000 concerts × 10 × 50 = 500,000 seats, 1,000,000 reservations, 5,000,000 history rows at scale 1. */
export function sizesAt(scale: number): DatasetSizes {
  const at = (n: number, min: number) => Math.max(min, Math.round(n * scale));
  return {
    concerts: at(1_000, 4),
    schedulesPerConcert: 10,
    seatsPerSchedule: 50,
    reservations: at(1_000_000, 4_000),
    users: at(100_000, 200),
    historyPerUser: 45,
    heavyUsers: 5,
    historyPerHeavyUser: at(100_000, 1_000),
    chargeKeys: at(500_000, 1_000),
    largeVenueSeats: 1_000,
  };
}

/**
 * Seat g (0 … seats − 1) of the ordinary catalog is seat `g % 50 + 1` of
 * schedule `sch-<g / 50>`. Out of every 100 seats: 0–39 SOLD, 40–43 HELD,
 * the rest AVAILABLE. A tenth of the holds have ended without being swept
 * (the backlog a sweeper finds after a pause). Seats with g % 25 = 16 (one
 * SOLD, one HELD per hundred) belong to the heavy users.
 */
export const SEAT_RULES = {
  isSold: (g: number) => g % 100 < 40,
  isHeld: (g: number) => g % 100 >= 40 && g % 100 < 44,
  isEndedHold: (g: number) => g % 100 >= 40 && g % 100 < 44 && Math.floor(g / 100) % 10 === 0,
  isHeavy: (g: number) => g % 25 === 16,
} as const;

/** The owner of the live reservation of seat g (SQL twin: `liveUser` below). */
export function liveUserOf(g: number, sizes: DatasetSizes): string {
  return SEAT_RULES.isHeavy(g) ? `heavy-${Math.floor(g / 25) % sizes.heavyUsers}` : `user-${(g * 7919) % sizes.users}`;
}

export function seatOf(g: number, sizes: DatasetSizes): { scheduleId: string; seatNo: number } {
  return { scheduleId: `sch-${Math.floor(g / sizes.seatsPerSchedule)}`, seatNo: (g % sizes.seatsPerSchedule) + 1 };
}

export const LARGE_VENUE_CONCERT = 'con-large';

export interface BuildStep {
  readonly step: string;
  readonly rows: number;
  readonly seconds: number;
}

/** A wallet's balance after its k-th history row: CHARGE 2,000 on odd k, USE 1,000 on even k (SQL twin inline). */
const BALANCE_AFTER = (k: string) => `(case when ${k} % 2 = 1 then (${k} / 2) * 1000 + 2000 else (${k} / 2) * 1000 end)`;

export async function buildDataset(client: pg.Client, sizes: DatasetSizes, log: (message: string) => void): Promise<BuildStep[]> {
  const seats = sizes.concerts * sizes.schedulesPerConcert * sizes.seatsPerSchedule;
  // generate_series yields in order and the insert keeps it: the identity ids follow h, so each user's k-th row has a smaller id than its (k+1)-th.
  const live = `(g % 100 < 44)`;
  const held = `(g % 100 between 40 and 43)`;
  const ended = `(${held} and (g / 100) % 10 = 0)`;
  const liveUser = `(case when g % 25 = 16 then 'heavy-' || ((g / 25) % ${sizes.heavyUsers}) else 'user-' || ((g::bigint * 7919) % ${sizes.users}) end)`;
  // Live holds end an hour after the build (not HOLD_TTL's 5 minutes) so that a long build at full scale leaves them live for the capture.
  const holdEnd = `(case when ${ended} then now() - (1 + g % 60) * interval '1 minute' else now() + interval '1 hour' + (g % 300) * interval '1 second' end)`;
  const price = `(10000 + (g % 5) * 5000)`;
  const expired = Math.max(0, sizes.reservations - Math.ceil((seats * 44) / 100));
  const P = sizes.seatsPerSchedule;

  const steps: BuildStep[] = [];
  const step = async (name: string, text: string, values: unknown[] = []) => {
    const started = performance.now();
    // Every parameter is a count: typed once here, so that `$1 - c` or `$1 * $2` need no casts of their own.
    const result = await client.query(text.replace(/\$(\d+)(?!\d|::)/g, '$$$1::bigint'), values);
    const done = { step: name, rows: result.rowCount ?? 0, seconds: (performance.now() - started) / 1000 };
    steps.push(done);
    log(`dataset: ${name}: ${done.rows.toLocaleString('en-US')} rows in ${done.seconds.toFixed(1)} s`);
  };
  // A bench database thrown away at the end: nothing is lost if the server crashes mid-build.
  await client.query('set synchronous_commit = off');
  await client.query(`set maintenance_work_mem = '256MB'`);

  await step(
    'concerts',
    `insert into concerts (id, title, venue, created_at)
     select 'con-' || c, 'Concert ' || c, 'Hall ' || (c % 50), now() - ($1 - c) * interval '1 minute'
     from generate_series(0, $1 - 1) as c`,
    [sizes.concerts],
  );
  await step(
    'schedules',
    `insert into schedules (id, concert_id, starts_at, total_seats, created_at)
     select 'sch-' || s, 'con-' || (s / $2), now() + interval '30 days' + (s % $2) * interval '1 day', $3, now() - interval '7 days'
     from generate_series(0, $1 * $2 - 1) as s`,
    [sizes.concerts, sizes.schedulesPerConcert, P],
  );
  await step(
    'seats',
    `insert into seats (schedule_id, seat_no, price, status, held_by, held_until)
     select 'sch-' || (g / ${P}), g % ${P} + 1, ${price},
            case when g % 100 < 40 then 'SOLD' when ${held} then 'HELD' else 'AVAILABLE' end,
            case when ${held} then 'res-live-' || g end,
            case when ${held} then ${holdEnd} end
     from generate_series(0, $1 - 1) as g`,
    [seats],
  );
  await step(
    'large venue',
    `with c as (insert into concerts (id, title, venue) values ('${LARGE_VENUE_CONCERT}', 'Large venue', 'Stadium') returning id),
          s as (insert into schedules (id, concert_id, starts_at, total_seats)
                select 'sch-large-' || i, (select id from c), now() + interval '60 days' + i * interval '1 day', $1
                from generate_series(0, $2 - 1) as i returning id)
     insert into seats (schedule_id, seat_no, price, status)
     select s.id, n, 30000, case when n % 10 < 3 then 'SOLD' else 'AVAILABLE' end from s, generate_series(1, $1) as n`,
    [sizes.largeVenueSeats, sizes.schedulesPerConcert],
  );
  // EXPIRED first: positions (an identity) then follow time, the older reservations first.
  await step(
    'reservations EXPIRED',
    `insert into reservations (id, user_id, schedule_id, seat_no, price, status, expires_at, created_at, updated_at)
     select 'res-exp-' || j,
            case when j % 20 = 0 then 'heavy-' || ((j / 20) % ${sizes.heavyUsers}) else 'user-' || ((j::bigint * 31) % ${sizes.users}) end,
            'sch-' || (g / ${P}), g % ${P} + 1, ${price}, 'EXPIRED',
            now() - interval '3 days' + (j % 86400) * interval '1 second',
            now() - interval '3 days' + (j % 86400) * interval '1 second' - interval '5 minutes',
            now() - interval '3 days' + (j % 86400) * interval '1 second'
     from generate_series(0, $1 - 1) as j, lateral (select (j::bigint * 104729) % $2 as g) as seat`,
    [expired, seats],
  );
  await step(
    'reservations PENDING and CONFIRMED',
    `insert into reservations (id, user_id, schedule_id, seat_no, price, status, expires_at, created_at, updated_at)
     select 'res-live-' || g, ${liveUser}, 'sch-' || (g / ${P}), g % ${P} + 1, ${price},
            case when ${held} then 'PENDING' else 'CONFIRMED' end,
            case when ${held} then ${holdEnd} else now() - interval '1 day' + (g % 3600) * interval '1 second' end,
            case when ${held} then least(now(), ${holdEnd} - interval '5 minutes') else now() - interval '1 day' + (g % 3600) * interval '1 second' - interval '5 minutes' end,
            now() - interval '1 day' + (g % 3600) * interval '1 second'
     from generate_series(0, $1 - 1) as g
     where ${live}`,
    [seats],
  );
  // The large venue's SOLD seats need their CONFIRMED reservations too (the invariant, not only the statuses).
  await step(
    'large venue reservations',
    `insert into reservations (id, user_id, schedule_id, seat_no, price, status, expires_at)
     select 'res-large-' || schedule_id || '-' || seat_no, 'user-' || ((seat_no * 13) % $1), schedule_id, seat_no, price, 'CONFIRMED', now()
     from seats where schedule_id like 'sch-large-%' and status = 'SOLD'`,
    [sizes.users],
  );
  await step(
    'user_schedule_seats',
    `insert into user_schedule_seats (user_id, schedule_id, seats)
     select user_id, schedule_id, count(*) from reservations where status in ('PENDING', 'CONFIRMED') group by user_id, schedule_id`,
  );
  await step(
    'payments',
    `insert into payments (id, reservation_id, user_id, amount, created_at)
     select 'pay-' || substr(id, 10), id, user_id, price, created_at + interval '1 minute' from reservations where status = 'CONFIRMED'`,
  );
  await step(
    'point_history (ordinary users)',
    `insert into point_history (user_id, kind, amount, balance_after, created_at)
     select 'user-' || (h % $1), case when k % 2 = 1 then 'CHARGE' else 'USE' end, case when k % 2 = 1 then 2000 else 1000 end,
            ${BALANCE_AFTER('k')}, now() - interval '90 days' + k * interval '1 hour'
     from generate_series(0, $1::bigint * $2 - 1) as h, lateral (select h / $1 + 1 as k) as n`,
    [sizes.users, sizes.historyPerUser],
  );
  await step(
    'point_history (heavy users)',
    `insert into point_history (user_id, kind, amount, balance_after, created_at)
     select 'heavy-' || (h % $1), case when k % 2 = 1 then 'CHARGE' else 'USE' end, case when k % 2 = 1 then 2000 else 1000 end,
            ${BALANCE_AFTER('k')}, now() - interval '90 days' + k * interval '1 second'
     from generate_series(0, $1::bigint * $2 - 1) as h, lateral (select h / $1 + 1 as k) as n`,
    [sizes.heavyUsers, sizes.historyPerHeavyUser],
  );
  await step(
    'user_points',
    `insert into user_points (user_id, balance)
     select 'user-' || u, ${BALANCE_AFTER('$2::bigint')} from generate_series(0, $1 - 1) as u
     union all
     select 'heavy-' || u, ${BALANCE_AFTER('$3::bigint')} from generate_series(0, $4 - 1) as u`,
    [sizes.users, sizes.historyPerUser, sizes.historyPerHeavyUser, sizes.heavyUsers],
  );
  await step(
    'idempotency_keys',
    `insert into idempotency_keys (scope, key, fingerprint, response, created_at)
     select 'charge-points:user-' || (j % $2), 'charge-' || j, '{"amount":2000}', '{"userId":"u","balance":2000}'::jsonb,
            now() - (j % 2880) * interval '1 minute'
     from generate_series(0, $1 - 1) as j
     union all
     select 'pay:' || reservation_id, 'pay-' || id, '{"reservationId":"' || reservation_id || '"}', '{"status":"CONFIRMED"}'::jsonb, created_at
     from payments`,
    [sizes.chargeKeys, sizes.users],
  );
  // The planner's statistics and the visibility map, as autovacuum leaves a table at rest.
  const started = performance.now();
  await client.query('vacuum (analyze)');
  steps.push({ step: 'vacuum (analyze)', rows: 0, seconds: (performance.now() - started) / 1000 });
  return steps;
}
