import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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
  /** Lines the child wrote to stdout besides the ready mark (its warn/error logs): a busy log is a cost worth seeing. */
  readonly logLines: () => number;
  stop(): Promise<void>;
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
      resolve({ url: line.slice(READY_MARK.length).trim(), logLines: () => lines, stop: () => stopChild(child) });
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
