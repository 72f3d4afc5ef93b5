/**
 * The "Failure" section of reports/benchmark.md, from bench/failure.ts's
 * figures: the answer first (did every run keep every invariant, every
 * buyer and every bound), then the full-scale sell-out with and without a
 * fault, then one row per fault, then the method.
 */
import type { FailureFigures } from './failure.js';
import { WINDOW_AFTER_MS } from './sellout/faults.js';
import type { Longest } from './sellout/faults.js';
import { OUTCOME_KINDS } from './sellout/outcomes.js';
import type { SelloutResult } from './sellout/summary.js';
import { brokenBounds, FAULT_PROMISES } from './sellout/summary.js';

const n = (value: number): string => value.toLocaleString('en-US');
const s = (seconds: number | undefined): string => (seconds === undefined ? '–' : `${seconds.toFixed(1)} s`);
const pct = (part: number, whole: number): string => (whole === 0 ? '–' : `${((part / whole) * 100).toFixed(1)} %`);
const cell = (text: string): string => text.replace(/\|/g, '\\|');
const longest = (l: Longest | undefined): string => (l === undefined ? '–' : `${s(l.ms / 1_000)} (${l.route}, ${l.answer})`);

function invariantsCell(r: SelloutResult): string {
  const broken = r.invariants.filter((check) => !check.ok);
  return broken.length === 0 ? `all ${r.invariants.length} hold` : `**${broken.length} BROKEN**: ${broken.map((check) => check.name).join('; ')}`;
}

function soldCell(r: SelloutResult): string {
  if (r.soldOut) return `sold out in ${s(r.timing.soldOutS)}`;
  return `${n(r.database.seats.sold)} of ${n(r.database.seats.total)} sold`;
}

/** Every run whose verdict is not clean, in words. */
function troubles(all: readonly SelloutResult[]): string[] {
  const found: string[] = [];
  for (const r of all) {
    const name = r.fault.kind === 'none' ? `no fault, ${n(r.settings.buyers)} buyers` : `${r.fault.kind}, ${n(r.settings.buyers)} buyers`;
    if (r.fault.kind !== 'none' && !r.fault.injected) found.push(`${name}: the fault was not injected (${r.fault.detail})`);
    if (r.invariants.some((check) => !check.ok)) found.push(`${name}: invariants broken`);
    if (!r.accounted) found.push(`${name}: buyers unaccounted for`);
    for (const bound of brokenBounds(r.longestRequest, r.fault)) found.push(`${name}: ${bound}`);
  }
  return found;
}

function answer(f: FailureFigures): string {
  const all = [f.full.none, f.full.fault, ...f.drills];
  const found = troubles(all);
  const recoveries = f.drills.map((r) => r.fault.recoveryS).filter((value): value is number => value !== undefined);
  const worstRecovery = recoveries.length === 0 ? undefined : Math.max(...recoveries);
  const slowest = Math.max(...all.map((r) => r.longestRequest?.ms ?? 0));
  const bound = f.full.none.fault.requestBoundMs;
  const headline =
    found.length === 0
      ? `**Every invariant held in all ${all.length} sell-outs, faults included; every buyer was accounted for; no request outlived the ${bound / 1_000} s request bound** (the slowest took ${s(slowest / 1_000)}).`
      : `**${found.length} problem(s)**: ${found.join('; ')}.`;
  const full = f.full;
  return [
    headline,
    `At full scale (${n(full.none.settings.buyers)} buyers for ${n(full.none.database.seats.total)} seats, 3 instances) the sale ${soldCell(full.none)} without a fault and ${soldCell(full.fault)} with one instance killed (SIGKILL) once half the seats were sold.`,
    worstRecovery === undefined
      ? ''
      : `Across the ${f.drills.length} faults, the first sale write succeeded at most ${s(worstRecovery)} after the fault ended.`,
  ]
    .filter((line) => line !== '')
    .join(' ');
}

function errorsCell(r: SelloutResult): string {
  const shown = r.errors.slice(0, 6).map((e) => `${e.answer} × ${n(e.count)}`);
  return shown.length === 0 ? 'none' : `${shown.join(', ')}${r.errors.length > shown.length ? ', …' : ''}`;
}

function fullScaleTable(f: FailureFigures): string[] {
  const { none, fault } = f.full;
  const row = (name: string, a: string, b: string): string => `| ${name} | ${cell(a)} | ${cell(b)} |`;
  return [
    `| | no fault | ${f.full.fault.settings.fault} |`,
    '|---|---|---|',
    row('sold', soldCell(none), soldCell(fault)),
    row('half / 90 % of the seats sold, as the buyers saw it', `${s(none.timing.halfSoldSeenS)} / ${s(none.timing.ninetyPercentSoldSeenS)}`, `${s(fault.timing.halfSoldSeenS)} / ${s(fault.timing.ninetyPercentSoldSeenS)}`),
    row('sale ran', `${s(none.timing.saleS)} (${none.timing.endedBy})`, `${s(fault.timing.saleS)} (${fault.timing.endedBy})`),
    ...OUTCOME_KINDS.map((kind) => row(`buyers: ${kind}`, n(none.outcomes.byKind[kind]), n(fault.outcomes.byKind[kind]))),
    row('buyers accounted for', `${n(none.outcomes.total)} of ${n(none.settings.buyers)}`, `${n(fault.outcomes.total)} of ${n(fault.settings.buyers)}`),
    row('requests', n(none.client.requests), n(fault.client.requests)),
    row('errors by code (retries included)', errorsCell(none), errorsCell(fault)),
    row('sent again to another instance / places in line taken again', `${n(none.client.failovers)} / ${n(none.client.requeued)}`, `${n(fault.client.failovers)} / ${n(fault.client.requeued)}`),
    row('the fault', '–', fault.fault.injected ? `at ${s(fault.fault.atS)}: ${fault.fault.detail}; first sale write ${s(fault.fault.recoveryS)} after` : fault.fault.detail),
    row(`longest request (bound: ${none.fault.requestBoundMs / 1_000} s)`, longest(none.longestRequest), longest(fault.longestRequest)),
    row('invariants (read from Postgres)', invariantsCell(none), invariantsCell(fault)),
  ];
}

