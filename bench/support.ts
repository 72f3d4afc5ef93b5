import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { signAccessToken } from '../adapters/auth/sign-access-token.js';

/** The repository root: children resolve `--import tsx` from here, whatever directory the bench started in. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Latency summary in milliseconds. */
export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly n: number;
}

/** Nearest-rank percentiles over raw samples: exact, no histogram rounding (sub-millisecond figures need that). */
export function summarise(samplesMs: readonly number[]): Latency {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return { p50: at(0.5), p99: at(0.99), mean, n: sorted.length };
}

export const READY_MARK = 'BENCH_READY ';

export interface Child {
  readonly url: string;
  /** The child's process id: its CPU time is in /proc/<pid>/stat (bench/live-view.ts). */
  readonly pid: number;
  /** Lines the child wrote to stdout besides the ready mark (its warn/error logs): a busy log is a cost worth seeing. */
  readonly logLines: () => number;
  stop(): Promise<void>;
  /** Sends `signal` to the child at once (the sell-out's kill-instance fault: SIGKILL, no shutdown). */
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts a TypeScript entry in its own Node process (tsx loader), so that the
 * server under load does not share an event loop with autocannon. Resolves
 * once the child prints `BENCH_READY <url>`.
 */
export function startChild(file: string, env: Record<string, string | undefined>, timeoutMs = 30_000): Promise<Child> {
  // BENCH_PROFILE_DIR=<dir>: every child writes a V8 CPU profile there when it exits (node refuses --cpu-prof in NODE_OPTIONS).
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let lines = 0;
  return new Promise<Child>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with code ${code} before it was ready`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith(READY_MARK)) {
        lines++;
        if (lines <= 5) process.stderr.write(`  [child] ${line}\n`);
        return;
      }
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        url: line.slice(READY_MARK.length).trim(),
        pid: child.pid!,
        logLines: () => lines,
        stop: () => stopChild(child),
        kill: (signal) => void child.kill(signal),
      });
    });
  });
}

/** SIGTERM (the child closes gracefully), SIGKILL if it is still there after 10 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A snapshot of the whole machine's CPU time (every core, every process: Redis, Postgres, the load generator too). */
export interface CpuSnapshot {
  readonly busyMs: number;
  readonly totalMs: number;
}

export function machineCpu(): CpuSnapshot {
  let busyMs = 0;
  let totalMs = 0;
  for (const { times } of os.cpus()) {
    busyMs += times.user + times.nice + times.sys + times.irq;
    totalMs += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { busyMs, totalMs };
}

/** Share of the machine's CPU in use between two snapshots, 0..1: near 1, every figure of the window is CPU-bound. */
export function busyShare(before: CpuSnapshot, after: CpuSnapshot): number {
  return (after.busyMs - before.busyMs) / Math.max(1, after.totalMs - before.totalMs);
}

/**
 * Lifetime of every access token a bench run signs: far longer than a run
 * (a token expiring mid-window would turn into 401s), and still short, so a
 * token that leaks from a run is soon worthless.
 */
export const BENCH_TOKEN_TTL_SECONDS = 3 * 3600;

/**
 * Signing goes to WebCrypto, whose HMAC jobs run on libuv's thread pool:
 * this many in flight at once overlap there (about twice the rate of one at
 * a time on two cores) without holding more than a batch of promises.
 */
const SIGN_BATCH = 64;

/**
 * One HS256 access token per user (`sub` = the user id), as the identity
 * provider sharing AUTH_JWT_SECRET would issue them. Tens of µs each: call
 * it before a measured window, never inside one, so the load generator's
 * CPU in the window is spent on requests only.
 */
export async function signAccessTokens(secret: string, userIds: readonly string[]): Promise<string[]> {
  const tokens: string[] = [];
  for (let done = 0; done < userIds.length; done += SIGN_BATCH) {
    const batch = userIds.slice(done, done + SIGN_BATCH);
    tokens.push(...(await Promise.all(batch.map((userId) => signAccessToken(secret, userId, { ttlSeconds: BENCH_TOKEN_TTL_SECONDS })))));
  }
  return tokens;
}

/**
 * Users `<prefix>0`, `<prefix>1`, … with their access tokens, signed in
 * advance and handed out one per request: a load of distinct users takes
 * the next one each time and stops (drive's `exhausted`) when they run out,
 * rather than signing inside its window.
 */
export class SignedUsers {
  private readonly ids: string[] = [];
  private readonly tokens: string[] = [];
  private next = 0;
  /** Wall time spent signing, s: setup cost, reported, never inside a window. */
  signS = 0;

  constructor(
    private readonly secret: string,
    private readonly prefix: string,
  ) {}

  /** Signs `count` more users. */
  async add(count: number): Promise<void> {
    const started = performance.now();
    const ids = Array.from({ length: Math.max(0, Math.ceil(count)) }, (_, k) => `${this.prefix}${this.ids.length + k}`);
    const tokens = await signAccessTokens(this.secret, ids);
    this.ids.push(...ids);
    this.tokens.push(...tokens);
    this.signS += (performance.now() - started) / 1000;
  }

  /** Signed and not handed out yet. */
  get left(): number {
    return this.ids.length - this.next;
  }

  /** The next unused user and its token, or undefined when all are used. */
  take(): { readonly userId: string; readonly token: string } | undefined {
    if (this.next >= this.ids.length) return undefined;
    const i = this.next++;
    return { userId: this.ids[i]!, token: this.tokens[i]! };
  }
}

/** `Authorization: Bearer <access token>`: every route that acts for a user needs it. */
export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}
