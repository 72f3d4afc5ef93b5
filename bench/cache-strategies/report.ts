/**
 * reports/cache-strategies.md and its charts: the answer first (which
 * strategy wins on this run and why, judged by the rule written out below),
 * then the table, then the method. Every number comes from the run.
 */
import { CATALOG_TTL_MS, SEAT_MAP_REFRESH_MS } from '../../core/usecases/catalog/catalog-cache.js';
import { REFRESH_BURST, staleLimitMs } from '../../core/support/cache-freshness.js';
import { barChart, formatNumber } from '../svg.js';
import type { Bar } from '../svg.js';
import type { CandidateRun } from './candidate.js';
import type { StalenessFigures } from './staleness.js';
import type { StrategiesResults } from './bench.js';

export const STRATEGIES_REPORT = 'cache-strategies.md';
export const STRATEGIES_CHARTS = { loads: 'cache-strategies-loads.svg', served: 'cache-strategies-served.svg', staleness: 'cache-strategies-staleness.svg' } as const;

/** A committed change must show within this (issue 9, API.md). */
export const STALENESS_BOUND_MS = 1_000;

/**
 * The design's bound on one seat map's loads over `seconds`, cluster-wide
 * (DESIGN.md, "During a sale", refresh): the bucket's burst, one per
 * interval, and one per expiry of the entry's TTL (jittered down by at most 10 %).
 */
export function loadBound(seconds: number): number {
  return REFRESH_BURST + (seconds * 1000) / SEAT_MAP_REFRESH_MS + Math.ceil((seconds * 1000) / (0.9 * CATALOG_TTL_MS.seats));
}

/** The same bound over one scrape interval of `seconds` (≈ 1 s): burst + refills, and one expiry at most. */
const intervalBound = (seconds: number) => REFRESH_BURST + (seconds * 1000) / SEAT_MAP_REFRESH_MS + 1;

export interface Judged {
  readonly run: CandidateRun;
  readonly loadsPerS: number;
  readonly bound: number;
  readonly withinLoadBound: boolean;
  /** The most loads in one scrape interval, and whether every interval kept its bound. */
  readonly maxIntervalLoads: number;
  readonly intervalsWithin: boolean;
  readonly withinStaleness: boolean;
  readonly qualifies: boolean;
  /** (hit + stale) / every seat-map cache event. */
  readonly served: number;
  readonly fresh: number;
  readonly staleShare: number;
}

const sum = (events: Readonly<Record<string, number>>) => Object.values(events).reduce((a, b) => a + b, 0);

const stalenessHolds = (s: StalenessFigures) => s.unseen === 0 && s.regressions === 0 && !(s.max > STALENESS_BOUND_MS);

export function judge(run: CandidateRun): Judged {
  const { cache } = run;
  const all = sum(cache.seatEvents);
  const bound = loadBound(cache.seconds);
  const intervalsWithin = cache.seatLoadsPerInterval.every((i) => i.loads <= intervalBound(i.seconds));
  const withinLoadBound = cache.seatLoads <= bound;
  const withinStaleness = stalenessHolds(run.seatStaleness) && stalenessHolds(run.availabilityStaleness);
  return {
    run,
    loadsPerS: cache.seatLoads / cache.seconds,
    bound,
    withinLoadBound,
    maxIntervalLoads: Math.max(0, ...cache.seatLoadsPerInterval.map((i) => i.loads)),
    intervalsWithin,
    withinStaleness,
    qualifies: withinLoadBound && intervalsWithin && withinStaleness,
    served: all === 0 ? Number.NaN : ((cache.seatEvents.hit ?? 0) + (cache.seatEvents.stale ?? 0)) / all,
    fresh: all === 0 ? Number.NaN : (cache.seatEvents.hit ?? 0) / all,
    staleShare: all === 0 ? Number.NaN : (cache.seatEvents.stale ?? 0) / all,
  };
}

