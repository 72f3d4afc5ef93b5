/**
 * The query report (reports/queries.md), start to finish: a database of its
 * own on the shared Postgres, migrated to just before this report's
 * migration and filled to a realistic size; every user action's statements
 * captured and the migration-sensitive ones timed; the migration applied;
 * everything captured, planned and timed again; the read paths over HTTP
 * (cache on and off, a stampede, a sale in miniature); the report written.
 * The database and the Redis keys are removed at the end, and by
 * `queriesCleanup` when a signal cuts the run short.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Migrator } from 'kysely';
import pg from 'pg';
import { createKysely } from '../../adapters/kysely/create-kysely.js';
import { migrateToLatest } from '../../adapters/kysely/migrate.js';
import { migrationProvider } from '../../adapters/kysely/migrations/index.js';
import { createRedis } from '../../adapters/redis/create-redis.js';
import type { CapturedAction } from './capture.js';
import { captureActions } from './capture.js';
import type { BuildStep, DatasetSizes } from './dataset.js';
import { buildDataset, sizesAt } from './dataset.js';
import type { ExplainedStatement } from './explain.js';
import { explainAction } from './explain.js';
import type { Candidate, Variant } from './heavy.js';
import { timeMigrationSensitive, timeOtherCandidates } from './heavy.js';
import type { CacheComparison, FleetFigures } from './http.js';
import { compareCache, onThreeInstances } from './http.js';
import { renderCharts, renderQueriesReport } from './report.js';
import { deleteKeysUnder, dropDatabase } from '../cleanup.js';

/** BENCH_QUICK's scale: 5,000 seats, a few seconds to build. */
export const QUERIES_QUICK_SCALE = 0.01;

/** The migration this report's analysis adds: "before" is the schema without it. */
export const REPORT_MIGRATION = '0005-reservations-pending-by-user';

export interface QueriesOptions {
  readonly scale: number;
  /** Shorter HTTP windows (BENCH_QUICK): checks that everything runs; figures too noisy to publish. */
  readonly quick: boolean;
  /** Where queries.md and its SVGs go. */
  readonly reportDir: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly log: (message: string) => void;
}

export interface QueriesResults {
  readonly date: Date;
  readonly scale: number;
  readonly quick: boolean;
  readonly postgres: string;
  readonly machine: string;
  readonly sizes: DatasetSizes;
  readonly build: readonly BuildStep[];
  readonly buildS: number;
  readonly migrationS: number;
  readonly tableSizes: readonly { table: string; rows: number; mb: number }[];
  readonly actions: readonly (CapturedAction & { readonly explained: readonly ExplainedStatement[] })[];
  readonly before: ReadonlyMap<string, Variant>;
  readonly after: ReadonlyMap<string, Variant>;
  readonly candidates: readonly Candidate[];
  readonly cache: CacheComparison;
  readonly fleet: FleetFigures;
  readonly pgStatStatements: { readonly available: boolean; readonly preloaded: boolean };
  readonly elapsedS: number;
}

/** What is open now, for a cleanup that a signal may call at any moment. */
const open: { dbName?: string; serverUrl?: string; prefix?: string; redisUrl?: string } = {};
let cleaning: Promise<void> | undefined;

/** Drops the report's database and its Redis keys, if a run has them open; safe to call at any time, more than once. */
export function queriesCleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    const { dbName, serverUrl, prefix, redisUrl } = open;
    if (prefix !== undefined && redisUrl !== undefined) {
      const redis = createRedis(redisUrl, { name: 'bench-queries-cleanup' });
      await deleteKeysUnder(redis, prefix);
      await redis.quit().catch(() => redis.disconnect());
    }
    if (dbName !== undefined && serverUrl !== undefined) {
      await dropDatabase(serverUrl, dbName);
    }
  })().finally(() => {
    for (const key of Object.keys(open)) delete open[key as keyof typeof open];
    cleaning = undefined;
  }));
}

