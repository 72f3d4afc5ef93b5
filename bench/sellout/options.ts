/**
 * What a sell-out run is told: the flags of `npm run sellout` and their
 * defaults, parsed into one read-only object that runSellout() takes (the
 * integration test builds the same object without a command line).
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MAX_SEATS_PER_SCHEDULE } from '../../core/domain/catalog.js';

/**
 * One per row of DESIGN.md's "Failure model" that a running fleet can
 * suffer (the data-folder row is the embedded mode's, not the fleet's): the
 * sell-out is the "under load" form of each drill (bench/sellout/faults.ts
 * says what each one does).
 */
export const FAULTS = [
  'none',
  'redis-restart',
  'redis-restart-empty',
  'redis-pause',
  'postgres-terminate',
  'row-lock-stall',
  'kill-instance',
  'sigterm-instance',
] as const;
export type FaultKind = (typeof FAULTS)[number];

/** Faults that take one instance away: a survivor must carry on. */
export const INSTANCE_FAULTS: readonly FaultKind[] = ['kill-instance', 'sigterm-instance'];
/** Faults on the sell-out's own redis-server (the shared one is never stopped). */
export const REDIS_FAULTS: readonly FaultKind[] = ['redis-restart', 'redis-restart-empty', 'redis-pause'];

export interface SelloutOptions {
  /** Simulated buyers, each a user of their own with a pre-signed access token. */
  readonly buyers: number;
  /** Schedules of the one concert: the scale of the sale. */
  readonly schedules: number;
  readonly seatsPerSchedule: number;
  /** Service processes, all on one Redis and one Postgres. */
  readonly instances: number;
  /** Buyers in flight at once; the next one arrives when one finishes. */
  readonly concurrency: number;
  /** Share of buyers who take a queue token, poll a little, then stop polling and never come back. */
  readonly walkAwayRate: number;
  /** Share of holders who never pay and let their holds run out. */
  readonly abandonRate: number;
  /** HOLD_TTL_SECONDS of every instance: short, so that abandoned seats come back within the run. */
  readonly holdSeconds: number;
  /** The whole sale stops after this long; buyers still going are counted as timed out. */
  readonly maxSeconds: number;
  readonly fault: FaultKind;
  /** The fault comes once half the seats are sold, or this many seconds after the sale opens if that is sooner; undefined: half sold only. */
  readonly faultAfterSeconds: number | undefined;
  /** redis-restart, redis-restart-empty, redis-pause: how long Redis stays down (or paused); postgres-terminate: how long backends keep being terminated. */
  readonly faultDowntimeSeconds: number;
  /** Seeds every random choice of the buyers (not the interleaving, which the machine decides). */
  readonly seed: number;
  readonly redisUrl: string;
  readonly databaseUrl: string;
  /** The live progress line: `\r`-refreshed on a terminal, a plain line every few seconds otherwise, or none. */
  readonly progress: 'tty' | 'lines' | 'off';
}

export interface CliOptions extends SelloutOptions {
  /** Write reports/sellout.md and reports/sellout.json; otherwise a temporary folder, whose path is printed. */
  readonly writeReport: boolean;
}

export const DEFAULTS = {
  buyers: 10_000,
  schedules: 1,
  seatsPerSchedule: 50,
  instances: 3,
  // A few hundred in flight: a crowd large enough to keep the line long, small enough for 2 cores shared with the service.
  concurrency: 300,
  walkAwayRate: 0.05,
  abandonRate: 0.1,
  holdSeconds: 10,
  maxSeconds: 180,
  faultDowntimeSeconds: 2,
} as const;

