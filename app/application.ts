import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Container, ServiceIdentifier } from 'inversify';
import type { Logger } from 'pino';
import { createKysely } from '../adapters/kysely/create-kysely.js';
import { migrateToLatest } from '../adapters/kysely/migrate.js';
import type { Config } from './config.js';
import type { ContainerOptions } from './container.js';
import { buildContainer } from './container.js';
import type { DataDirLock } from './data-dir-lock.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import type { PeriodicJob } from './jobs/periodic-job.js';
import { MIGRATION_TIME_BOUNDS, SHUTDOWN_CLOSE_MS } from './time-bounds.js';
import { TOKENS } from './tokens.js';

/** The wired application, without a listening socket: tests drive `app.request(...)`. */
export interface Application {
  readonly app: OpenAPIHono;
  readonly container: Container;
  readonly logger: Logger;
  /**
   * Stops the background jobs, then releases every resource the container
   * opened (Redis connection, database pool), then the data folder's lock,
   * once. Each step is bounded by what is left of `budgetMs` (default
   * SHUTDOWN_CLOSE_MS): a step still pending then (a pool waiting for a
   * stuck query) is logged and left behind, so that the caller can exit.
   * The data folder's lock stays held while its database may still be open.
   */
  close(budgetMs?: number): Promise<void>;
}

export interface ApplicationOptions extends ContainerOptions {
  /** Called once the start may go on (the data folder is this process's), before the slow part: the start-up log line. */
  readonly onStarting?: () => void;
}

/**
 * Builds the container, brings the database schema up to date, seeds the
 * demo catalog into an empty database (SEED_DEMO), resolves the HTTP app,
 * starts the background jobs. `options.clock` replaces the system clock
 * (tests move it across a hold's end instead of sleeping).
 *
 * In embedded mode the data folder is locked first (app/data-dir-lock.ts),
 * before the database or the embedded secret in it is touched: a second
 * process on the folder is refused having opened nothing.
 */
export async function createApplication(config: Config, options: ApplicationOptions = {}): Promise<Application> {
  const dataDirLock = usesDataDir(config) ? await acquireDataDirLock(config.dataDir) : undefined;
  options.onStarting?.();
  let container: Container;
  try {
    container = await buildContainer(config, options);
  } catch (error) {
    await dataDirLock?.release();
    throw error;
  }
  const jobs: PeriodicJob[] = [];
  const close = once((budgetMs: number) => closeWithin(container, jobs, dataDirLock, budgetMs));
  try {
    await migrate(config, container);
    if (config.seedDemo) {
      const outcome = await (await container.getAsync(TOKENS.SeedDemoCatalog)).execute();
      container.get(TOKENS.Logger).info({ outcome }, 'demo catalog');
    }
    const app = await container.getAsync(TOKENS.HttpApp);
    jobs.push(
      await container.getAsync(TOKENS.AdmissionJob),
      await container.getAsync(TOKENS.HoldSweeperJob),
      await container.getAsync(TOKENS.IdempotencyPurgeJob),
    );
    for (const job of jobs) job.start();
    return { app, container, logger: container.get(TOKENS.Logger), close: (budgetMs = SHUTDOWN_CLOSE_MS) => close(budgetMs) };
  } catch (error) {
    await close(SHUTDOWN_CLOSE_MS).catch(() => undefined);
    throw error;
  }
}

/** Embedded PGlite on disk; `memory://` is a throwaway database no other process can open. */
function usesDataDir(config: Config): boolean {
  return config.databaseUrl === undefined && !config.dataDir.startsWith('memory://');
}

async function closeWithin(container: Container, jobs: readonly PeriodicJob[], dataDirLock: DataDirLock | undefined, budgetMs: number): Promise<void> {
  const logger = container.get(TOKENS.Logger);
  const deadline = Date.now() + budgetMs;
  const failures: unknown[] = [];
  /** True when `work` ended in time and without error; a timeout or an error is logged, and the close goes on. */
  const step = async (name: string, work: () => Promise<unknown>): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()))));
    try {
      if ((await Promise.race([work().then(() => 'done' as const), timedOut])) === 'done') return true;
      logger.warn({ step: name, budgetMs }, 'close step not done within the shutdown bound; leaving it behind');
      return false;
    } catch (error) {
      failures.push(error);
      logger.error({ err: error, step: name }, 'close step failed');
      return false;
    } finally {
      clearTimeout(timer);
    }
  };
  // Jobs first: a round in flight finishes on a live Redis and database (a stuck one fails once they close).
  await step('background jobs', () => Promise.all(jobs.map((job) => job.stop())));
  // Redis and the database side by side: a pool waiting for a checked-out client (a stuck query) must not keep Redis open.
  const [, databaseClosed] = await Promise.all([
    step('redis', () => unbindIfBound(container, TOKENS.Redis)),
    step('database', () => unbindIfBound(container, TOKENS.Kysely)),
  ]);
  await step('container', () => container.unbindAll());
  if (databaseClosed) {
    await step('data folder lock', async () => dataDirLock?.release());
  } else if (dataDirLock !== undefined) {
    // Another process must not open the folder while this one may still write to it; the lock goes stale when this process exits.
    logger.warn({ dataDir: dataDirLock.dataDir }, 'database not closed: the data folder stays locked until this process exits');
  }
  if (failures.length > 0) throw failures[0];
}

async function unbindIfBound(container: Container, token: ServiceIdentifier): Promise<void> {
  if (container.isBound(token)) await container.unbind(token);
}

function once<A extends unknown[]>(run: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let done: Promise<void> | undefined;
  return (...args) => (done ??= run(...args));
}

/**
 * Brings the schema up to date. On Postgres, on a pool of one connection of
 * its own with the migration bounds (app/time-bounds.ts), closed afterwards:
 * the request bounds would fail a long migration, or a replica waiting for
 * another's. PGlite is one session, so it migrates on the app's own.
 */
async function migrate(config: Config, container: Container): Promise<void> {
  if (config.databaseUrl === undefined) {
    await migrateToLatest(await container.getAsync(TOKENS.Kysely));
    return;
  }
  const db = await createKysely({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 1,
    connectTimeoutMs: MIGRATION_TIME_BOUNDS.connectTimeoutMs,
    timeBounds: MIGRATION_TIME_BOUNDS,
  });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}
