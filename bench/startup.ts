/**
 * Start-up time and memory, per mode, through the TypeScript loader (`npm
 * start`) and compiled (`npm run build`, the Dockerfile): time from the
 * spawn to the first 200 of /health, resident memory (VmRSS) once idle and
 * under load, and the peak (VmHWM). Each start is a first one: embedded on
 * a fresh data folder (PGlite's initdb included), distributed on a fresh
 * database (migrations included) and a Redis prefix of its own; then the
 * same again (a restart: schema and folder already there).
 *
 * Beside them, measured in the same run: bare node serving HTTP (the floor
 * of any Node service) and bare PGlite opened on a fresh folder with its
 * defaults (the floor of the embedded mode's first start).
 *
 * `npm run bench` runs it (bench/run.ts) into reports/benchmark.md; alone,
 * `tsx bench/startup.ts` prints the section.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { createRedis } from '../adapters/redis/create-redis.js';
import { load } from './http-load.js';
import type { LaunchedService, Variant } from './launch-service.js';
import { compile, launch, memoryOf, ROOT, serviceArgs } from './launch-service.js';
import { busyShare, machineCpu } from './support.js';
import { deleteKeysUnder } from './cleanup.js';

/** Issue 11's targets. */
export const STARTUP_TARGETS = {
  distributed: { readyMs: 2_000, rssBytes: 150e6 },
  embedded: { readyMs: 5_000, rssBytes: 400e6 },
} as const;

export interface StartupOptions {
  /** A Postgres URL whose user may create databases: each distributed start gets a fresh one, dropped at the end. */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** How long the process sits idle before its RSS is read, and how long it is loaded, s. */
  readonly idleSeconds: number;
  readonly loadSeconds: number;
  readonly connections: number;
  readonly log?: (message: string) => void;
}

export interface StartFigures {
  readonly mode: 'embedded' | 'distributed';
  readonly variant: 'tsx' | 'compiled';
  /** `first`: fresh folder or database; `again`: the same one restarted. */
  readonly start: 'first' | 'again';
  readonly readyMs: number;
  /** CPU time used until ready (initdb's child included): the start on a core of its own, I/O waits aside. */
  readonly cpuMsToReady: number;
  readonly idleRss: number;
  /** The highest VmRSS sampled every 100 ms under load. */
  readonly loadRss: number;
  /** VmHWM at the end: the peak of the whole life, start included. */
  readonly peakRss: number;
  readonly loadRps: number;
  /** Share of the machine's CPU busy from spawn to ready: other work slows a start. */
  readonly busyDuringStart: number;
}

export interface ReferenceFigures {
  readonly name: string;
  readonly readyMs: number;
  readonly cpuMsToReady: number;
  readonly idleRss: number;
}

export interface StartupFigures {
  readonly starts: readonly StartFigures[];
  readonly references: readonly ReferenceFigures[];
  readonly settings: { readonly idleSeconds: number; readonly loadSeconds: number; readonly connections: number };
}

const BARE_NODE = `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')`;
/** PGlite with its own defaults (shared_buffers 128MB), opened on a fresh folder, then serving /health. */
const BARE_PGLITE = `import { PGlite } from '@electric-sql/pglite'; import http from 'node:http';
const db = await PGlite.create(process.env.DATA_DIR); await db.query('select 1');
http.createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');`;

async function idleThenLoad(service: LaunchedService, options: StartupOptions): Promise<Pick<StartFigures, 'idleRss' | 'loadRss' | 'peakRss' | 'loadRps'>> {
  // An idle window, not a synchronisation: what the process holds once the start is behind it.
  await new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1_000));
  const idleRss = (await memoryOf(service.pid)).rss;
  let loadRss = idleRss;
  const sampler = setInterval(() => void memoryOf(service.pid).then((m) => (loadRss = Math.max(loadRss, m.rss)), () => undefined), 100);
  try {
    const result = await load({ url: service.url, connections: options.connections, durationS: options.loadSeconds, path: '/concerts' });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`GET /concerts under load: ${result.non2xx} non-2xx, ${result.errors} errors ${JSON.stringify(result.statusCounts)}`);
    const { rss, peak } = await memoryOf(service.pid);
    return { idleRss, loadRss: Math.max(loadRss, rss), peakRss: peak, loadRps: result.okRps };
  } finally {
    clearInterval(sampler);
  }
}

