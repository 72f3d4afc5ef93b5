/**
 * The sale's invariants (DESIGN.md, "Invariants"), read from the sell-out's
 * database directly after every instance has stopped: no answer the buyers
 * got is trusted here. Each check is one SQL statement, so each sees one
 * consistent snapshot, and each returns the rows that break it (none when
 * it holds).
 */
import pg from 'pg';
import type { AcknowledgedPayment } from './tally.js';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  /** How many rows break it (0 when ok). */
  readonly violations: number;
  /** A few of them, to start a diagnosis from. */
  readonly examples: readonly string[];
}

/** What the database says the sale came to. */
export interface DatabaseState {
  readonly seats: { readonly sold: number; readonly held: number; readonly available: number; readonly total: number };
  readonly reservations: Readonly<Record<string, number>>;
  readonly payments: number;
  /**
   * PENDING reservations whose hold ended more than UNSWEPT_AFTER_S before
   * the check: no sweeper released them although each sweeps every 5 s at
   * most. Not an invariant (reserving treats an ended hold as free), a sign
   * of sweepers that lag or stopped.
   */
  readonly unsweptEndedHolds: number;
  /** When the last payment committed (its created_at), as an epoch ms; undefined with no payment. */
  readonly lastPaymentAtMs: number | undefined;
}

const EXAMPLES = 5;
/** Twice the longest sweep interval (app/container.ts, holdSweepIntervalMs: 5 s at most): a hold ended this long ago should be swept. */
export const UNSWEPT_AFTER_S = 10;

/** Each check: a query returning one row per violation, rendered for the report by `describe`. */
const CHECKS: readonly { readonly name: string; readonly sql: string }[] = [
  {
    name: 'no seat held or sold twice: at most one live (PENDING or CONFIRMED) reservation per seat',
    sql: `select schedule_id || ' #' || seat_no || ': ' || count(*) || ' live reservations' as row
          from reservations where status in ('PENDING', 'CONFIRMED')
          group by schedule_id, seat_no having count(*) > 1`,
  },
  {
    name: 'every HELD seat is held by one PENDING reservation of that seat, and every PENDING reservation holds its seat',
    sql: `select s.schedule_id || ' #' || s.seat_no || ': HELD by ' || coalesce(r.id || ' (' || r.status || ')', 'no reservation ' || s.held_by) as row
          from seats s left join reservations r on r.id = s.held_by
          where s.status = 'HELD' and (r.id is null or r.status <> 'PENDING' or r.schedule_id <> s.schedule_id or r.seat_no <> s.seat_no)
          union all
          select 'reservation ' || r.id || ' PENDING, seat ' || s.status || coalesce(' held by ' || s.held_by, '')
          from reservations r join seats s on s.schedule_id = r.schedule_id and s.seat_no = r.seat_no
          where r.status = 'PENDING' and (s.status <> 'HELD' or s.held_by <> r.id)`,
  },
  {
    name: 'every SOLD seat has exactly one CONFIRMED reservation and one payment',
    sql: `select s.schedule_id || ' #' || s.seat_no || ': ' || count(distinct r.id) || ' CONFIRMED, ' || count(p.id) || ' payments' as row
          from seats s
          left join reservations r on r.schedule_id = s.schedule_id and r.seat_no = s.seat_no and r.status = 'CONFIRMED'
          left join payments p on p.reservation_id = r.id
          where s.status = 'SOLD'
          group by s.schedule_id, s.seat_no
          having count(distinct r.id) <> 1 or count(p.id) <> 1`,
  },
  {
    name: 'every CONFIRMED reservation has its seat SOLD and one payment; every payment is of a CONFIRMED reservation, for its price, by its owner',
    sql: `select 'reservation ' || r.id || ' CONFIRMED, seat ' || s.status || ', ' || (select count(*) from payments p where p.reservation_id = r.id) || ' payments' as row
          from reservations r join seats s on s.schedule_id = r.schedule_id and s.seat_no = r.seat_no
          where r.status = 'CONFIRMED' and (s.status <> 'SOLD' or (select count(*) from payments p where p.reservation_id = r.id) <> 1)
          union all
          select 'payment ' || p.id || ' of reservation ' || r.id || ' (' || r.status || ', price ' || r.price || ', user ' || r.user_id || '): amount ' || p.amount || ', user ' || p.user_id
          from payments p join reservations r on r.id = p.reservation_id
          where r.status <> 'CONFIRMED' or p.amount <> r.price or p.user_id <> r.user_id`,
  },
  {
    name: 'no payment created after its reservation’s hold ended',
    sql: `select 'payment ' || p.id || ' at ' || p.created_at || ', hold ended ' || r.expires_at as row
          from payments p join reservations r on r.id = p.reservation_id
          where p.created_at >= r.expires_at`,
  },
  {
    name: 'every balance equals the sum of its history (charges minus uses) and is >= 0',
    sql: `with history as (
            select user_id, sum(case kind when 'CHARGE' then amount else -amount end) as total from point_history group by user_id
          )
          select coalesce(u.user_id, h.user_id) || ': balance ' || coalesce(u.balance::text, 'none') || ', history ' || coalesce(h.total::text, 'none') as row
          from user_points u full join history h on h.user_id = u.user_id
          where coalesce(u.balance, 0) <> coalesce(h.total, 0) or u.balance < 0`,
  },
  {
    name: 'every user’s uses add up to their payments (nothing debited without a sale, nothing sold unpaid)',
    sql: `with uses as (select user_id, sum(amount) as total from point_history where kind = 'USE' group by user_id),
               paid as (select user_id, sum(amount) as total from payments group by user_id)
          select coalesce(uses.user_id, paid.user_id) || ': uses ' || coalesce(uses.total, 0) || ', payments ' || coalesce(paid.total, 0) as row
          from uses full join paid on paid.user_id = uses.user_id
          where coalesce(uses.total, 0) <> coalesce(paid.total, 0)`,
  },
  {
    name: 'no user over MAX_SEATS_PER_USER live seats per schedule, and the limit’s counter agrees',
    sql: `with live as (
            select user_id, schedule_id, count(*)::int as seats from reservations
            where status in ('PENDING', 'CONFIRMED') group by user_id, schedule_id
          )
          select coalesce(l.user_id, c.user_id) || ' on ' || coalesce(l.schedule_id, c.schedule_id) || ': ' || coalesce(l.seats, 0) || ' live, counter ' || coalesce(c.seats::text, 'none') as row
          from live l full join user_schedule_seats c on c.user_id = l.user_id and c.schedule_id = l.schedule_id
          where coalesce(l.seats, 0) > $1 or coalesce(l.seats, 0) <> coalesce(c.seats, 0)`,
  },
];