const USAGE = `npm run sellout -- [flags]
  --buyers N            simulated buyers (default ${DEFAULTS.buyers})
  --schedules N         schedules of ${DEFAULTS.seatsPerSchedule} seats (default ${DEFAULTS.schedules})
  --seats N             seats per schedule (default ${DEFAULTS.seatsPerSchedule})
  --instances N         service processes (default ${DEFAULTS.instances})
  --concurrency N       buyers in flight at once (default ${DEFAULTS.concurrency})
  --walk-away F         share of buyers in line who walk away for good (default ${DEFAULTS.walkAwayRate})
  --abandon F           share of holders who let their holds run out (default ${DEFAULTS.abandonRate})
  --hold-seconds N      HOLD_TTL_SECONDS (default ${DEFAULTS.holdSeconds})
  --max-seconds N       stop the sale after this long (default ${DEFAULTS.maxSeconds})
  --fault KIND          ${FAULTS.join(' | ')} (default none)
  --fault-after S       inject the fault S seconds into the sale at the latest (default: once half the seats are sold)
  --fault-downtime S    seconds Redis stays down or paused (redis-*), or backends keep being terminated (postgres-terminate) (default ${DEFAULTS.faultDowntimeSeconds})
  --seed N              seed of the buyers' random choices (default: random, printed)
  --write-report        write reports/sellout.md and .json (default: a temporary folder)
  --no-progress         no live line on stderr`;

/** A bad command line, or `--help` (`problem` undefined): the message ends with the usage. */
export class UsageError extends Error {
  constructor(readonly problem: string | undefined) {
    super(problem === undefined ? USAGE : `${problem}\n\n${USAGE}`);
    this.name = 'UsageError';
  }
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return Number(raw);
}

function share(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) throw new UsageError(`--${name} must be a number from 0 to 1`);
  return value;
}

function seconds(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) throw new UsageError(`--${name} must be a number of seconds, 0 or more`);
  return value;
}

/** The command line and the environment (REDIS_URL, DATABASE_URL as for tests and the bench) into options; throws UsageError. */
export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, stderrIsTty: boolean): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        buyers: { type: 'string' },
        schedules: { type: 'string' },
        seats: { type: 'string' },
        instances: { type: 'string' },
        concurrency: { type: 'string' },
        'walk-away': { type: 'string' },
        abandon: { type: 'string' },
        'hold-seconds': { type: 'string' },
        'max-seconds': { type: 'string' },
        fault: { type: 'string' },
        'fault-after': { type: 'string' },
        'fault-downtime': { type: 'string' },
        seed: { type: 'string' },
        'write-report': { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) throw new UsageError(undefined);
  const fault = values.fault ?? 'none';
  if (!(FAULTS as readonly string[]).includes(fault)) throw new UsageError(`--fault must be one of ${FAULTS.join(', ')}`);
  const holdSeconds = integer('hold-seconds', values['hold-seconds'], DEFAULTS.holdSeconds, 1, 3_600);
  return {
    buyers: integer('buyers', values.buyers, DEFAULTS.buyers, 1, 1_000_000),
    schedules: integer('schedules', values.schedules, DEFAULTS.schedules, 1, 1_000),
    seatsPerSchedule: integer('seats', values.seats, DEFAULTS.seatsPerSchedule, 1, MAX_SEATS_PER_SCHEDULE),
    // kill-instance and sigterm-instance need a survivor to carry on.
    instances: integer('instances', values.instances, DEFAULTS.instances, INSTANCE_FAULTS.includes(fault as FaultKind) ? 2 : 1, 16),
    concurrency: integer('concurrency', values.concurrency, DEFAULTS.concurrency, 1, 5_000),
    walkAwayRate: share('walk-away', values['walk-away'], DEFAULTS.walkAwayRate),
    abandonRate: share('abandon', values.abandon, DEFAULTS.abandonRate),
    holdSeconds,
    maxSeconds: integer('max-seconds', values['max-seconds'], DEFAULTS.maxSeconds, 1, 24 * 3_600),
    fault: fault as FaultKind,
    faultAfterSeconds: seconds('fault-after', values['fault-after']),
    faultDowntimeSeconds: seconds('fault-downtime', values['fault-downtime']) ?? DEFAULTS.faultDowntimeSeconds,
    seed: integer('seed', values.seed, randomInt(2 ** 31), 0, 2 ** 31 - 1),
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    databaseUrl: env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    progress: values['no-progress'] === true ? 'off' : stderrIsTty ? 'tty' : 'lines',
    writeReport: values['write-report'] === true,
  };
}