async function measureStart(mode: StartFigures['mode'], variant: Variant, start: StartFigures['start'], env: Record<string, string>, options: StartupOptions): Promise<StartFigures> {
  options.log?.(`start-up: ${mode}, ${variant.kind}, ${start} start`);
  const cpu = machineCpu();
  const service = await launch(serviceArgs(variant), { LOG_LEVEL: 'warn', ...env });
  const busyDuringStart = busyShare(cpu, machineCpu());
  const memory = await idleThenLoad(service, options).catch(async (error: unknown) => {
    await service.stop();
    throw error;
  });
  const stopped = await service.stop();
  if (stopped.code !== 0) throw new Error(`${mode} ${variant.kind} did not stop cleanly: ${JSON.stringify(stopped)}\n${service.output()}`);
  return { mode, variant: variant.kind, start, readyMs: service.readyMs, cpuMsToReady: service.cpuMsToReady, busyDuringStart, ...memory };
}

async function reference(name: string, args: string[], env: Record<string, string>, options: StartupOptions): Promise<ReferenceFigures> {
  const service = await launch(args, env);
  try {
    await new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1_000));
    return { name, readyMs: service.readyMs, cpuMsToReady: service.cpuMsToReady, idleRss: (await memoryOf(service.pid)).rss };
  } finally {
    await service.stop();
  }
}