function databaseUrlOf(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function benchQueries(options: QueriesOptions): Promise<{ readonly results: QueriesResults; readonly reportPath: string }> {
  const { log } = options;
  const started = performance.now();
  const id = randomBytes(4).toString('hex');
  const dbName = `bench_queries_${id}`;
  const prefix = `bench_queries_${id}:`;
  Object.assign(open, { dbName, serverUrl: options.databaseUrl, prefix, redisUrl: options.redisUrl });
  try {
    const admin = new pg.Client({ connectionString: options.databaseUrl });
    await admin.connect();
    await admin.query(`create database ${dbName}`).finally(() => admin.end());
    const url = databaseUrlOf(options.databaseUrl, dbName);
    const sizes = sizesAt(options.scale);
    log(`database ${dbName}, scale ${options.scale}: ${(sizes.concerts * sizes.schedulesPerConcert * sizes.seatsPerSchedule).toLocaleString('en-US')} seats`);

    // The schema as it was before this report's migration: the "before" of its measurements.
    const migrating = await createKysely({ databaseUrl: url, dataDir: 'memory://' });
    const names = Object.keys(await migrationProvider.getMigrations()).sort();
    const previous = names[names.indexOf(REPORT_MIGRATION) - 1];
    if (previous === undefined) throw new Error(`${REPORT_MIGRATION} is not a registered migration after another`);
    const migrator = new Migrator({ db: migrating, provider: migrationProvider });
    const { error } = await migrator.migrateTo(previous);
    if (error !== undefined) throw error instanceof Error ? error : new Error(String(error));

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const buildStarted = performance.now();
      const build = await buildDataset(client, sizes, log);
      const buildS = (performance.now() - buildStarted) / 1000;
      const repeat = options.quick ? 3 : 7;

      log(`capture (schema at ${previous}) and time the statements the migration is for`);
      const beforeActions = await captureActions(url, sizes);
      const before = await timeMigrationSensitive(client, beforeActions, `before (${previous})`, repeat);

      const migrationStarted = performance.now();
      await migrateToLatest(migrating);
      await client.query('analyze reservations');
      const migrationS = (performance.now() - migrationStarted) / 1000;
      log(`migrated to latest in ${migrationS.toFixed(1)} s; capture, plan and time again`);
      const captured = await captureActions(url, sizes);
      const actions = [];
      for (const action of captured) actions.push({ ...action, explained: await explainAction(client, action.statements) });
      const after = await timeMigrationSensitive(client, captured, `after (${REPORT_MIGRATION})`, repeat);
      const candidates = await timeOtherCandidates(client, captured, repeat);
      const tableSizes = await tableSizesOf(client);
      const postgres = (await client.query<{ server_version: string }>('show server_version')).rows[0]?.server_version ?? 'unknown';
      const pgStatStatements = await statStatements(client);
      await migrating.destroy();

      const http = {
        databaseUrl: url,
        redisUrl: options.redisUrl,
        redisPrefix: prefix,
        authSecret: randomBytes(32).toString('hex'),
        connections: 32,
        durationS: options.quick ? 3 : 8,
        warmupS: options.quick ? 1 : 2,
        stampedeReads: 300,
        stampedeRounds: options.quick ? 2 : 3,
        saleSeconds: options.quick ? 4 : 10,
        saleSeats: 1_000,
        log,
      };
      const cache = await compareCache(http);
      const fleet = await onThreeInstances(http);

      const cpus = os.cpus();
      const results: QueriesResults = {
        date: new Date(),
        scale: options.scale,
        quick: options.quick,
        postgres,
        machine: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`,
        sizes,
        build,
        buildS,
        migrationS,
        tableSizes,
        actions,
        before,
        after,
        candidates,
        cache,
        fleet,
        pgStatStatements,
        elapsedS: (performance.now() - started) / 1000,
      };
      await mkdir(options.reportDir, { recursive: true });
      for (const [file, svg] of Object.entries(renderCharts(results))) await writeFile(path.join(options.reportDir, file), svg);
      const reportPath = path.join(options.reportDir, 'queries.md');
      await writeFile(reportPath, renderQueriesReport(results));
      return { results, reportPath };
    } finally {
      await client.end();
    }
  } finally {
    await queriesCleanup();
    log(`dropped database ${dbName} and the keys under ${prefix}`);
  }
}

async function tableSizesOf(client: pg.Client): Promise<{ table: string; rows: number; mb: number }[]> {
  const { rows: tables } = await client.query<{ table: string; bytes: string }>(
    `select relname as table, pg_total_relation_size(relid) as bytes from pg_stat_user_tables
     where relname not like 'kysely_migration%' order by pg_total_relation_size(relid) desc`,
  );
  const out: { table: string; rows: number; mb: number }[] = [];
  // Counted, not n_live_tup: the statistics' estimate drifts with the captures' rolled-back writes.
  for (const { table, bytes } of tables) {
    const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${client.escapeIdentifier(table)}`);
    out.push({ table, rows: Number(rows[0]?.n ?? 0), mb: Number(bytes) / 2 ** 20 });
  }
  return out;
}

/** pg_stat_statements would count statements server-side, but only when preloaded (a server restart): said in the report either way. */
async function statStatements(client: pg.Client): Promise<{ available: boolean; preloaded: boolean }> {
  const available = (await client.query(`select 1 from pg_available_extensions where name = 'pg_stat_statements'`)).rowCount === 1;
  const preload = (await client.query<{ shared_preload_libraries: string }>('show shared_preload_libraries')).rows[0]?.shared_preload_libraries ?? '';
  return { available, preloaded: preload.includes('pg_stat_statements') };
}
