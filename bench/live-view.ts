/**
 * What the live view costs the service per watcher: 1,000 watchers polling
 * the cached seat map every second (GET /schedules/{id}/seats) against
 * 1,000 watchers on the server-sent events stream (one read per second per
 * schedule, one frame written to each), beside the idle CPU of the same
 * service in the same run. The service runs in a child process (embedded
 * default, its own data folder); its CPU time is read from /proc/<pid>/stat
 * before and after each window, so the load generator's own CPU is not
 * counted.
 *
 * `tsx bench/live-view.ts` runs it alone and prints the figures;
 * BENCH_QUICK=true shortens the windows. bench/run.ts calls
 * measureLiveView() for the report's "Live view" section.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { busyShare, machineCpu, startChild } from './support.js';

export interface LiveViewOptions {
  readonly watchers: number;
  readonly windowS: number;
  readonly warmupS: number;
  readonly log?: (message: string) => void;
}

/** One measured window. */
export interface LiveWindow {
  /** The service's CPU (user + system) over the window, ms per second of wall time. */
  readonly cpuMsPerS: number;
  /** Seat maps the watchers received per second, all together (≈ watchers when every one gets one a second). */
  readonly updatesPerS: number;
  /** Share of the whole machine busy (the load generator shares it). */
  readonly machineBusy: number;
  /** Requests or streams that failed in the window. */
  readonly errors: number;
}

export interface LiveViewFigures {
  readonly watchers: number;
  readonly windowS: number;
  readonly idle: LiveWindow;
  readonly polling: LiveWindow;
  readonly sse: LiveWindow;
}

/** CPU ms per watcher per second, above the idle service's own. */
export function perWatcher(window: LiveWindow, figures: Pick<LiveViewFigures, 'idle' | 'watchers'>): number {
  return (window.cpuMsPerS - figures.idle.cpuMsPerS) / figures.watchers;
}

/**
 * CPU ms per seat map delivered, above idle: the same as per watcher per
 * second when every watcher gets its map each second, and the fair figure
 * when they do not (a saturated machine answers fewer polls, which would
 * make polling look cheaper per watcher than it is).
 */
export function perUpdate(window: LiveWindow, figures: Pick<LiveViewFigures, 'idle'>): number {
  return (window.cpuMsPerS - figures.idle.cpuMsPerS) / Math.max(1e-9, window.updatesPerS);
}

const SCHEDULE = 'demo-schedule-1';
const CLOCK_TICKS_PER_S = 100;

/** utime + stime of `pid` in ms (fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name). */
async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1_000) / CLOCK_TICKS_PER_S;
}

interface Watchers {
  /** Seat maps received so far. */
  readonly updates: () => number;
  readonly errors: () => number;
  close(): Promise<void>;
}

/** `count` watchers each asking for the seat map once a second, spread evenly over the second, each on a kept-alive connection. */
function pollers(origin: string, count: number): Watchers {
  const agent = new http.Agent({ keepAlive: true, maxSockets: count });
  let updates = 0;
  let errors = 0;
  let running = true;
  const timers: NodeJS.Timeout[] = [];
  const ask = (): void => {
    if (!running) return;
    const request = http.get(`${origin}/schedules/${SCHEDULE}/seats`, { agent }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? updates++ : errors++));
    });
    request.on('error', () => errors++);
  };
  for (let i = 0; i < count; i++) {
    timers.push(
      setTimeout(() => {
        ask();
        timers.push(setInterval(ask, 1_000));
      }, (i * 1_000) / count),
    );
  }
  return {
    updates: () => updates,
    errors: () => errors,
    close: async () => {
      running = false;
      for (const timer of timers) clearTimeout(timer);
      agent.destroy();
    },
  };
}

/** `count` EventSource-like watchers of the stream: each counts the `event: seats` frames it receives. */
async function streamers(origin: string, count: number): Promise<Watchers> {
  let updates = 0;
  let errors = 0;
  const requests: http.ClientRequest[] = [];
  const opened = Array.from({ length: count }, () => {
    return new Promise<void>((resolve) => {
      const request = http.get(`${origin}/schedules/${SCHEDULE}/seats/stream`, { agent: false, headers: { Accept: 'text/event-stream' } }, (response) => {
        if (response.statusCode !== 200) {
          errors++;
          response.resume();
          return resolve();
        }
        response.setEncoding('utf8');
        let carry = '';
        response.on('data', (chunk: string) => {
          const text = carry + chunk;
          updates += text.split('event: seats').length - 1;
          carry = text.slice(-12);
        });
        resolve();
      });
      request.on('error', () => {
        errors++;
        resolve();
      });
      requests.push(request);
    });
  });
  await Promise.all(opened);
  return {
    updates: () => updates,
    errors: () => errors,
    close: async () => {
      for (const request of requests) request.destroy();
    },
  };
}