/** Every start, each on its own folder, database and prefix, all removed at the end, whichever way it ends. */
export async function measureStartup(options: StartupOptions): Promise<StartupFigures> {
  const id = randomBytes(4).toString('hex');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'bench-startup-'));
  // The compiled output inside the repository (dist/ is git-ignored): it finds node_modules by walking up.
  await mkdir(path.join(ROOT, 'dist'), { recursive: true });
  const outDir = await mkdtemp(path.join(ROOT, 'dist', '.bench-startup-'));
  const databases: string[] = [];
  const prefix = `startup_${id}:`;
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  const redis = createRedis(options.redisUrl, { name: 'bench-startup' });
  try {
    options.log?.('start-up: compiling (tsconfig.build.json)');
    await compile(outDir);
    const references = [
      await reference('bare node, HTTP server', ['-e', BARE_NODE], {}, options),
      await reference('bare PGlite (its defaults), fresh folder', ['--input-type=module', '-e', BARE_PGLITE], { DATA_DIR: await mkdtemp(path.join(scratch, 'bare-')) }, options),
    ];
    const authSecret = randomBytes(32).toString('hex');
    const starts: StartFigures[] = [];
    for (const variant of [{ kind: 'tsx' }, { kind: 'compiled', outDir }] as const) {
      const dataDir = await mkdtemp(path.join(scratch, `${variant.kind}-`));
      for (const start of ['first', 'again'] as const) starts.push(await measureStart('embedded', variant, start, { DATA_DIR: dataDir }, options));
      const database = `startup_${id}_${variant.kind}`;
      await admin.query(`create database ${database}`);
      databases.push(database);
      const url = new URL(options.databaseUrl);
      url.pathname = `/${database}`;
      const env = { DATABASE_URL: url.toString(), REDIS_URL: options.redisUrl, REDIS_PREFIX: prefix, AUTH_JWT_SECRET: authSecret, SEED_DEMO: 'false' };
      for (const start of ['first', 'again'] as const) starts.push(await measureStart('distributed', variant, start, env, options));
    }
    return { starts, references, settings: { idleSeconds: options.idleSeconds, loadSeconds: options.loadSeconds, connections: options.connections } };
  } finally {
    for (const database of databases) await admin.query(`drop database if exists ${database} with (force)`);
    await admin.end();
    await deleteKeysUnder(redis, prefix);
    await redis.quit().catch(() => redis.disconnect());
    await rm(scratch, { recursive: true, force: true });
    await rm(outDir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1_000).toFixed(2)} s`;
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
const COMMANDS = { tsx: '`node --import tsx app/main.ts`', compiled: '`node dist/app/main.js`' } as const;

/** The report's section: every start against the issue's targets, the references, and what bounds the embedded first start. */
export function renderStartup(f: StartupFigures): string {
  const rows = f.starts.map((s) => {
    const target = STARTUP_TARGETS[s.mode];
    const start = s.start === 'again' ? 'restart' : s.mode === 'embedded' ? 'fresh folder' : 'fresh database';
    return `| ${s.mode} | ${COMMANDS[s.variant]} | ${start} | ${seconds(s.readyMs)} (${verdict(s.readyMs <= target.readyMs)}) | ${seconds(s.cpuMsToReady)} | ${mb(s.idleRss)} | ${mb(s.loadRss)} (${verdict(Math.max(s.idleRss, s.loadRss) <= target.rssBytes)}) | ${mb(s.peakRss)} | ${Math.round(s.loadRps)} | ${(s.busyDuringStart * 100).toFixed(0)} % |`;
  });
  const [bareNode, barePglite] = f.references;
  const embeddedFirst = f.starts.find((s) => s.mode === 'embedded' && s.variant === 'compiled' && s.start === 'first');
  return [
    `## Start-up time and memory`,
    `Each service process started as an operator starts it (\`LOG_LEVEL=warn\`), timed from the spawn to the first 200 of \`GET /health\` (polled every 10 ms), with the CPU time it (and its waited-for children: PGlite's initdb) used until then (/proc/<pid>/stat): on a busy machine a start waits for a core, and the CPU time is what it costs with one to itself. Resident memory (VmRSS) after ${f.settings.idleSeconds} s idle, then its highest value (sampled every 100 ms) under ${f.settings.connections} connections of \`GET /concerts\` for ${f.settings.loadSeconds} s, and the peak of the whole life (VmHWM). Embedded: a fresh data folder, default SEED_DEMO (the demo catalog seeded), then restarted on it. Distributed: a fresh database (migrations run) and a Redis prefix of its own, SEED_DEMO=false as in docker-compose.yml, then restarted. Targets (issue 11): distributed ready ≤ ${seconds(STARTUP_TARGETS.distributed.readyMs)} and ≤ ${mb(STARTUP_TARGETS.distributed.rssBytes)}; embedded ready ≤ ${seconds(STARTUP_TARGETS.embedded.readyMs)} on a fresh folder and ≤ ${mb(STARTUP_TARGETS.embedded.rssBytes)}; ready is judged on wall time. MB = 10⁶ bytes.`,
    [
      `| mode | command | start | ready | CPU until ready | RSS idle | RSS under load | peak RSS | GET /concerts req/s | machine busy during start |`,
      `|---|---|---|---|---|---|---|---|---|---|`,
      ...rows,
    ].join('\n'),
    `References in the same run: ${f.references.map((r) => `${r.name}: ready in ${seconds(r.readyMs)} (CPU ${seconds(r.cpuMsToReady)}), ${mb(r.idleRss)} idle`).join('; ')}.`,
    bareNode !== undefined && barePglite !== undefined && embeddedFirst !== undefined
      ? `What bounds the embedded first start: PGlite's own initdb. Bare PGlite on a fresh folder, doing nothing else, was ready in ${seconds(barePglite.readyMs)} (CPU ${seconds(barePglite.cpuMsToReady)}); the compiled service's first start took ${seconds(embeddedFirst.readyMs)} (CPU ${seconds(embeddedFirst.cpuMsToReady)}), migrations and the demo seed included. Its memory is the service's own choice: PGlite with its defaults held ${mb(barePglite.idleRss)} idle; the service (initdb in a child process that exits, shared_buffers=16MB: adapters/kysely/create-kysely.ts) held ${mb(embeddedFirst.idleRss)}. Bare node serving HTTP, the floor of any Node service, was ready in ${seconds(bareNode.readyMs)} with ${mb(bareNode.idleRss)}.`
      : '',
  ]
    .filter((part) => part !== '')
    .join('\n\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await measureStartup({
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres:postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    idleSeconds: 2,
    loadSeconds: process.env.BENCH_QUICK === 'true' ? 2 : 4,
    connections: 32,
    log: (message) => process.stderr.write(`[startup] ${message}\n`),
  });
  process.stdout.write(`${renderStartup(figures)}\n`);
}
