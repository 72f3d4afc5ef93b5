/**
 * The benchmark's "Failure" section: the sell-out (bench/sellout/) at full
 * scale without a fault and with one instance killed, then a small sell-out
 * per fault of FAULTS (every row of DESIGN.md's "Failure model" that a
 * running fleet can suffer). bench/run.ts calls benchFailure() and the
 * report renders it (failure-report.ts).
 *
 * Alone: `tsx bench/failure.ts [--out DIR]` runs just this section and
 * writes failure.md and failure.json to DIR (default: a new temporary
 * folder, printed). BENCH_QUICK=true cuts the full-scale crowd to 1,000
 * buyers: a check that it runs, not figures to publish.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { renderFailure } from './failure-report.js';
import type { FaultKind, SelloutOptions } from './sellout/options.js';
import { DEFAULTS, FAULTS } from './sellout/options.js';
import { runSellout } from './sellout/run.js';
import type { SelloutResult } from './sellout/summary.js';

/**
 * The fault of the full-scale run: the one hardest on correctness at full
 * load. A crash leaves seat and wallet locks held until their leases end,
 * resets a third of the crowd's connections in the middle of their
 * requests (writes retried on another instance, some of which had
 * committed), and takes that instance's sweeper with it. A Redis restart on
 * its AOF, the other fault `npm run sellout` has had from the start, loses
 * nothing by design; the drill table has it.
 */
export const FULL_SCALE_FAULT: FaultKind = 'kill-instance';

/** The small sell-out of each drill: the suite's (test/integration/sellout-faults), so the table and the tests measure one thing. */
export const DRILL_SCALE = { buyers: 200, holdSeconds: 4, maxSeconds: 60, faultAfterSeconds: 10 } as const;

/** The seed of every run: the same buyers' choices in each, so that the runs differ by their fault (and the machine's interleaving). */
const SEED = 20_240_601;

export interface FailureFigures {
  readonly quick: boolean;
  /** Full scale (DEFAULTS: 10,000 buyers, or 1,000 in a quick run), with and without FULL_SCALE_FAULT. */
  readonly full: { readonly none: SelloutResult; readonly fault: SelloutResult };
  /** One small sell-out per fault, in FAULTS's order. */
  readonly drills: readonly SelloutResult[];
  readonly elapsedS: number;
}

export interface FailureSetup {
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly quick: boolean;
  readonly log: (message: string) => void;
}

function options(setup: FailureSetup, fault: FaultKind, scale: Partial<SelloutOptions>): SelloutOptions {
  return {
    buyers: DEFAULTS.buyers,
    schedules: DEFAULTS.schedules,
    seatsPerSchedule: DEFAULTS.seatsPerSchedule,
    instances: DEFAULTS.instances,
    concurrency: DEFAULTS.concurrency,
    walkAwayRate: DEFAULTS.walkAwayRate,
    abandonRate: DEFAULTS.abandonRate,
    holdSeconds: DEFAULTS.holdSeconds,
    maxSeconds: DEFAULTS.maxSeconds,
    faultAfterSeconds: undefined,
    faultDowntimeSeconds: DEFAULTS.faultDowntimeSeconds,
    seed: SEED,
    redisUrl: setup.redisUrl,
    databaseUrl: setup.databaseUrl,
    progress: 'off',
    ...scale,
    fault,
  };
}

async function run(setup: FailureSetup, label: string, selloutOptions: SelloutOptions): Promise<SelloutResult> {
  setup.log(`failure: ${label}`);
  const started = performance.now();
  const result = await runSellout(selloutOptions, { log: (line) => setup.log(`  ${line}`) });
  setup.log(`failure: ${label} done in ${((performance.now() - started) / 1_000).toFixed(0)} s: ${result.ok ? 'ok' : 'NOT OK (see the report)'}`);
  return result;
}

export async function benchFailure(setup: FailureSetup): Promise<FailureFigures> {
  const started = performance.now();
  const full = setup.quick ? { buyers: 1_000 } : {};
  const none = await run(setup, `full scale, no fault`, options(setup, 'none', full));
  const fault = await run(setup, `full scale, ${FULL_SCALE_FAULT}`, options(setup, FULL_SCALE_FAULT, full));
  const drills: SelloutResult[] = [];
  for (const kind of FAULTS.filter((k) => k !== 'none')) drills.push(await run(setup, `drill ${kind}`, options(setup, kind, DRILL_SCALE)));
  return { quick: setup.quick, full: { none, fault }, drills, elapsedS: (performance.now() - started) / 1_000 };
}

/** Every run kept every invariant, accounted for every buyer, kept every bound, and had its fault. */
export function failureOk(figures: FailureFigures): boolean {
  return [figures.full.none, figures.full.fault, ...figures.drills].every((result) => result.ok && (result.fault.kind === 'none' || result.fault.injected));
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true });
  const log = (message: string): void => void process.stderr.write(`[failure] ${message}\n`);
  const figures = await benchFailure({
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    quick: process.env.BENCH_QUICK === 'true',
    log,
  });
  const dir = values.out ?? (await mkdtemp(path.join(os.tmpdir(), 'bench-failure-')));
  await mkdir(dir, { recursive: true });
  const markdown = renderFailure(figures);
  await writeFile(path.join(dir, 'failure.md'), markdown);
  await writeFile(path.join(dir, 'failure.json'), `${JSON.stringify(figures, null, 2)}\n`);
  process.stdout.write(`${markdown}\n`);
  log(`written to ${path.join(dir, 'failure.md')} and failure.json`);
  return failureOk(figures) ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = await main();
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  }
}