async function measure(pid: number, windowS: number, watchers: Watchers | undefined): Promise<LiveWindow> {
  const cpuBefore = await processCpuMs(pid);
  const machineBefore = machineCpu();
  const updatesBefore = watchers?.updates() ?? 0;
  const errorsBefore = watchers?.errors() ?? 0;
  const started = performance.now();
  await sleep(windowS * 1_000);
  const elapsedS = (performance.now() - started) / 1_000;
  const cpuMs = (await processCpuMs(pid)) - cpuBefore;
  return {
    cpuMsPerS: cpuMs / elapsedS,
    updatesPerS: ((watchers?.updates() ?? 0) - updatesBefore) / elapsedS,
    machineBusy: busyShare(machineBefore, machineCpu()),
    errors: (watchers?.errors() ?? 0) - errorsBefore,
  };
}

/** Idle, then `watchers` pollers, then `watchers` stream watchers, on one service child started for the purpose. */
export async function measureLiveView(options: LiveViewOptions): Promise<LiveViewFigures> {
  const log = options.log ?? (() => {});
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-live-view-'));
  const child = await startChild(
    fileURLToPath(new URL('./serve.ts', import.meta.url)),
    { ...process.env, DATABASE_URL: undefined, REDIS_URL: undefined, AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: undefined, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' },
    // A fresh embedded data folder runs initdb first: slow on a busy 2-core machine.
    120_000,
  ).catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  const origin = new URL(child.url).origin;
  try {
    log(`live view: idle service, ${options.windowS} s`);
    await sleep(options.warmupS * 1_000);
    const idle = await measure(child.pid, options.windowS, undefined);

    log(`live view: ${options.watchers} watchers polling the seat map every second, ${options.windowS} s`);
    const polling = pollers(origin, options.watchers);
    await sleep(options.warmupS * 1_000);
    const pollWindow = await measure(child.pid, options.windowS, polling);
    await polling.close();

    log(`live view: ${options.watchers} watchers on the server-sent events stream, ${options.windowS} s`);
    const streaming = await streamers(origin, options.watchers);
    await sleep(options.warmupS * 1_000);
    const sseWindow = await measure(child.pid, options.windowS, streaming);
    await streaming.close();

    return { watchers: options.watchers, windowS: options.windowS, idle, polling: pollWindow, sse: sseWindow };
  } finally {
    await child.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The figures as Markdown: the report's "Live view" section, and what `tsx bench/live-view.ts` prints. */
export function renderLiveView(f: LiveViewFigures): string {
  const n = (x: number, digits = 3) => x.toFixed(digits);
  const row = (name: string, w: LiveWindow, watcherMs: string, updateMs: string) =>
    `| ${name} | ${n(w.cpuMsPerS, 1)} | ${watcherMs} | ${n(w.updatesPerS, 0)} | ${updateMs} | ${w.errors} | ${(w.machineBusy * 100).toFixed(0)} % |`;
  const poll = perUpdate(f.polling, f);
  const sse = perUpdate(f.sse, f);
  const cheaper = sse < poll ? 'Server-sent events' : 'Polling';
  const ratio = sse < poll ? poll / sse : sse / poll;
  const short = [f.polling, f.sse].some((w) => w.updatesPerS < 0.9 * f.watchers)
    ? ` Where fewer than ${f.watchers} maps a second were delivered, the machine (shared with the load generator) was saturated: read the per-map column, since dividing by the watchers would flatter the mode that delivered less.`
    : '';
  return [
    '## Live view: polling vs server-sent events',
    '',
    `${f.watchers} watchers of one schedule's seat map, ${f.windowS} s windows, on one embedded service in a child process; its CPU (user + system) read from /proc/<pid>/stat before and after each window. Polling: each watcher asks GET /schedules/{id}/seats once a second (the cached map) on a kept-alive connection. Server-sent events: each watcher holds GET /schedules/{id}/seats/stream open, and the service reads the cached map once a second and writes the same encoded frame to every watcher. Per-watcher and per-map figures are above the idle service of the same run (first row).`,
    '',
    '| window | service CPU, ms/s | CPU per watcher per second, ms | seat maps delivered/s | CPU per map delivered, ms | errors | machine busy |',
    '|---|---|---|---|---|---|---|',
    row('idle (no watcher)', f.idle, '–', '–'),
    row(`polling, ${f.watchers} watchers`, f.polling, n(perWatcher(f.polling, f)), n(poll)),
    row(`server-sent events, ${f.watchers} watchers`, f.sse, n(perWatcher(f.sse, f)), n(sse)),
    '',
    `**${cheaper} cost the service less**: ${n(ratio, 1)}× less CPU per seat map delivered.${short} A poll is a whole HTTP request each second (parse, route, middleware, metrics, a cache read, JSON serialisation; at LOG_LEVEL=info a log line too, here warn); a stream frame is one write of bytes read and encoded once per second for every watcher of the schedule. So the page uses the stream and falls back to polling when the stream is refused (the instance's bound of watchers) or silent.`,
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const quick = process.env.BENCH_QUICK === 'true';
  const figures = await measureLiveView({
    watchers: 1_000,
    windowS: quick ? 4 : 10,
    warmupS: quick ? 1 : 3,
    log: (message) => process.stderr.write(`[live-view] ${message}\n`),
  });
  process.stdout.write(`${renderLiveView(figures)}\n`);
}
