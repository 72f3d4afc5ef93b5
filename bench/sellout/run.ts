/**
 * One sell-out, start to finish: sign the buyers' tokens, start the fleet,
 * put the concert on sale, open the sale (the crowd, the progress line, the
 * fault), stop the instances, check the invariants in Postgres, and remove
 * everything the run made, whichever way it ended. `npm run sellout` and
 * the integration test both call this.
 */
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { signAccessTokens, summarise } from '../support.js';
import { createSale } from './catalog.js';
import type { SignedBuyer } from './crowd.js';
import { runCrowd } from './crowd.js';
import type { FaultReport } from './faults.js';
import { FaultInjector, longestOf } from './faults.js';
import { startFleet } from './fleet.js';
import { sweeperFigures } from './sweeper-figures.js';
import { checkInvariants } from './invariants.js';
import type { SelloutOptions } from './options.js';
import type { Outcome } from './outcomes.js';
import { countOutcomes } from './outcomes.js';
import { showProgress } from './progress.js';
import { Random } from './random.js';
import { ServiceClient } from './service-client.js';
import type { EndedBy, ErrorFigure, RouteFigures, SelloutResult } from './summary.js';
import { brokenBounds } from './summary.js';
import { isRaceCode, Tally } from './tally.js';

export interface RunHooks {
  /** Setup and teardown messages (not the progress line). */
  readonly log: (message: string) => void;
  /** Aborting it ends the sale early (Ctrl-C): buyers still going are counted as timed out, and everything is cleaned up. */
  readonly interrupt?: AbortSignal;
}

