/**
 * Where the real Redis and Postgres for tests come from, in this order:
 * REDIS_URL / DATABASE_URL when set; else the localhost defaults when they
 * answer; else containers when Docker runs; else a clear error. Never a
 * silent skip: a test that needs a service fails without it.
 *
 * The global setup resolves them once and hands the URLs to every worker
 * through `inject`.
 */
import { Redis } from 'ioredis';
import pg from 'pg';

export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';
export const LOCAL_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

/** A service that is up answers on localhost within this. */
const PROBE_TIMEOUT_MS = 2_000;

export interface ResolvedServices {
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly stop: () => Promise<void>;
}

/** Redis answers a PING (an open port alone could be anything, or a Redis that refuses us). */
export async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: PROBE_TIMEOUT_MS, commandTimeout: PROBE_TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Postgres lets us log in and run a query. */
export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS, query_timeout: PROBE_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function resolveServices(env: NodeJS.ProcessEnv = process.env): Promise<ResolvedServices> {
  const stops: (() => Promise<void>)[] = [];
  const redisUrl = env.REDIS_URL ?? ((await redisAnswers(LOCAL_REDIS_URL)) ? LOCAL_REDIS_URL : undefined);
  const databaseUrl = env.DATABASE_URL ?? ((await postgresAnswers(LOCAL_DATABASE_URL)) ? LOCAL_DATABASE_URL : undefined);
  const containers = { redisUrl, databaseUrl };
  if (redisUrl === undefined || databaseUrl === undefined) {
    try {
      if (redisUrl === undefined) {
        const { RedisContainer } = await import('@testcontainers/redis');
        const redis = await new RedisContainer('redis:7-alpine').start();
        stops.push(async () => void (await redis.stop()));
        containers.redisUrl = redis.getConnectionUrl();
      }
      if (databaseUrl === undefined) {
        const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
        const postgres = await new PostgreSqlContainer('postgres:16-alpine').start();
        stops.push(async () => void (await postgres.stop()));
        containers.databaseUrl = postgres.getConnectionUri();
      }
    } catch (error) {
      const missing = [redisUrl === undefined ? `Redis (no REDIS_URL, and nothing answers PING at ${LOCAL_REDIS_URL})` : '', databaseUrl === undefined ? `Postgres (no DATABASE_URL, and no login at ${LOCAL_DATABASE_URL})` : '']
        .filter(Boolean)
        .join(' and ');
      throw new Error(
        `The contract, integration, e2e and browser tests need ${missing}, and Docker for testcontainers is not available either (${String(error)}). ` +
          'Set REDIS_URL and DATABASE_URL, or start them on localhost (for example `redis-server --save ""` and a PostgreSQL 15+ with user postgres), ' +
          'or start Docker. `npm run test:unit` runs the tests that need neither.',
        { cause: error },
      );
    }
  }
  return {
    redisUrl: containers.redisUrl as string,
    databaseUrl: containers.databaseUrl as string,
    stop: async () => {
      for (const stop of stops) await stop();
    },
  };
}
