import { fileURLToPath } from 'node:url';
import { load } from './http-load.js';
import type { LoadResult } from './http-load.js';
import type { Buckets } from './metrics.js';
import { diff, parseHistogram, parseValue, quantile, settled, total } from './metrics.js';
import { busyShare, machineCpu, startChild } from './support.js';

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));

export interface LockStats {
  /** Estimated from the child's histogram buckets, ms. */
  readonly holdP50: number;
  readonly holdP99: number;
  readonly waitP50: number;
  readonly waitP99: number;
  readonly acquired: number;
  /** Refused after the wait policy's 2 s: LOCK_BUSY. */
  readonly busy: number;
}

export interface ChargeRun {
  readonly load: LoadResult;
  readonly lock: LockStats;
  /** Log lines the child wrote during the run (LOG_LEVEL=warn: warnings and errors only). */
  readonly logLines: number;
  /** The service process's CPU (its process_cpu_seconds_total) over the window: cores in use, and ms per answered request. */
  readonly serviceCores: number;
  readonly serviceCpuMsPerRequest: number;
  /** Share of the whole machine busy meanwhile, 0..1. */
  readonly machineBusy: number;
}

export interface ChargeFigures {
  readonly distinct: ChargeRun;
  /** Absent for the embedded mode, which runs distinct users only. */
  readonly hot?: ChargeRun;
}

export interface ChargeOptions {
  /** Environment of the service child: DATABASE_URL, REDIS_URL, ... (unset ones mean embedded). */
  readonly env: Record<string, string | undefined>;
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly hotUser: boolean;
  /** Keeps user ids of separate runs (Redis mode, embedded mode) apart. */
  readonly tag: string;
}

/** Starts the service in a child process and loads POST /users/{id}/points/charge: distinct users, then (optionally) one hot user. */
export async function chargeOverHttp(options: ChargeOptions): Promise<ChargeFigures> {
  const child = await startChild(SERVE, { ...options.env, PORT: '0', LOG_LEVEL: 'warn', SEED_DEMO: 'false' });
  try {
    let n = 0;
    const distinctPath = () => `/users/${options.tag}-u${n++}/points/charge`;
    const distinct = await measured(child.url, child.logLines, options, { nextPath: distinctPath, body: '{"amount":10}' });
    // One wallet for every request: each charge waits for the one before it to release the wallet's lock.
    const hot = options.hotUser
      ? await measured(child.url, child.logLines, options, { path: `/users/${options.tag}-hot/points/charge`, body: '{"amount":1}' })
      : undefined;
    return { distinct, hot };
  } finally {
    await child.stop();
  }
}

async function measured(
  url: string,
  logLines: () => number,
  options: ChargeOptions,
  request: { path?: string; nextPath?: () => string; body: string },
): Promise<ChargeRun> {
  const base = { url, connections: options.connections, method: 'POST' as const, ...request };
  await load({ ...base, durationS: options.warmupS });
  const before = await settled(url, { family: 'point' });
  const logsBefore = logLines();
  const machineBefore = machineCpu();
  const started = performance.now();
  const result = await load({ ...base, durationS: options.durationS });
  const elapsedS = (performance.now() - started) / 1000;
  const machineBusy = busyShare(machineBefore, machineCpu());
  const after = await settled(url, { family: 'point' });
  const cpuS = parseValue(after, 'process_cpu_seconds_total') - parseValue(before, 'process_cpu_seconds_total');
  return {
    load: result,
    lock: lockStats(before, after),
    logLines: logLines() - logsBefore,
    serviceCores: cpuS / elapsedS,
    serviceCpuMsPerRequest: (cpuS * 1000) / Math.max(1, result.total),
    machineBusy,
  };
}


/** Lock figures of the wallet key family over the measured window only (scrape after minus scrape before). */
function lockStats(before: string, after: string): LockStats {
  const family = { family: 'point' };
  const window = (name: string, match: Record<string, string>): Buckets => diff(parseHistogram(after, name, match), parseHistogram(before, name, match));
  const hold = window('lock_hold_seconds', family);
  const acquired = window('lock_wait_seconds', { ...family, outcome: 'acquired' });
  const busy = window('lock_wait_seconds', { ...family, outcome: 'busy' });
  const ms = (s: number) => s * 1000;
  return {
    holdP50: ms(quantile(hold, 0.5)),
    holdP99: ms(quantile(hold, 0.99)),
    waitP50: ms(quantile(acquired, 0.5)),
    waitP99: ms(quantile(acquired, 0.99)),
    acquired: total(acquired),
    busy: total(busy),
  };
}