export async function checkInvariants(
  databaseUrl: string,
  maxSeatsPerUser: number,
  acknowledged: readonly AcknowledgedPayment[],
): Promise<{ readonly checks: Check[]; readonly state: DatabaseState }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const checks: Check[] = [];
    for (const check of CHECKS) {
      const params = check.sql.includes('$1') ? [maxSeatsPerUser] : [];
      const { rows } = await client.query<{ row: string }>(check.sql, params);
      checks.push({ name: check.name, ok: rows.length === 0, violations: rows.length, examples: rows.slice(0, EXAMPLES).map((r) => r.row) });
    }
    checks.push(await acknowledgedPaymentsExist(client, acknowledged));
    return { checks, state: await databaseState(client) };
  } finally {
    await client.end();
  }
}

/** A payment a buyer was told succeeded is in the database, for that reservation and that buyer: no acknowledged sale is lost. */
async function acknowledgedPaymentsExist(client: pg.Client, acknowledged: readonly AcknowledgedPayment[]): Promise<Check> {
  const { rows } = await client.query<{ id: string; reservation_id: string; user_id: string }>(
    `select p.id, p.reservation_id, p.user_id from payments p join reservations r on r.id = p.reservation_id
     where p.id = any($1::text[]) and r.status = 'CONFIRMED'`,
    [acknowledged.map((payment) => payment.paymentId)],
  );
  const found = new Map(rows.map((row) => [row.id, row]));
  const missing = acknowledged.filter((payment) => {
    const row = found.get(payment.paymentId);
    return row === undefined || row.reservation_id !== payment.reservationId || row.user_id !== payment.userId;
  });
  return {
    name: 'every payment a buyer was told succeeded is in the database, CONFIRMED, for that reservation and buyer',
    ok: missing.length === 0,
    violations: missing.length,
    examples: missing.slice(0, EXAMPLES).map((payment) => `payment ${payment.paymentId} of reservation ${payment.reservationId} (${payment.userId})`),
  };
}

async function databaseState(client: pg.Client): Promise<DatabaseState> {
  const seats = await client.query<{ status: string; n: number }>(`select status, count(*)::int as n from seats group by status`);
  const reservations = await client.query<{ status: string; n: number }>(`select status, count(*)::int as n from reservations group by status`);
  const payments = await client.query<{ n: number; last: Date | null }>(`select count(*)::int as n, max(created_at) as last from payments`);
  const unswept = await client.query<{ n: number }>(
    `select count(*)::int as n from reservations where status = 'PENDING' and expires_at < now() - make_interval(secs => $1)`,
    [UNSWEPT_AFTER_S],
  );
  const byStatus = (status: string): number => seats.rows.find((row) => row.status === status)?.n ?? 0;
  const last = payments.rows[0]?.last ?? null;
  return {
    seats: {
      sold: byStatus('SOLD'),
      held: byStatus('HELD'),
      available: byStatus('AVAILABLE'),
      total: seats.rows.reduce((sum, row) => sum + row.n, 0),
    },
    reservations: Object.fromEntries(reservations.rows.map((row) => [row.status, row.n])),
    payments: payments.rows[0]?.n ?? 0,
    unsweptEndedHolds: unswept.rows[0]?.n ?? 0,
    lastPaymentAtMs: last === null ? undefined : last.getTime(),
  };
}
