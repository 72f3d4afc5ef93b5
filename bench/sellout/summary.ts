/**
 * The sell-out's result, and its rendering as markdown (printed, and
 * written as sellout.md beside sellout.json). Leads with the answer: did it
 * sell out and how fast, do the invariants hold, is every buyer accounted
 * for; then the buyers, the errors, the database, the requests, the method.
 */
import type { FaultReport, Longest } from './faults.js';
import { WINDOW_AFTER_MS } from './faults.js';
import type { ServiceSettings } from './fleet.js';
import type { Check, DatabaseState } from './invariants.js';
import { UNSWEPT_AFTER_S } from './invariants.js';
import type { FaultKind, SelloutOptions } from './options.js';
import { REDIS_FAULTS } from './options.js';
import type { OutcomeCounts } from './outcomes.js';
import { OUTCOME_KINDS } from './outcomes.js';
import { RETRY_BUDGET_MS } from './service-client.js';
import type { SweeperFigures } from './sweeper-figures.js';

/** What DESIGN.md's "Failure model" promises under each fault, as the summary states it beside the figures. */
export const FAULT_PROMISES: Readonly<Record<FaultKind, string>> = {
  none: 'no fault.',
  'redis-restart': 'Redis shut down and started again on its AOF: writes 503 while it is down, the line keeps its order, full service within seconds of its return.',
  'redis-restart-empty':
    'Redis shut down and started again with nothing: a lock holder whose lease vanished rolls back; the line has lost every token, so buyers queue again (counted as places lost).',
  'redis-pause': 'Redis hung (SIGSTOP): writes 503 bounded by the command timeout, reads go to Postgres once the cache breaker opens; full service once it resumes.',
  'postgres-terminate': 'every backend of the sale’s database terminated mid-sale: their transactions roll back, requests answer 503, the pools reconnect.',
  'row-lock-stall':
    'another session holds the rows a payment writes (every wallet, every HELD seat) past a lease: lock and statement timeouts end the requests with 409 or 503, never a hang, never a commit after a lease or a hold ended.',
  'kill-instance': 'one instance SIGKILLed holding locks: the others proceed once its leases end; its holds end on time; its buyers move to another instance.',
  'sigterm-instance': 'one instance SIGTERMed: requests in flight finish, it exits within the shutdown bound; its buyers move to another instance.',
};

export type EndedBy = 'all buyers done' | 'max-seconds' | 'interrupted';

export interface RouteFigures {
  readonly route: string;
  readonly answered: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface ErrorFigure {
  /** `409 SEAT_UNAVAILABLE`, `503 SERVICE_UNAVAILABLE`, `no answer ECONNRESET`. */
  readonly answer: string;
  readonly count: number;
  /** A lost race (the sale working as designed) rather than an error. */
  readonly race: boolean;
}

export interface SelloutResult {
  readonly date: string;
  readonly settings: Omit<SelloutOptions, 'redisUrl' | 'databaseUrl' | 'progress'>;
  readonly service: ServiceSettings;
  readonly machine: { readonly cpus: number; readonly loadAverageAtStart: readonly number[]; readonly node: string };
  readonly timing: {
    /** Signing the buyers' access tokens, before anything starts. */
    readonly signS: number;
    /** Database, Redis, instances started and the catalog made. */
    readonly setupS: number;
    /** From the sale's opening to its end. */
    readonly saleS: number;
    readonly endedBy: EndedBy;
    /** When the buyers saw the last seat's payment succeed. */
    readonly soldOutSeenS: number | undefined;
    /** When the buyers had seen half, and 90 %, of the seats sold: the first rush, before returning holds. */
    readonly halfSoldSeenS: number | undefined;
    readonly ninetyPercentSoldSeenS: number | undefined;
    /** When the last seat's payment committed (Postgres), if every seat is SOLD. */
    readonly soldOutS: number | undefined;
  };
  readonly outcomes: OutcomeCounts;
  /** The outcomes add up to the buyers. */
  readonly accounted: boolean;
  readonly errors: readonly ErrorFigure[];
  readonly routes: readonly RouteFigures[];
  readonly client: { readonly requests: number; readonly requeued: number; readonly failovers: number; readonly acknowledgedPayments: number };
  readonly fault: FaultReport;
  /** The longest any request of the run took, answered or not. */
  readonly longestRequest: Longest | undefined;
  readonly sweeper: SweeperFigures;
  readonly database: DatabaseState;
  readonly invariants: readonly Check[];
  readonly soldOut: boolean;
  /** Why not every seat is SOLD; undefined when it is. */
  readonly notSoldOutBecause: string | undefined;
  /** Every invariant holds, every buyer is accounted for, and no time bound was broken (brokenBounds): the sell-out's exit status. */
  readonly ok: boolean;
}

const n = (value: number): string => value.toLocaleString('en-US');
const s = (seconds: number): string => `${seconds.toFixed(1)} s`;
const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : '–');
const pct = (part: number, whole: number): string => (whole === 0 ? '–' : `${((part / whole) * 100).toFixed(1)} %`);
const cell = (text: string): string => text.replace(/\|/g, '\\|');
const longest = (l: Longest): string => `${s(l.ms / 1_000)} (${l.route}, ${l.answer})`;

