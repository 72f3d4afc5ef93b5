/**
 * The invariant check after every run, counted from the database over the
 * run's own rows (its tag), not taken from what the callers were told.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../../adapters/kysely/schema.js';

export interface Anomalies {
  /** Seats with more than one live (PENDING or CONFIRMED) reservation. */
  readonly doubleBooked: number;
  /** Reservations with more than one payment. */
  readonly doublePaid: number;
  readonly negativeBalances: number;
  /** Wallets whose balance is not the sum of their history (CHARGE − USE). */
  readonly historyMismatch: number;
  /** Wallets whose balance is not the opening balance plus what the successful requests were told they did. */
  readonly lostUpdates: number;
  /** Over those wallets, the points between what the requests were told and the balance (a lost charge of 100 is 100). */
  readonly pointsAdrift: number;
}

export function anomalyCount(a: Anomalies): number {
  return a.doubleBooked + a.doublePaid + a.negativeBalances + a.historyMismatch + a.lostUpdates;
}

export async function checkInvariants(db: Kysely<Database>, tag: string, expectedBalances: ReadonlyMap<string, number>): Promise<Anomalies> {
  const users = `${tag}u%`;
  const schedules = `${tag}s%`;
  const count = async (query: ReturnType<typeof sql<{ n: number }>>) => (await query.execute(db)).rows[0]?.n ?? 0;
  const doubleBooked = await count(sql<{ n: number }>`
    select count(*)::int as n from (
      select 1 from reservations where schedule_id like ${schedules} and status in ('PENDING', 'CONFIRMED')
      group by schedule_id, seat_no having count(*) > 1) t`);
  const doublePaid = await count(sql<{ n: number }>`
    select count(*)::int as n from (select 1 from payments where user_id like ${users} group by reservation_id having count(*) > 1) t`);
  const negativeBalances = await count(sql<{ n: number }>`select count(*)::int as n from user_points where user_id like ${users} and balance < 0`);
  const historyMismatch = await count(sql<{ n: number }>`
    select count(*)::int as n from user_points p
    where p.user_id like ${users}
      and p.balance <> coalesce((select sum(case when h.kind = 'CHARGE' then h.amount else -h.amount end) from point_history h where h.user_id = p.user_id), 0)`);
  const { rows } = await sql<{ user_id: string; balance: number }>`select user_id, balance from user_points where user_id like ${users}`.execute(db);
  const drift = rows.map((row) => Math.abs(row.balance - (expectedBalances.get(row.user_id) ?? 0))).filter((d) => d > 0);
  return { doubleBooked, doublePaid, negativeBalances, historyMismatch, lostUpdates: drift.length, pointsAdrift: drift.reduce((a, b) => a + b, 0) };
}
