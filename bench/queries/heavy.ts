/**
 * The read queries that could degrade under heavy traffic, each timed on the
 * big database in the variants that tell why: before and after this
 * report's migration (the same statement), with and without the index an
 * earlier migration added for it (dropped inside a rolled-back transaction),
 * or against the shape the service does not use (OFFSET paging, no paging).
 * Each variant is the median of `repeat` runs of EXPLAIN (ANALYZE, BUFFERS).
 */
import type pg from 'pg';
import type { CapturedAction } from './capture.js';
import type { Plan } from './explain.js';
import { timeStatement } from './explain.js';

export interface Variant {
  readonly label: string;
  readonly medianMs: number;
  readonly runsMs: readonly number[];
  readonly plan: Plan;
}

export interface Candidate {
  readonly id: string;
  readonly title: string;
  readonly sql: string;
  readonly variants: readonly Variant[];
}

interface Found {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** The first statement of an action whose text matches. */
export function findStatement(actions: readonly CapturedAction[], action: string, pattern: RegExp): Found | undefined {
  return actions.find((a) => a.name === action)?.statements.find((statement) => pattern.test(statement.sql));
}

export const PATTERNS = {
  countPending: /count\(\*\) as "pending"/,
  liveOf: /"user_id" = \$1 and "schedule_id" = \$2 and "status" in/,
  schedules: /count\(seats\.seat_no\)/,
  history: /from "point_history"/,
  findEnded: /"status" = \$1 and "expires_at" <= \$2 order by "expires_at"/,
  listOfUser: /from "reservations" where "user_id" = \$1 order by "position" desc/,
  purge: /delete from idempotency_keys/,
} as const;

/** The statements whose plan depends on this report's migration: timed before it is applied, and again after. */
export const MIGRATION_SENSITIVE: readonly { id: string; title: string; action: string; pattern: RegExp }[] = [
  { id: 'pending-ordinary', title: "Paying: count of the buyer's PENDING holds (ordinary buyer)", action: 'pay', pattern: PATTERNS.countPending },
  { id: 'pending-heavy', title: "Paying: count of the buyer's PENDING holds (heaviest buyer)", action: 'pay (heavy buyer)', pattern: PATTERNS.countPending },
  { id: 'live-heavy', title: "Reserving: the buyer's live holds of the schedule (heaviest buyer)", action: 'reserve (heavy buyer)', pattern: PATTERNS.liveOf },
];

export async function timeMigrationSensitive(client: pg.ClientBase, actions: readonly CapturedAction[], label: string, repeat: number): Promise<Map<string, Variant>> {
  const out = new Map<string, Variant>();
  for (const c of MIGRATION_SENSITIVE) {
    const found = findStatement(actions, c.action, c.pattern);
    if (found === undefined) continue;
    const timed = await timeStatement(client, found.sql, found.params, { repeat });
    out.set(c.id, { label, medianMs: timed.medianMs, runsMs: timed.runsMs, plan: timed.plan });
  }
  return out;
}

/** The other candidates, on the current schema. */
export async function timeOtherCandidates(client: pg.ClientBase, actions: readonly CapturedAction[], repeat: number): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const time = async (label: string, sql: string, params: readonly unknown[], withoutIndex?: string): Promise<Variant> => {
    const timed = await timeStatement(client, sql, params, { repeat, ...(withoutIndex === undefined ? {} : { withoutIndex }) });
    return { label, medianMs: timed.medianMs, runsMs: timed.runsMs, plan: timed.plan };
  };

  const ordinary = findStatement(actions, 'schedules', PATTERNS.schedules);
  const large = findStatement(actions, 'schedules (large venue)', PATTERNS.schedules);
  if (ordinary !== undefined && large !== undefined) {
    out.push({
      id: 'availability',
      title: "Schedules' availableSeats: a count over every seat of the concert",
      sql: ordinary.sql,
      variants: [await time('10 schedules × 50 seats', ordinary.sql, ordinary.params), await time('10 schedules × 1,000 seats', large.sql, large.params)],
    });
  }

  const deep = findStatement(actions, 'history (heavy buyer, deep page)', PATTERNS.history);
  const first = findStatement(actions, 'history (heavy buyer)', PATTERNS.history);
  if (deep !== undefined && first !== undefined) {
    const userId = deep.params[0];
    const depth = await client.query<{ n: string }>('select count(*) as n from point_history where user_id = $1 and id >= $2', [userId, deep.params[1]]);
    const offset = Number(depth.rows[0]?.n ?? 0);
    const columns = 'select "id", "user_id", "kind", "amount", "balance_after", "created_at" from "point_history"';
    out.push({
      id: 'history',
      title: "Point history of the heaviest buyer: keyset pages against OFFSET and no paging",
      sql: deep.sql,
      variants: [
        await time('first page (keyset, as sent)', first.sql, first.params),
        await time(`page ${Math.round(offset / 50)} (keyset cursor, as sent)`, deep.sql, deep.params),
        await time(`same page by OFFSET ${offset} (not used)`, `${columns} where "user_id" = $1 order by "id" desc limit 51 offset ${offset}`, [userId]),
        await time('the whole history, unpaged (not used)', `${columns} where "user_id" = $1 order by "id" desc`, [userId]),
      ],
    });
  }

  // Statements an existing index serves: each timed with it and without it (dropped inside the rolled-back transaction).
  const indexed = [
    { id: 'sweeper', title: "The sweeper's scan for ended holds (a batch of 100)", action: 'expiry sweep', pattern: PATTERNS.findEnded, index: 'reservations_pending_expires_at_idx' },
    { id: 'reservations', title: "A buyer's reservations, first page (heaviest buyer)", action: 'reservations (heavy buyer)', pattern: PATTERNS.listOfUser, index: 'reservations_user_id_position_idx' },
    { id: 'purge', title: 'Idempotency-Key purge, one batch of 500', action: 'idempotency purge', pattern: PATTERNS.purge, index: 'idempotency_keys_created_at_idx' },
  ] as const;
  for (const { id, title, action, pattern, index } of indexed) {
    const statement = findStatement(actions, action, pattern);
    if (statement === undefined) continue;
    out.push({
      id,
      title,
      sql: statement.sql,
      variants: [await time(`with ${index}`, statement.sql, statement.params), await time('without it', statement.sql, statement.params, index)],
    });
  }
  return out;
}