/**
 * The time bounds the run broke, in words; none when it kept them all: no
 * request past the service's request bound (a longer one hung on something
 * unbounded), and the fault's own promised time (a SIGTERMed instance's
 * exit) within its bound.
 */
export function brokenBounds(longestRequest: Longest | undefined, fault: FaultReport): string[] {
  const broken: string[] = [];
  if (longestRequest !== undefined && longestRequest.ms > fault.requestBoundMs) {
    broken.push(`a request took ${longest(longestRequest)}, past the ${fault.requestBoundMs / 1_000} s request bound`);
  }
  if (fault.fact !== undefined && !fault.fact.ok) {
    broken.push(`${fault.fact.name}: ${s(fault.fact.valueMs / 1_000)}, past its ${fault.fact.boundMs / 1_000} s bound`);
  }
  return broken;
}

function headline(r: SelloutResult): string[] {
  const seats = r.database.seats;
  const lines: string[] = [];
  if (r.soldOut && r.timing.soldOutS !== undefined) {
    const seen = r.timing.soldOutSeenS === undefined ? '' : `; the buyers saw it at ${s(r.timing.soldOutSeenS)}`;
    lines.push(`**Sold out in ${s(r.timing.soldOutS)}**: the last of ${n(seats.total)} seats was paid ${s(r.timing.soldOutS)} after the sale opened${seen}.`);
  } else {
    lines.push(`**Not sold out**: ${n(seats.sold)} of ${n(seats.total)} seats SOLD (${n(seats.available)} AVAILABLE, ${n(seats.held)} HELD at the end): ${r.notSoldOutBecause ?? ''}`);
  }
  if (r.timing.halfSoldSeenS !== undefined) lines.push(`${rush(r)}.`);
  const failing = r.invariants.filter((check) => !check.ok);
  lines.push(
    failing.length === 0
      ? `Every invariant holds (${r.invariants.length} of ${r.invariants.length}, read from Postgres after the instances stopped).`
      : `**INVARIANTS BROKEN: ${failing.length} of ${r.invariants.length}** (${failing.map((check) => check.name).join('; ')}).`,
  );
  lines.push(
    r.accounted
      ? `Every buyer is accounted for: ${n(r.outcomes.total)} outcomes for ${n(r.settings.buyers)} buyers.`
      : `**Buyers unaccounted for**: ${n(r.outcomes.total)} outcomes for ${n(r.settings.buyers)} buyers.`,
  );
  const broken = brokenBounds(r.longestRequest, r.fault);
  const slowest = r.longestRequest === undefined ? 'no request was sent' : `the longest took ${longest(r.longestRequest)}`;
  lines.push(
    broken.length === 0
      ? `No request outlived its bound: ${slowest}, against the service's ${r.fault.requestBoundMs / 1_000} s request timeout.`
      : `**TIME BOUNDS BROKEN**: ${broken.join('; ')}.`,
  );
  lines.push(`The sale ran ${s(r.timing.saleS)} (${r.timing.endedBy}), ${n(r.client.requests)} requests (${n(Math.round(r.client.requests / Math.max(r.timing.saleS, 0.001)))}/s).`);
  if (r.fault.kind !== 'none') lines.push('', faultLine(r.fault));
  return lines;
}

/** The first rush against the tail: the last seats of a sale are mostly holds that ran out and came back. */
function rush(r: SelloutResult): string {
  const { halfSoldSeenS: half, ninetyPercentSoldSeenS: ninety } = r.timing;
  const parts = [half === undefined ? undefined : `half the seats sold at ${s(half)}`, ninety === undefined ? undefined : `90 % at ${s(ninety)}`];
  return `As the buyers saw it: ${parts.filter((part) => part !== undefined).join(', ')} (holds last ${r.service.holdTtlSeconds} s: seats whose holds ran out came back after that)`;
}

function faultLine(f: FaultReport): string {
  if (!f.injected) return `Fault ${f.kind}: ${f.detail}.`;
  const recovery = f.recoveryS === undefined ? 'no sale write succeeded after it' : `the first sale write succeeded ${s(f.recoveryS)} after it ended`;
  return (
    `Fault ${f.kind} at ${s(f.atS ?? 0)} (${f.trigger}): ${f.detail}; ${recovery}; ` +
    `${pct(f.unavailableDuring, f.requestsDuring)} of the ${n(f.requestsDuring)} requests from the fault to ${WINDOW_AFTER_MS / 1_000} s after it were answered 503 ` +
    `(${n(f.failedDuring)} failed in all: 5xx or no answer). Details under "Fault".`
  );
}