export async function runSellout(options: SelloutOptions, hooks: RunHooks): Promise<SelloutResult> {
  const { log } = hooks;
  const loadAverageAtStart = os.loadavg();
  const runId = Math.random().toString(36).slice(2, 8);
  const userIds = Array.from({ length: options.buyers }, (_, i) => `sellout-${runId}-${i}`);

  const setupStarted = performance.now();
  const fleet = await startFleet(options, log);
  try {
    // Signed with this run's secret, before the sale opens: the crowd's CPU goes to requests only.
    const signStarted = performance.now();
    const tokens = await signAccessTokens(fleet.authSecret, userIds);
    const signS = (performance.now() - signStarted) / 1_000;
    const buyers: SignedBuyer[] = userIds.map((userId, i) => ({ userId, accessToken: tokens[i]! }));
    const sale = await createSale(fleet.urls[0]!, fleet.adminToken, options.schedules, options.seatsPerSchedule);
    const setupS = (performance.now() - setupStarted) / 1_000 - signS;
    log(`${fleet.urls.length} instances up (${fleet.urls.join(', ')}), concert ${sale.concertId} on sale; opening the sale to ${options.buyers} buyers`);

    const tally = new Tally(options.schedules * options.seatsPerSchedule);
    const stop = new AbortController();
    // Every request and every pause of every buyer in flight listens to it: hundreds at once, by design.
    setMaxListeners(0, stop.signal);
    let endedBy: EndedBy = 'all buyers done';
    const deadline = setTimeout(() => {
      endedBy = 'max-seconds';
      stop.abort();
    }, options.maxSeconds * 1_000);
    const onInterrupt = (): void => {
      endedBy = 'interrupted';
      stop.abort();
    };
    // Interrupted while starting: the sale opens and ends at once, and everything is still checked and removed.
    if (hooks.interrupt?.aborted === true) onInterrupt();
    hooks.interrupt?.addEventListener('abort', onInterrupt, { once: true });
    const client = new ServiceClient(fleet.urls, tally, stop.signal);
    const fault = new FaultInjector(options.fault, fleet, tally, options.faultAfterSeconds, options.faultDowntimeSeconds, log);

    const openedAtWallMs = Date.now();
    tally.open();
    fault.arm();
    const hideProgress = showProgress(tally, options.buyers, options.progress);
    const rules = {
      walkAwayRate: options.walkAwayRate,
      abandonRate: options.abandonRate,
      maxSeatsPerUser: fleet.settings.maxSeatsPerUser,
      holdSeconds: fleet.settings.holdTtlSeconds,
    };
    let outcomes: Outcome[];
    let saleS: number;
    let faultReport: FaultReport;
    try {
      outcomes = await runCrowd({ client, tally, sale, rules, signal: stop.signal }, buyers, options.concurrency, new Random(options.seed));
      saleS = tally.elapsedMs() / 1_000;
    } finally {
      clearTimeout(deadline);
      hooks.interrupt?.removeEventListener('abort', onInterrupt);
      hideProgress();
      // Also on the way out of a failure: a Redis being restarted is back before the fleet is removed.
      faultReport = await fault.settle();
      client.close();
    }

    // Read before they stop: the counts live in the instances.
    const sweeper = await sweeperFigures(fleet.urls);
    // Stopped first: the checks then read a database nothing writes to any more (no sweeper between two statements).
    log('sale over; stopping the instances and checking the invariants in Postgres');
    await fleet.stopInstances();
    const { checks, state } = await checkInvariants(fleet.databaseUrl, fleet.settings.maxSeatsPerUser, tally.acknowledged);

    const counts = countOutcomes(outcomes);
    const longestRequest = longestOf(tally.longest);
    const soldOut = state.seats.sold === state.seats.total;
    // Named one by one: the command line's options object carries more (writeReport) than the sale's settings.
    const settings: SelloutResult['settings'] = {
      buyers: options.buyers,
      schedules: options.schedules,
      seatsPerSchedule: options.seatsPerSchedule,
      instances: options.instances,
      concurrency: options.concurrency,
      walkAwayRate: options.walkAwayRate,
      abandonRate: options.abandonRate,
      holdSeconds: options.holdSeconds,
      maxSeconds: options.maxSeconds,
      fault: options.fault,
      faultAfterSeconds: options.faultAfterSeconds,
      faultDowntimeSeconds: options.faultDowntimeSeconds,
      seed: options.seed,
    };
    const result: SelloutResult = {
      date: new Date(openedAtWallMs).toISOString(),
      settings,
      service: fleet.settings,
      machine: { cpus: os.cpus().length, loadAverageAtStart, node: process.version },
      timing: {
        signS,
        setupS,
        saleS,
        endedBy,
        soldOutSeenS: tally.soldOutAtMs === undefined ? undefined : tally.soldOutAtMs / 1_000,
        halfSoldSeenS: soldSeenS(tally, 0.5),
        ninetyPercentSoldSeenS: soldSeenS(tally, 0.9),
        soldOutS: soldOut && state.lastPaymentAtMs !== undefined ? (state.lastPaymentAtMs - openedAtWallMs) / 1_000 : undefined,
      },
      outcomes: counts,
      accounted: counts.total === options.buyers,
      errors: errorFigures(tally),
      routes: routeFigures(tally),
      client: {
        requests: [...tally.latencies.values()].reduce((sum, samples) => sum + samples.length, 0) + noAnswers(tally),
        requeued: tally.requeued,
        failovers: tally.failovers,
        acknowledgedPayments: tally.acknowledged.length,
      },
      fault: faultReport,
      longestRequest,
      sweeper,
      database: state,
      invariants: checks,
      soldOut,
      notSoldOutBecause: soldOut ? undefined : notSoldOutBecause(endedBy, options.maxSeconds, counts.byKind.errored),
      ok: checks.every((check) => check.ok) && counts.total === options.buyers && brokenBounds(longestRequest, faultReport).length === 0,
    };
    return result;
  } finally {
    await fleet.remove().catch((error: unknown) => log(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`));
  }
}

/** When the buyers had seen `share` of all seats sold, in s; undefined if they never did. */
function soldSeenS(tally: Tally, share: number): number | undefined {
  const at = tally.soldAtMs[Math.max(0, Math.ceil(share * tally.totalSeats) - 1)];
  return at === undefined ? undefined : at / 1_000;
}

function noAnswers(tally: Tally): number {
  let count = 0;
  for (const [answer, n] of tally.codes) if (answer.startsWith('no answer')) count += n;
  return count;
}

function errorFigures(tally: Tally): ErrorFigure[] {
  return [...tally.codes.entries()]
    .map(([answer, count]) => ({ answer, count, race: isRaceCode(answer.split(' ').at(-1)) }))
    .sort((a, b) => b.count - a.count);
}

function routeFigures(tally: Tally): RouteFigures[] {
  return [...tally.latencies.entries()]
    .map(([route, samples]) => {
      const latency = summarise(samples);
      return { route, answered: samples.length, p50Ms: latency.p50, p99Ms: latency.p99 };
    })
    .sort((a, b) => b.answered - a.answered);
}

function notSoldOutBecause(endedBy: EndedBy, maxSeconds: number, errored: number): string {
  const errors = errored > 0 ? ` ${errored} buyers errored.` : '';
  if (endedBy === 'max-seconds') return `the run reached --max-seconds (${maxSeconds} s) first.${errors}`;
  if (endedBy === 'interrupted') return `the run was interrupted.${errors}`;
  return (
    'every buyer was done first: the last seats came back (holds that ran out, abandoned or paid too late) after the last buyers had gone, ' +
    `or were still held by buyers who gave up. More buyers, or fewer abandoning, sell the rest.${errors}`
  );
}