const f = formatNumber;
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'n/a');
const ms = (x: number) => (Number.isFinite(x) ? `${f(x)}` : 'n/a');
const staleCell = (s: StalenessFigures) =>
  `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)} (≤ ${ms(s.upperMax)})${s.unseen > 0 ? ` (${s.unseen} of ${s.samples} not seen)` : ''}${s.regressions > 0 ? ` (${s.regressions} went back)` : ''}`;

/** The most a change of either view was witnessed stale, ms. */
const worstStaleness = (j: Judged) => Math.max(j.run.seatStaleness.max, j.run.availabilityStaleness.max);
/** How finely staleness was seen: the slower of the two probe cycles, ms. */
const precision = (j: Judged) => Math.max(j.run.seatStaleness.probeCycleP50, j.run.availabilityStaleness.probeCycleP50);

/**
 * Better first: the most headroom under the staleness bound (what is left
 * to tell them apart once both bounds hold); within the probes' precision
 * that is a tie, and the fewer loads wins.
 */
function rank(a: Judged, b: Judged): number {
  return staleTie(a, b) ? a.loadsPerS - b.loadsPerS : worstStaleness(a) - worstStaleness(b);
}

function staleTie(a: Judged, b: Judged): boolean {
  return Math.abs(worstStaleness(a) - worstStaleness(b)) <= Math.max(precision(a), precision(b));
}

/**
 * The winner among the strategies run at the maximal read rate: of those
 * that hold both bounds (loads within the design's bound, over the window
 * and in every second; no change witnessed stale past 1 s, seat map and
 * availableSeats), the one with the most headroom under the staleness
 * bound, and on a tie (within a probe cycle) the fewest loads.
 */
function verdict(judged: readonly Judged[], r: StrategiesResults): string[] {
  const maximal = judged.filter((j) => j.run.candidate.readRate === undefined && j.run.candidate.strategy !== 'none');
  const none = judged.find((j) => j.run.candidate.strategy === 'none');
  const qualified = maximal.filter((j) => j.qualifies).sort(rank);
  const winner = qualified[0];
  const out: string[] = [];
  const line = (j: Judged) =>
    `\`${j.run.candidate.strategy}\`: ${f(j.loadsPerS)} seat-map loads/s (bound ${f(j.bound / j.run.cache.seconds)}/s), ${pct(j.served)} of reads from the cache, ` +
    `${f(j.run.reads.perS)} reads/s, staleness p99 ${ms(j.run.seatStaleness.p99)} ms / max ${ms(j.run.seatStaleness.max)} ms`;
  if (winner === undefined) {
    out.push(`**No strategy held both bounds on this run.** ${maximal.map((j) => `${line(j)}${j.qualifies ? '' : ` — fails: ${failures(j).join(', ')}`}`).join('; ')}.`);
  } else {
    const others = maximal.filter((j) => j !== winner);
    out.push(
      `**\`${winner.run.candidate.strategy}\` wins on this run**: ${line(winner)}${none === undefined ? '' : `, against ${f(none.loadsPerS)} loads/s and ${f(none.run.reads.perS)} reads/s with no cache`}.`,
      '',
      ...others.map((j) => `- ${line(j)}${j.qualifies ? ` — holds both bounds too; ranks lower (${staleTie(j, winner) ? 'as fresh within the probes\' precision, more loads' : `changes witnessed stale up to ${ms(worstStaleness(j))} ms, ${ms(STALENESS_BOUND_MS - worstStaleness(j))} ms under the bound, against ${ms(worstStaleness(winner))} ms`})` : ` — fails: ${failures(j).join(', ')}`}.`),
    );
    if (winner.run.candidate.strategy !== 'refresh') {
      out.push('', `\`refresh\` (the shipped default) did **not** win this run: ${judged.find((j) => j.run.candidate.strategy === 'refresh' && j.run.candidate.readRate === undefined)?.qualifies ? 'it held both bounds, but ranked below the winner (above)' : 'it broke a bound (above)'}; \`SEAT_MAP_CACHE_STRATEGY=${winner.run.candidate.strategy}\` would serve this workload better.`);
    }
  }
  const light = judged.filter((j) => j.run.candidate.strategy === 'refresh');
  if (light.length > 1) {
    out.push(
      '',
      `\`refresh\` at ${light.length} read rates: ${light.map((j) => `${f(j.run.reads.perS)} reads/s → ${f(j.loadsPerS)} loads/s, most in one second ${j.maxIntervalLoads} (bound ${j.withinLoadBound && j.intervalsWithin ? 'held' : '**broken**'})`).join('; ')}; the design's bound is ${REFRESH_BURST} + ${1000 / SEAT_MAP_REFRESH_MS}/s whatever the read rate.`,
    );
  }
  const maximalRefresh = light.find((j) => j.run.candidate.readRate === undefined);
  if (maximalRefresh !== undefined && light.some((j) => j !== maximalRefresh && j.run.reads.perS > 0.8 * maximalRefresh.run.reads.perS)) {
    out.push('', `_The maximal \`refresh\` run did not read clearly faster than the rate-limited one (the machine, not the setting, decided the rates): on this run they do not show how loads follow the read rate._`);
  }
  const short = judged.filter((j) => j.run.writes.writesPerS < 0.8 * j.run.writes.targetPerS);
  if (short.length > 0) {
    const perWrite = judged.find((j) => j.run.candidate.strategy === 'delete');
    out.push(
      '',
      `**The machine did not give the aimed-at write rate** (${r.settings.writesPerS} writes/s): ${short.map((j) => `${j.run.candidate.name} ${f(j.run.writes.writesPerS)}/s`).join(', ')}.` +
        (perWrite === undefined ? '' : ` \`delete\` made ${f(perWrite.run.cache.seatLoads / Math.max(1, perWrite.run.writes.reserves + perWrite.run.writes.payments))} seat-map loads per committed write: at ${r.settings.writesPerS} writes/s that is about ${f((perWrite.run.cache.seatLoads / Math.max(1, perWrite.run.writes.reserves + perWrite.run.writes.payments)) * r.settings.writesPerS)} loads/s, against the bound's ${1000 / SEAT_MAP_REFRESH_MS}/s sustained.`),
    );
  }
  if (r.quick) out.push('', '_BENCH_QUICK: shortened windows; figures too noisy to publish._');
  return out;
}