/** The fault's figures, one per row: what the bench's failure table and a reader checking a bound need. */
function faultTable(r: SelloutResult): string[] {
  const f = r.fault;
  if (f.kind === 'none') return [];
  const rows: [string, string][] = [
    ['what', f.detail],
    ['when', f.injected ? `${s(f.atS ?? 0)} into the sale (${f.trigger}), over at ${s(f.endS ?? 0)}` : 'not injected (see what)'],
    ['recovery: fault over → first sale write (reserve, pay, charge) answered 2xx', f.recoveryS === undefined ? '**none**' : s(f.recoveryS)],
    [`requests from the fault to ${WINDOW_AFTER_MS / 1_000} s after it`, n(f.requestsDuring)],
    ['… answered 503', `${n(f.unavailableDuring)} (${pct(f.unavailableDuring, f.requestsDuring)})`],
    ['… answered 409 LOCK_BUSY', `${n(f.lockBusyDuring)} (${pct(f.lockBusyDuring, f.requestsDuring)})`],
    ['… 5xx or no answer', `${n(f.failedDuring)} (${pct(f.failedDuring, f.requestsDuring)}), of which no answer ${n(f.unansweredDuring)}`],
    [
      '… the longest, against the request bound',
      f.longestDuring === undefined
        ? '–'
        : `${longest(f.longestDuring)}; bound ${f.requestBoundMs / 1_000} s: ${f.longestDuring.ms <= f.requestBoundMs ? 'within' : '**BROKEN**'}`,
    ],
  ];
  if (f.fact !== undefined) rows.push([f.fact.name, `${s(f.fact.valueMs / 1_000)}; bound ${f.fact.boundMs / 1_000} s: ${f.fact.ok ? 'within' : '**BROKEN**'}`]);
  return ['## Fault', '', `\`--fault ${f.kind}\`: ${FAULT_PROMISES[f.kind]}`, '', '| | |', '|---|---|', ...rows.map(([name, value]) => `| ${cell(name)} | ${cell(value)} |`)];
}

function buyersTable(r: SelloutResult): string[] {
  const o = r.outcomes;
  const rows = OUTCOME_KINDS.map((kind) => `| ${kind} | ${n(o.byKind[kind])} | ${pct(o.byKind[kind], o.total)} |`);
  const details = Object.entries(o.byDetail)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, count]) => `| ${cell(key)} | ${n(count)} |`);
  return [
    '## Buyers',
    '',
    `Seats bought, as the buyers saw it: ${n(o.seatsBought)} (the database: ${n(r.database.seats.sold)} SOLD). ` +
      `Places in line lost and taken again: ${n(r.client.requeued)}. Requests sent again to another instance after no answer: ${n(r.client.failovers)}.`,
    '',
    '| outcome | buyers | share |',
    '|---|---:|---:|',
    ...rows,
    `| **total** | **${n(o.total)}** | of ${n(r.settings.buyers)} buyers |`,
    '',
    '| outcome: detail | buyers |',
    '|---|---:|',
    ...details,
  ];
}

function errorsTable(r: SelloutResult): string[] {
  if (r.errors.length === 0) return ['## Errors by code', '', 'Every request was answered 2xx.'];
  return [
    '## Errors by code',
    '',
    'Every answer that was not 2xx, and every request that got none (retries included).',
    '',
    '| answer | count | kind |',
    '|---|---:|---|',
    ...r.errors.map((e) => `| ${cell(e.answer)} | ${n(e.count)} | ${e.race ? 'lost race' : 'error'} |`),
  ];
}

function invariantsTable(r: SelloutResult): string[] {
  return [
    '## Invariants',
    '',
    'Read from the sell-out’s database with pg after every instance had stopped; each is one statement returning the rows that break it.',
    '',
    '| check | result |',
    '|---|---|',
    ...r.invariants.map((c) => `| ${cell(c.name)} | ${c.ok ? 'holds' : `**${n(c.violations)} violations**: ${cell(c.examples.join('; '))}`} |`),
  ];
}

function databaseSection(r: SelloutResult): string[] {
  const d = r.database;
  const reservations = Object.entries(d.reservations)
    .map(([status, count]) => `${n(count)} ${status}`)
    .join(', ');
  return [
    '## The database at the end',
    '',
    `Seats: ${n(d.seats.sold)} SOLD, ${n(d.seats.held)} HELD, ${n(d.seats.available)} AVAILABLE of ${n(d.seats.total)}. ` +
      `Reservations: ${reservations || 'none'}. Payments: ${n(d.payments)} (the buyers were told of ${n(r.client.acknowledgedPayments)}).`,
    '',
    `Holds that ran out: ${n(d.reservations.EXPIRED ?? 0)} EXPIRED, of which the sweepers of ${r.sweeper.instancesRead} instance(s) still answering released ` +
      `${n(r.sweeper.released)} (reserving a seat whose hold had ended expires that hold too). ` +
      `PENDING holds that ended more than ${UNSWEPT_AFTER_S} s before the check: ${n(d.unsweptEndedHolds)}` +
      (d.unsweptEndedHolds > 0 ? ' (**no sweeper released them**: not an invariant, a sign of sweepers that lag or stopped).' : '.'),
  ];
}

