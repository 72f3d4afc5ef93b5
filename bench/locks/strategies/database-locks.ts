/**
 * The database as the lock: the keys the use case asked for (deferred by
 * DeferredLock), locked at the start of its transaction, in the order the
 * Redis lock takes them (each `withLock` call's keys sorted, outer call
 * first), released by COMMIT or ROLLBACK. A fail-fast key does not wait
 * (NOWAIT, pg_try_…); a waiting key waits up to the connection's
 * lock_timeout (DB_LOCK_TIMEOUT_MS, 1 s: the app's bound on a row lock),
 * then LOCK_BUSY.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { LockBusyError } from '../../../core/domain/errors.js';
import type { Database } from '../../../adapters/kysely/schema.js';
import type { InsideTransaction } from './bench-transaction.js';

/** A key's family and its parts, unescaped (core/keys.ts escapes `%` and `:` in each part). */
export function parseKey(key: string): { readonly family: string; readonly parts: readonly string[] } {
  const [family = '', ...parts] = key.split(':');
  // One pass, so that an escaped `%` followed by `3A` is never read as an escaped `:`.
  return { family, parts: parts.map((part) => part.replace(/%(25|3A)/g, (escaped) => (escaped === '%25' ? '%' : ':'))) };
}

/**
 * `SELECT … FOR UPDATE` on the row a key stands for: the wallet, the seat,
 * the reservation, the user's seat counter. A key whose row does not exist
 * (a user's first seat of a schedule has no counter row yet) locks nothing:
 * the guarded statements still hold the invariant.
 */
async function lockRow(trx: Kysely<Database>, key: string, nowait: boolean): Promise<void> {
  const { family, parts } = parseKey(key);
  const mode = nowait ? sql`for update nowait` : sql`for update`;
  switch (family) {
    case 'point':
      await sql`select 1 from user_points where user_id = ${parts[0]} ${mode}`.execute(trx);
      return;
    case 'seat':
      await sql`select 1 from seats where schedule_id = ${parts[0]} and seat_no = ${Number(parts[1])} ${mode}`.execute(trx);
      return;
    case 'reservation':
      await sql`select 1 from reservations where id = ${parts[0]} ${mode}`.execute(trx);
      return;
    case 'user-seats':
      await sql`select 1 from user_schedule_seats where schedule_id = ${parts[0]} and user_id = ${parts[1]} ${mode}`.execute(trx);
      return;
    default:
      throw new Error(`no row stands for the lock key ${key}`);
  }
}

export const rowLocks: InsideTransaction = async (trx, groups, work) => {
  for (const group of groups) {
    for (const key of group.keys) await lockRow(trx, key, group.wait.kind === 'fail-fast');
  }
  return work();
};

/**
 * `pg_advisory_xact_lock(hashtext(key))`: any key, with or without a row
 * (hashtext is 32 bits: two keys of a run sharing a hash would only
 * serialise more, never less). One statement per `withLock` call's keys,
 * taken in their sorted order.
 */
export const advisoryLocks: InsideTransaction = async (trx, groups, work) => {
  for (const group of groups) {
    if (group.wait.kind === 'fail-fast') {
      const { rows } = await sql<{ ok: boolean }>`
        select bool_and(pg_try_advisory_xact_lock(hashtext(k))) as ok from unnest(${group.keys}::text[]) with ordinality as t(k, n)`.execute(trx);
      if (rows[0]?.ok !== true) throw new LockBusyError(group.keys.join(','));
    } else {
      await sql`select pg_advisory_xact_lock(hashtext(k)) from unnest(${group.keys}::text[]) with ordinality as t(k, n) order by n`.execute(trx);
    }
  }
  return work();
};
