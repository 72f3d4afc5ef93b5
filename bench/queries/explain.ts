/**
 * EXPLAIN (ANALYZE, BUFFERS) of captured statements, with the parameters
 * they were sent with, on the big database. A statement inside a
 * transaction is replayed inside one too, after the statements that came
 * before it in that transaction, and the transaction is rolled back: writes
 * run for real (ANALYZE executes them) and leave nothing behind.
 */
import type pg from 'pg';
import type { SentStatement } from './recording-pool.js';

export interface Plan {
  /** The plan, trimmed to its nodes and the lines that say how rows were found. */
  readonly lines: readonly string[];
  /** Indexes the plan reads (scans and ON CONFLICT arbiters). */
  readonly indexes: readonly string[];
  /** Tables read by a sequential scan. */
  readonly seqScans: readonly string[];
  readonly executionMs: number;
  readonly planningMs: number;
  /** Shared buffers the top node touched (hit + read): pages, whatever the cache held. */
  readonly buffers: number;
}

export interface ExplainedStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
  /** How many times the action sent this text. */
  readonly sent: number;
  readonly inTransaction: boolean;
  /** Absent for BEGIN, COMMIT and the like. */
  readonly plan?: Plan;
}

const EXPLAINABLE = /^\s*(select|insert|update|delete|with)\b/i;
const BEGIN = /^\s*(begin|start transaction)\b/i;

/** The lines of a plan worth reading; Output, Planning buffers and the like are left out. */
const KEEP = /(->|^\S|Index Cond|Filter|Rows Removed|Sort Key|Sort Method|Presorted|Heap Fetches|Conflict|Hash Cond|Join Filter|Recheck Cond|Tuples Inserted|Conflicting Tuples|Execution Time|Planning Time)/;

export function parsePlan(text: readonly string[]): Plan {
  const indexes = new Set<string>();
  const seqScans = new Set<string>();
  let executionMs = Number.NaN;
  let planningMs = Number.NaN;
  let buffers = Number.NaN;
  for (const line of text) {
    for (const m of line.matchAll(/Index (?:Only )?Scan(?: Backward)? using (\S+) on/g)) indexes.add(m[1]!);
    for (const m of line.matchAll(/Bitmap Index Scan on (\S+)/g)) indexes.add(m[1]!);
    const arbiter = /Conflict Arbiter Indexes: (.+)$/.exec(line);
    if (arbiter) for (const name of arbiter[1]!.split(',')) indexes.add(name.trim());
    for (const m of line.matchAll(/Seq Scan on (\S+)/g)) seqScans.add(m[1]!);
    const exec = /Execution Time: ([\d.]+) ms/.exec(line);
    if (exec) executionMs = Number(exec[1]);
    const plan = /Planning Time: ([\d.]+) ms/.exec(line);
    if (plan) planningMs = Number(plan[1]);
    // The first Buffers line belongs to the top node: everything below it is included.
    const buf = /^\s*Buffers: (.+)$/.exec(line);
    if (buf && Number.isNaN(buffers)) {
      buffers = [...buf[1]!.matchAll(/(?:hit|read)=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    }
  }
  return { lines: text.filter((line) => KEEP.test(line) && !/^Planning:/.test(line.trim())), indexes: [...indexes], seqScans: [...seqScans], executionMs, planningMs, buffers: Number.isNaN(buffers) ? 0 : buffers };
}

export async function explain(client: pg.ClientBase, sql: string, params: readonly unknown[]): Promise<Plan> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${sql}`, [...params]);
  return parsePlan(rows.map((row) => row['QUERY PLAN']));
}

interface Unit {
  readonly transaction: boolean;
  readonly statements: readonly SentStatement[];
}

/** Standalone statements one by one; a transaction's statements together, BEGIN to COMMIT. */
function units(statements: readonly SentStatement[]): Unit[] {
  const out: Unit[] = [];
  let open: SentStatement[] | undefined;
  for (const statement of statements) {
    if (BEGIN.test(statement.sql)) open = [];
    if (open !== undefined) {
      open.push(statement);
      if (/^\s*(commit|rollback)\b/i.test(statement.sql)) {
        out.push({ transaction: true, statements: open });
        open = undefined;
      }
    } else {
      out.push({ transaction: false, statements: [statement] });
    }
  }
  if (open !== undefined) out.push({ transaction: true, statements: open });
  return out;
}

/**
 * One entry per distinct statement text of an action, in the order first
 * sent, with how often it was sent and the plan of its first sending. A
 * transaction is replayed only when it holds a text not planned yet (one
 * sweep transaction stands for the hundred alike).
 */
export async function explainAction(client: pg.ClientBase, statements: readonly SentStatement[]): Promise<ExplainedStatement[]> {
  const sent = new Map<string, number>();
  for (const statement of statements) sent.set(statement.sql, (sent.get(statement.sql) ?? 0) + 1);
  const plans = new Map<string, Plan | undefined>();
  const firstOf = new Map<string, SentStatement>();
  for (const unit of units(statements)) {
    if (unit.statements.every((statement) => plans.has(statement.sql))) continue;
    if (unit.transaction) await client.query('begin isolation level read committed');
    try {
      for (const statement of unit.statements) {
        if (!EXPLAINABLE.test(statement.sql)) {
          if (!plans.has(statement.sql)) plans.set(statement.sql, undefined);
          firstOf.set(statement.sql, firstOf.get(statement.sql) ?? statement);
          continue;
        }
        const plan = await explain(client, statement.sql, statement.params);
        if (!plans.has(statement.sql)) {
          plans.set(statement.sql, plan);
          firstOf.set(statement.sql, statement);
        }
      }
    } finally {
      if (unit.transaction) await client.query('rollback');
    }
  }
  return [...firstOf.values()].map((statement) => ({
    sql: statement.sql,
    params: statement.params,
    sent: sent.get(statement.sql) ?? 0,
    inTransaction: statement.inTransaction,
    ...(plans.get(statement.sql) === undefined ? {} : { plan: plans.get(statement.sql)! }),
  }));
}

export interface Timed {
  /** The median run's plan. */
  readonly plan: Plan;
  /** Execution time of each run, ms, ascending. */
  readonly runsMs: readonly number[];
  readonly medianMs: number;
}

/**
 * A statement run `repeat` times under EXPLAIN ANALYZE, each in a
 * transaction that is rolled back, optionally after dropping an index in it
 * (the plan the database would choose without that index, and nothing is
 * lost: DROP INDEX rolls back too).
 */
export async function timeStatement(
  client: pg.ClientBase,
  sql: string,
  params: readonly unknown[],
  options: { readonly repeat: number; readonly withoutIndex?: string },
): Promise<Timed> {
  const runs: Plan[] = [];
  for (let i = 0; i < options.repeat; i++) {
    await client.query('begin');
    try {
      if (options.withoutIndex !== undefined) await client.query(`drop index ${options.withoutIndex}`);
      runs.push(await explain(client, sql, params));
    } finally {
      await client.query('rollback');
    }
  }
  const sorted = [...runs].sort((a, b) => a.executionMs - b.executionMs);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { plan: median, runsMs: sorted.map((run) => run.executionMs), medianMs: median.executionMs };
}