function failures(j: Judged): string[] {
  const out: string[] = [];
  if (!j.withinLoadBound) out.push(`${j.run.cache.seatLoads} loads > bound ${f(j.bound)} over ${f(j.run.cache.seconds)} s`);
  else if (!j.intervalsWithin) out.push(`${j.maxIntervalLoads} loads in one second`);
  for (const [name, s] of [
    ['seat map', j.run.seatStaleness],
    ['availableSeats', j.run.availabilityStaleness],
  ] as const) {
    if (s.max > STALENESS_BOUND_MS) out.push(`${name} staleness max ${ms(s.max)} ms > ${STALENESS_BOUND_MS} ms`);
    if (s.unseen > 0) out.push(`${s.unseen} ${name} changes not seen within ${r0(j)} s`);
    if (s.regressions > 0) out.push(`${name} went back in time ${s.regressions} times`);
  }
  return out;
}
const r0 = (j: Judged) => f(j.run.cache.seconds);

export function renderStrategiesReport(r: StrategiesResults): string {
  const judged = r.runs.map(judge);
  const s = r.settings;
  const out: string[] = [
    '# Seat-map cache strategies during a sale',
    '',
    `Written by \`tsx bench/cache-strategies.ts\` (also run by \`npm run bench\`) on ${r.date.toISOString()}, in ${r.elapsedS.toFixed(0)} s. DESIGN.md, "During a sale"; issue 9.`,
    '',
    '## Answer',
    '',
    ...verdict(judged, r),
    '',
    '## Figures',
    '',
    '| candidate | seat-map reads/s (p50 / p99 ms) | writes/s (aimed at) | seat-map loads/s, cluster (most in 1 s) | bound over the window | from the cache: all / fresh / stale | seat-map staleness p50 / p99 / max ms (upper bound of the max) | availableSeats staleness p50 / p99 / max ms (upper bound) | machine CPU busy |',
    '|---|---|---|---|---|---|---|---|---|',
    ...judged.map((j) => {
      const run = j.run;
      return (
        `| ${run.candidate.name} | ${f(run.reads.perS)} (${ms(run.reads.p50)} / ${ms(run.reads.p99)}) | ${f(run.writes.writesPerS)} (${run.writes.targetPerS}) | ${f(j.loadsPerS)} (${j.maxIntervalLoads}) | ` +
        `${run.cache.seatLoads} ≤ ${f(j.bound)}: ${j.withinLoadBound && j.intervalsWithin ? 'held' : '**broken**'} | ${pct(j.served)} / ${pct(j.fresh)} / ${pct(j.staleShare)} | ` +
        `${staleCell(run.seatStaleness)} | ${staleCell(run.availabilityStaleness)} | ${pct(run.machineBusy)} |`
      );
    }),
    '',
    `![seat-map loads per second](${STRATEGIES_CHARTS.loads})`,
    '',
    `![seat-map reads served from the cache](${STRATEGIES_CHARTS.served})`,
    '',
    `![staleness p99](${STRATEGIES_CHARTS.staleness})`,
    '',
    '### Writes and probes',
    '',
    '| candidate | reserves / payments | seat-map loads per committed write | write p50 / p99 ms | refused | seat-map changes sampled | availableSeats changes sampled | probe cycle p50 ms | seat-map events (all instances) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...judged.map(({ run }) => {
      const refused = Object.entries(run.writes.refused).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
      const events = Object.entries(run.cache.seatEvents).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
      return (
        `| ${run.candidate.name} | ${run.writes.reserves} / ${run.writes.payments}${run.writes.ranOut ? ' (seats ran out)' : ''} | ${f(run.cache.seatLoads / Math.max(1, run.writes.reserves + run.writes.payments))} | ${ms(run.writes.p50)} / ${ms(run.writes.p99)} | ${refused} | ` +
        `${run.seatStaleness.samples} | ${run.availabilityStaleness.samples} | ${ms(run.seatStaleness.probeCycleP50)} | ${events} |`
      );
    }),
    '',
    '## Method',
    '',
    `- **Candidates**: the cache off (\`CACHE_ENABLED=false\`, every read loads), then \`SEAT_MAP_CACHE_STRATEGY=delete\`, \`ttl\` and \`refresh\` at the maximal read rate, then \`refresh\` again with the reads held to ${judged.find((j) => j.run.candidate.readRate !== undefined)?.run.candidate.readRate ?? 'n/a'} a second, to show its loads do not follow the read rate.`,
    `- **Same workload for each**: ${s.instances} service instances (\`app/main.ts\` as deployed, separate processes, pool of 10 each) on the shared Postgres (a database of this bench's own, dropped at the end) and Redis (a key prefix of each run's own, deleted at the end); a fresh schedule of ${s.seats} seats per run (the most one schedule may have), warmed by one read per instance; a window of ${s.durationS} s.`,
    `- **Writes**: ${s.writers} buyers, each reserving the next free seat and paying for it at once, paced together to ${s.writesPerS} writes/s (a reserve and a payment are two; more would run out of seats before the window ends), on every instance but the last. Each keeps one hold on another schedule, so its payments never spend its queue token.`,
    `- **Reads**: GET /schedules/{id}/seats from a process of its own (autocannon, ${s.readConnections} connections per instance, all ${s.instances} instances), as many as they answer, or at a set overall rate; the rate is 2xx answers over the window, latency of the 2xx answers.`,
    `- **Loads**: the sum over the instances of \`cache_loads_total{family="seats"}\` deltas, scraped every second (the most in one scrape interval shown in brackets). Only this schedule's seat map is read in the window, so these are its loads. The bound (DESIGN.md): ${REFRESH_BURST} + ${1000 / SEAT_MAP_REFRESH_MS} per second (the refresh token bucket), plus one per expiry of the ${CATALOG_TTL_MS.seats / 1000} s TTL; per scrape interval, ${REFRESH_BURST} + ${1000 / SEAT_MAP_REFRESH_MS} × its length + 1. The same bar is applied to every candidate.`,
    `- **From the cache**: of the seat-map \`cache_events_total\` of the window, summed over the instances (one event per read, the probers' included): all = (hit + stale) / (hit + stale + miss + error + bypass); fresh = hit / that; stale = stale / that. A miss is a read that found no usable entry, whether it then loaded or waited for the load of another reader (in the process or, under the lease, in the cluster); with the cache off, every read is a bypass.`,
    `- **Staleness**: every committed change of the window (a reserve's HELD, a payment's SOLD; the moment its 2xx reached the writer) is checked by a prober on the last instance, which the writers do not use, polling the seat map every ${s.probeGapMs} ms (another one polls GET /concerts/{id}/schedules: after the k-th reserve's 201, availableSeats must be at most ${s.seats} − k). A probe sent after a change's 2xx that still shows the old state is a stale read, witnessed: a change's staleness is the latest such probe's send time minus the 2xx (0 if the first probe after it already showed it). In brackets, the upper bound: when the first probe showing it was sent. The two differ by at most one probe cycle (shown below; a busy machine makes it long), and the witnessed figure is never above the truth. The 2xx arrives a little after the commit, so both err low by that much. Changes not seen ${s.settleMs / 1000} s after the window count as not seen; a probe showing a seat (or availableSeats) older than an earlier probe did counts as "went back". Bound: ${STALENESS_BOUND_MS} ms (issue 9); \`refresh\` promises ${staleLimitMs(SEAT_MAP_REFRESH_MS)} ms.`,
    `- **The winner**: among the strategies run at the maximal read rate, those that held both bounds (loads within the bound over the window and in every second; no seat-map or availableSeats change witnessed stale longer than ${STALENESS_BOUND_MS} ms, none unseen, none going back); of those, the one with the most headroom under the staleness bound (the lowest witnessed maximum of either view), and within a probe cycle of each other (a tie: the probes cannot tell them apart) the one with the fewest loads per second.`,
    `- **Machine**: ${r.machine}. Everything (Postgres, Redis, the ${s.instances} instances, the reader, the writers and probers) shares its cores: the CPU column says how busy it was in each window; near 100 %, reads/s is the machine's limit, not the cache's.`,
    '',
  ];
  return out.join('\n');
}