function routesTable(r: SelloutResult): string[] {
  return [
    '## Requests',
    '',
    'Latency of answered requests as the buyers saw it (load generator and service on the same cores).',
    '',
    '| route | answered | p50 ms | p99 ms |',
    '|---|---:|---:|---:|',
    ...r.routes.map((route) => `| ${route.route} | ${n(route.answered)} | ${ms(route.p50Ms)} | ${ms(route.p99Ms)} |`),
  ];
}

function method(r: SelloutResult): string[] {
  const o = r.settings;
  const v = r.service;
  const fault = o.fault === 'none' ? '' : ` --fault ${o.fault}${o.faultAfterSeconds === undefined ? '' : ` --fault-after ${o.faultAfterSeconds}`}`;
  return [
    '## Method',
    '',
    `${n(o.buyers)} buyers, each a user with an access token signed in advance, at most ${n(o.concurrency)} in flight, spread over ${o.instances} service ` +
      `processes (app/main.ts) on one Postgres (a database of its own) and one Redis (${REDIS_FAULTS.includes(o.fault) ? `a server of its own, ${o.fault === 'redis-restart-empty' ? 'no persistence' : 'AOF'}` : 'a key prefix of its own'}). ` +
      `One concert, ${o.schedules} schedule(s) of ${o.seatsPerSchedule} seats, made through the admin API. ` +
      `Each buyer: looks at the seats (sold out: goes home), takes a queue token, polls it about every second (every third poll also looks at the seats), ` +
      `once ACTIVE reads the seat map and tries to hold 1 to ${v.maxSeatsPerUser} AVAILABLE seats, charges exactly their price and pays each hold with an Idempotency-Key, ` +
      `then leaves the line. ${pct(o.walkAwayRate, 1)} of those who queue walk away (stop polling within 2 polls, never return); ${pct(o.abandonRate, 1)} of holders never pay and let their holds run out. ` +
      `Every request that gets a 503 (or IDEMPOTENCY_IN_PROGRESS, or LOCK_BUSY on a charge or payment) or no answer is retried, on another instance after no answer, for up to ${RETRY_BUDGET_MS / 1_000} s.`,
    '',
    `Service: HOLD_TTL_SECONDS ${v.holdTtlSeconds}, QUEUE_TOKEN_TTL_SECONDS ${v.tokenTtlSeconds}, QUEUE_PRESENCE_TIMEOUT_SECONDS ${v.presenceTimeoutSeconds}, ` +
      `QUEUE_ACTIVE_MAX ${v.activeMax}, QUEUE_ADMIT_INTERVAL_MS ${v.admitIntervalMs}, MAX_SEATS_PER_USER ${v.maxSeatsPerUser}, DATABASE_POOL_SIZE ${v.poolSize}.`,
    `Machine: ${r.machine.cpus} CPUs, load average ${r.machine.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')} at the start, Node ${r.machine.node}. ` +
      `Signing ${n(o.buyers)} tokens took ${s(r.timing.signS)}, starting everything ${s(r.timing.setupS)}. ${r.date}.`,
    '',
    `Again: \`npm run sellout -- --buyers ${o.buyers} --schedules ${o.schedules} --seats ${o.seatsPerSchedule} --instances ${o.instances} --concurrency ${o.concurrency} ` +
      `--walk-away ${o.walkAwayRate} --abandon ${o.abandonRate} --hold-seconds ${o.holdSeconds} --max-seconds ${o.maxSeconds}${fault} --seed ${o.seed}\` ` +
      '(the same choices per buyer; the interleaving is the machine’s).',
  ];
}

export function renderSummary(r: SelloutResult): string {
  const o = r.settings;
  const title = `# Sell-out: ${n(o.buyers)} buyers, ${o.schedules} × ${n(o.seatsPerSchedule)} seats, ${o.instances} instances${o.fault === 'none' ? '' : `, fault: ${o.fault}`}`;
  const sections = [[title, '', ...headline(r)], faultTable(r), buyersTable(r), errorsTable(r), invariantsTable(r), databaseSection(r), routesTable(r), method(r)];
  return `${sections
    .filter((lines) => lines.length > 0)
    .map((lines) => lines.join('\n'))
    .join('\n\n')}\n`;
}
