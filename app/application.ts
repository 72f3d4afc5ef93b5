import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Container } from 'inversify';
import type { Logger } from 'pino';
import { migrateToLatest } from '../adapters/kysely/migrate.js';
import type { Config } from './config.js';
import type { ContainerOptions } from './container.js';
import { buildContainer } from './container.js';
import type { PeriodicJob } from './jobs/periodic-job.js';
import { TOKENS } from './tokens.js';

/** The wired application, without a listening socket: tests drive `app.request(...)`. */
export interface Application {
  readonly app: OpenAPIHono;
  readonly container: Container;
  readonly logger: Logger;
  /** Stops the background jobs, then releases every resource the container opened (Redis connection, database pool), once. */
  close(): Promise<void>;
}

/**
 * Builds the container, brings the database schema up to date, seeds the
 * demo catalog into an empty database (SEED_DEMO), resolves the HTTP app,
 * starts the background jobs. `options.clock` replaces the system clock
 * (tests move it across a hold's end instead of sleeping).
 */
export async function createApplication(config: Config, options: ContainerOptions = {}): Promise<Application> {
  const container = await buildContainer(config, options);
  const jobs: PeriodicJob[] = [];
  const close = once(async () => {
    // Jobs first: a round in flight finishes on a live Redis and database.
    await Promise.all(jobs.map((job) => job.stop()));
    await container.unbindAll();
  });
  try {
    await migrateToLatest(await container.getAsync(TOKENS.Kysely));
    if (config.seedDemo) {
      const outcome = await (await container.getAsync(TOKENS.SeedDemoCatalog)).execute();
      container.get(TOKENS.Logger).info({ outcome }, 'demo catalog');
    }
    const app = await container.getAsync(TOKENS.HttpApp);
    jobs.push(await container.getAsync(TOKENS.AdmissionJob), await container.getAsync(TOKENS.HoldSweeperJob));
    for (const job of jobs) job.start();
    return { app, container, logger: container.get(TOKENS.Logger), close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

function once(run: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= run());
}