export function renderStrategiesCharts(r: StrategiesResults): Record<string, string> {
  const judged = r.runs.map(judge);
  const kind = (j: Judged): Bar['kind'] => (j.run.candidate.strategy === 'none' ? 'reference' : 'measured');
  const seconds = Math.max(...r.runs.map((run) => run.cache.seconds));
  return {
    [STRATEGIES_CHARTS.loads]: barChart({
      title: 'Seat-map database loads per second, 3 instances, during the sale',
      unit: 'loads/s',
      log: true,
      bars: [...judged.map((j) => ({ label: j.run.candidate.name, value: j.loadsPerS, kind: kind(j) })), { label: 'bound (refresh design)', value: loadBound(seconds) / seconds, kind: 'ceiling' as const }],
    }),
    [STRATEGIES_CHARTS.served]: barChart({
      title: 'Seat-map reads served from the cache (hit + stale), %',
      unit: '%',
      bars: judged.map((j) => ({ label: j.run.candidate.name, value: Number.isFinite(j.served) ? j.served * 100 : 0, kind: kind(j) })),
    }),
    [STRATEGIES_CHARTS.staleness]: barChart({
      title: 'Seat-map staleness p99, witnessed (2xx of a write → last probe still showing the old state)',
      unit: 'ms',
      bars: [
        ...judged.map((j) => ({ label: j.run.candidate.name, value: j.run.seatStaleness.p99, kind: kind(j) })),
        { label: 'bound (issue 9)', value: STALENESS_BOUND_MS, kind: 'ceiling' as const },
        { label: 'refresh promise', value: staleLimitMs(SEAT_MAP_REFRESH_MS), kind: 'ceiling' as const },
      ],
    }),
  };
}