function drillTable(f: FailureFigures): string[] {
  return [
    `| fault | recovery | 503 in the window | 5xx or no answer | longest request in the window (bound) | the fault's own bound | invariants | buyers | sold |`,
    '|---|---:|---:|---:|---|---|---|---|---|',
    ...f.drills.map((r) => {
      const x = r.fault;
      const fact = x.fact === undefined ? '–' : `${x.fact.name}: ${s(x.fact.valueMs / 1_000)} (≤ ${x.fact.boundMs / 1_000} s: ${x.fact.ok ? 'within' : '**BROKEN**'})`;
      const within = x.longestDuring === undefined || x.longestDuring.ms <= x.requestBoundMs ? 'within' : '**BROKEN**';
      const cells = [
        x.injected ? x.kind : `${x.kind} (**not injected**)`,
        x.recoveryS === undefined ? '**none**' : s(x.recoveryS),
        `${pct(x.unavailableDuring, x.requestsDuring)} of ${n(x.requestsDuring)}`,
        pct(x.failedDuring, x.requestsDuring),
        `${longest(x.longestDuring)} (≤ ${x.requestBoundMs / 1_000} s: ${within})`,
        fact,
        invariantsCell(r),
        r.accounted ? `${n(r.outcomes.total)} accounted for, ${n(r.outcomes.byKind.errored)} errored, ${n(r.client.requeued)} queued again` : '**unaccounted**',
        soldCell(r),
      ];
      return `| ${cells.map(cell).join(' | ')} |`;
    }),
  ];
}

function whatEachDid(f: FailureFigures): string {
  return f.drills.map((r) => `- \`${r.fault.kind}\`: ${FAULT_PROMISES[r.fault.kind]} This run: ${r.fault.detail}.`).join('\n');
}

function method(f: FailureFigures): string {
  const full = f.full.none.settings;
  const drill = f.drills[0]?.settings ?? full;
  return [
    `Each row is \`npm run sellout\` (bench/sellout/): ${full.instances} service processes (app/main.ts as \`npm start\` runs it, its own SIGTERM handling included) on one Postgres (a database of its own) and one Redis (a key prefix of its own, or for a Redis fault a redis-server of its own, AOF on except for redis-restart-empty), a crowd of buyers who queue, read the seat map, hold 1 to 4 seats, top up and pay (${full.abandonRate * 100} % let their holds run out, ${full.walkAwayRate * 100} % walk away from the line), retrying 503s and silences for up to 15 s. Invariants are read from Postgres after every instance has stopped.`,
    `Full scale: ${n(full.buyers)} buyers, ${full.concurrency} in flight, holds of ${full.holdSeconds} s, seed ${full.seed}. Drills: ${n(drill.buyers)} buyers, holds of ${drill.holdSeconds} s, the same seed (as the runs of test/integration/sellout-faults.integration.test.ts). The fault is injected once half the seats are sold (in the drills ${drill.faultAfterSeconds ?? '?'} s into the sale if that comes first: on a busy machine a small sale may sell half late or never); the Redis faults last ${f.full.none.settings.faultDowntimeSeconds} s, postgres-terminate terminates every backend of the sale's database every 200 ms for as long, row-lock-stall holds its row locks for the lock lease plus 2 s.`,
    `Recovery: from the fault's end (Redis answering again, the stall released, the instance gone) to the first reserve, payment or charge answered 2xx. The window: from the fault's start to ${WINDOW_AFTER_MS / 1_000} s after its end; its requests count retries. The longest request is timed by the buyer, answered or not, against the service's HTTP request timeout (app/time-bounds.ts): a request past it hung on something unbounded. The load generator shares the machine's cores with the three instances, Redis and Postgres: recovery times include its queueing.`,
    `Again: \`tsx bench/failure.ts\` runs this section alone (${f.elapsedS.toFixed(0)} s here); \`npm run sellout -- --fault KIND\` one run.`,
  ].join('\n\n');
}

export function renderFailure(f: FailureFigures): string {
  return [
    '## Failure: the sell-out under faults',
    f.quick ? `> **Shortened run (BENCH_QUICK=true):** ${n(f.full.none.settings.buyers)} buyers at "full scale", not 10,000.` : '',
    answer(f),
    `### Full scale: ${n(f.full.none.settings.buyers)} buyers, with and without ${f.full.fault.settings.fault}`,
    fullScaleTable(f).join('\n'),
    `Why ${f.full.fault.settings.fault} at full scale: a crash leaves seat and wallet locks held until their leases end and resets a third of the crowd's connections mid-request (writes retried elsewhere, some already committed), the hardest of the faults on the sale's invariants; a Redis restart on its AOF loses nothing by design, and is in the table below.`,
    `### One small sell-out per fault`,
    drillTable(f).join('\n'),
    whatEachDid(f),
    `### Method`,
    method(f),
  ]
    .filter((part) => part !== '')
    .join('\n\n');
}
