/**
 * One service instance of the sell-out, run as `npm start` runs it:
 * `node --import tsx app/main.ts` (the sources as they are, no build
 * step), configured from the environment, so that a SIGTERM gets the
 * service's own bounded stop (drain, close, the hard exit bound of
 * app/main.ts) and its exit can be timed. The port is chosen here
 * and passed as PORT (the service logs its URL only at info, and the
 * instances run at warn); it is ready once GET /health answers 200 (it
 * listens before its application is built, answering 503 "starting").
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Lines of each instance's own output shown on stderr: the first warnings say what went wrong; a flood would drown the progress line. */
const SHOWN_LINES = 5;
/** How often readiness is polled while the instance starts. */
const POLL_MS = 100;
/** After SIGTERM on the way out, SIGKILL if it is still there this long after (a bound far above SHUTDOWN_EXIT_MS: the exit is timed, not waited for). */
const STOP_GRACE_MS = 15_000;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** performance.now() when the process was seen to exit. */
  readonly atMs: number;
}

export interface Instance {
  readonly url: string;
  /** Sends `signal` now; resolves when the process has exited (at once if it already has). */
  signal(signal: NodeJS.Signals): Promise<Exit>;
  /** SIGTERM, SIGKILL if it outlasts STOP_GRACE_MS; resolves once it has exited. */
  stop(): Promise<void>;
}

export async function startInstance(env: Record<string, string | undefined>, timeoutMs: number): Promise<Instance> {
  const port = await freePort();
  // BENCH_PROFILE_DIR=<dir>: a V8 CPU profile per instance, as bench/support.ts's children write.
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'app/main.ts'], {
    cwd: ROOT,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let shown = 0;
  const show = (line: string): void => {
    if (shown++ < SHOWN_LINES) process.stderr.write(`  [instance :${port}] ${line}\n`);
  };
  createInterface({ input: child.stdout! }).on('line', show);
  createInterface({ input: child.stderr! }).on('line', show);
  // A run that exits without stopping it (a second Ctrl-C, `npm run bench` ending on a signal) takes it along.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', killOnExit);
      resolve({ code, signal, atMs: performance.now() });
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await untilReady(url, child, timeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    url,
    signal: (signal) => {
      if (running()) child.kill(signal);
      return exited;
    },
    stop: async () => {
      if (!running()) return;
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Polls GET /health until it answers 200, or the process exits, or the deadline passes. */
async function untilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`instance ${url} exited (${child.exitCode ?? child.signalCode}) before it served`);
    try {
      const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      await health.arrayBuffer();
      if (health.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(POLL_MS); // a poll interval: the loop waits for the condition
  }
  throw new Error(`instance ${url} did not serve within ${timeoutMs} ms`);
}

/** A port the kernel just gave out; the instance binds it a moment later (a port taken meanwhile fails its start, loudly). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
