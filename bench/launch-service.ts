/**
 * The service as production starts it, timed: `node --import tsx
 * app/main.ts` (what `npm start` execs) or the compiled `node
 * <outDir>/app/main.js` (what the Dockerfile runs), in a process of its
 * own, ready when `GET /health` first answers 200. For bench/startup.ts and
 * test/integration/compiled-build.test.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** How the service is run: through the TypeScript loader, or compiled to JavaScript in `outDir`. */
export type Variant = { readonly kind: 'tsx' } | { readonly kind: 'compiled'; readonly outDir: string };

/**
 * Compiles app/, core/ and adapters/ with tsconfig.build.json (as `npm run
 * build` does) into `outDir`, which must be inside the repository: the
 * compiled files find node_modules and package.json's `"type": "module"`
 * by walking up from where they are. Rejects with tsc's output if it fails.
 */
export async function compile(outDir: string): Promise<void> {
  if (path.relative(ROOT, outDir).startsWith('..')) throw new Error(`${outDir} is outside ${ROOT}: node_modules would not resolve`);
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`tsc -p tsconfig.build.json exited with ${code}:\n${output}`);
}

/** A port nothing listens on now (the service is told it up front, so that /health can be polled from the spawn on). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The service's own variables, dropped from the inherited environment (as
 * test/integration/drills/service-process.ts does): an exported
 * DATABASE_URL or REDIS_URL would turn an embedded start distributed.
 */
const SERVICE_VARIABLES = /^(DATABASE_URL|REDIS_URL|REDIS_PREFIX|DATA_DIR|PORT|AUTH_[A-Z_]+|ADMIN_TOKEN|METRICS_TOKEN|SEED_DEMO|LOG_LEVEL)$/;

function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !SERVICE_VARIABLES.test(entry[0])));
}

/** Resident memory of a process (Linux /proc), in bytes: now (VmRSS) and its peak so far (VmHWM). */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * CPU time a process has used, its waited-for children included (PGlite's
 * initdb), in ms (/proc/<pid>/stat: utime, stime, cutime, cstime, in
 * USER_HZ, 100 on Linux). On a busy machine a start waits for CPU: this is
 * what it would take with a core to itself, I/O waits aside.
 */
export async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) * 10;
}

export interface LaunchedService {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  /** From just before the spawn to the first 200 of GET /health, ms. */
  readonly readyMs: number;
  /** CPU the process (and its waited-for children) used until then, ms. */
  readonly cpuMsToReady: number;
  readonly output: () => string;
  /** SIGTERM, then how the process ended (SIGKILL after `timeoutMs`, reported as such). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** The command line of a variant, and of anything else that serves /health on PORT (the bench's bare references). */
export function serviceArgs(variant: Variant): string[] {
  return variant.kind === 'tsx' ? ['--import', 'tsx', 'app/main.ts'] : [path.join(variant.outDir, 'app/main.js')];
}

/**
 * Starts `node <args>` in the repository with `env` on top of this process's
 * environment (minus the service's own variables) and PORT set to a free
 * port, and polls GET /health until it answers 200. Rejects if the process
 * exits first or `timeoutMs` passes (the process is then killed).
 */
export async function launch(args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<LaunchedService> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...inheritedEnv(), ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((how) => (gone = how));

  const deadline = started + timeoutMs;
  let readyMs: number | undefined;
  while (readyMs === undefined) {
    if (gone !== undefined) throw new Error(`node ${args.join(' ')} exited (${JSON.stringify(gone)}) before /health answered 200:\n${output}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`node ${args.join(' ')}: /health did not answer 200 within ${timeoutMs} ms:\n${output}`);
    }
    const status = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) }).then(
      async (response) => (await response.arrayBuffer(), response.status),
      () => 0,
    );
    if (status === 200) readyMs = performance.now() - started;
    // Every 10 ms: a finer grain than the figures it times (hundreds of ms), and cheap next to a start.
    else await new Promise((resolve) => setTimeout(resolve, 10));
  }

  const cpuMsToReady = await cpuMsOf(child.pid!);
  return {
    child,
    pid: child.pid!,
    url,
    readyMs,
    cpuMsToReady,
    output: () => output,
    stop: async (stopTimeoutMs = 15_000) => {
      const signalled = performance.now();
      if (gone === undefined) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const how = await exited;
      clearTimeout(killer);
      return { ...how, ms: performance.now() - signalled };
    },
  };
}
