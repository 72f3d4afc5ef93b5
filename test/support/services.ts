/**
 * Where the real Redis and Postgres for tests come from, in this order:
 * REDIS_URL / DATABASE_URL when set; else the localhost defaults when they
 * answer; else containers when Docker runs; else a clear error. Never a
 * silent skip: a test that needs a service fails without it.
 *
 * The global setup resolves them once and hands the URLs to every worker
 * through `inject`.
 */
import net from 'node:net';

export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';
export const LOCAL_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

export interface ResolvedServices {
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly stop: () => Promise<void>;
}

function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function resolveServices(env: NodeJS.ProcessEnv = process.env): Promise<ResolvedServices> {
  const stops: (() => Promise<void>)[] = [];
  const redisUrl = env.REDIS_URL ?? ((await answers(LOCAL_REDIS_URL)) ? LOCAL_REDIS_URL : undefined);
  const databaseUrl = env.DATABASE_URL ?? ((await answers(LOCAL_DATABASE_URL)) ? LOCAL_DATABASE_URL : undefined);
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
        const pg = await new PostgreSqlContainer('postgres:16-alpine').start();
        stops.push(async () => void (await pg.stop()));
        containers.databaseUrl = pg.getConnectionUri();
      }
    } catch (error) {
      throw new Error(
        'Tests need Redis and Postgres: set REDIS_URL and DATABASE_URL, run them on localhost ' +
          `(${LOCAL_REDIS_URL}, ${LOCAL_DATABASE_URL}), or run Docker for testcontainers. ` +
          `Starting containers failed: ${String(error)}`,
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
