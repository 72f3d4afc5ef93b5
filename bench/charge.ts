import { fileURLToPath } from 'node:url';
import { drive } from './drive.js';
import type { DriveRequest, DriveResult } from './drive.js';
import type { Buckets } from './metrics.js';
import { diff, parseHistogram, parseValue, quantile, settled, total } from './metrics.js';
import { bearer, busyShare, machineCpu, SignedUsers, signAccessTokens, startChild } from './support.js';

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));

/**
 * Users signed for a warm-up before its rate is known: enough for this many
 * charges per second. A faster service only cuts its warm-up short (it has
 * warmed up all the same); the window's users are then sized from the
 * warm-up's own rate.
 */
export const WARMUP_RATE_GUESS = 3_000;
/** Users signed for a window over what the warm-up's rate needs: the window runs warm, faster than the warm-up began. */
export const WINDOW_HEADROOM = 2;

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
  /** `exhausted`: the pre-signed users ran out and the window was cut short (its rates are over the time it lasted). */
  readonly load: DriveResult;
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
  /** The child's AUTH_JWT_SECRET: every charge carries an access token signed with it for the user it charges. */
  readonly authSecret: string;
}

/**
 * Starts the service in a child process and loads POST /users/{id}/points/charge
 * with each user's own access token: distinct users (a new, pre-signed user
 * per request), then (optionally) one hot user.
 */
export async function chargeOverHttp(options: ChargeOptions): Promise<ChargeFigures> {
  const child = await startChild(SERVE, { ...options.env, AUTH_JWT_SECRET: options.authSecret, PORT: '0', LOG_LEVEL: 'warn', SEED_DEMO: 'false' });
  try {
    const users = new SignedUsers(options.authSecret, `${options.tag}-u`);
    await users.add(options.warmupS * WARMUP_RATE_GUESS);
    const distinctRequest = (): DriveRequest | undefined => {
      const user = users.take();
      return user && { method: 'POST', path: `/users/${user.userId}/points/charge`, headers: bearer(user.token), body: '{"amount":10}' };
    };
    // The window's users, signed between the warm-up and the window: as many as the warm-up's rate needs, twice over.
    const signForWindow = async (warm: DriveResult) => {
      await users.add(Math.max(0, warm.okRps * options.durationS * WINDOW_HEADROOM + options.connections - users.left));
    };
    const distinct = await measured(child.url, child.logLines, options, distinctRequest, signForWindow);
    // One wallet for every request: each charge waits for the one before it to release the wallet's lock.
    let hot: ChargeRun | undefined;
    if (options.hotUser) {
      const hotUser = `${options.tag}-hot`;
      const [token] = await signAccessTokens(options.authSecret, [hotUser]);
      const hotRequest: DriveRequest = { method: 'POST', path: `/users/${hotUser}/points/charge`, headers: bearer(token!), body: '{"amount":1}' };
      hot = await measured(child.url, child.logLines, options, () => hotRequest);
    }
    return { distinct, hot };
  } finally {
    await child.stop();
  }
}

/**
 * A warm-up, then the measured window with the child's lock histograms and
 * CPU scraped around it. `beforeWindow` runs between the two, outside both
 * (signing the window's users).
 */
async function measured(
  url: string,
  logLines: () => number,
  options: ChargeOptions,
  request: () => DriveRequest | undefined,
  beforeWindow?: (warm: DriveResult) => Promise<void>,
): Promise<ChargeRun> {
  const base = { url, connections: options.connections, request };
  const warm = await drive({ ...base, durationS: options.warmupS });
  await beforeWindow?.(warm);
  const before = await settled(url, { family: 'point' });
  const logsBefore = logLines();
  const machineBefore = machineCpu();
  const started = performance.now();
  const result = await drive({ ...base, durationS: options.durationS });
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
