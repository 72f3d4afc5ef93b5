import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createHttpApp } from '../adapters/http/create-http-app.js';
import { createKysely } from '../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../adapters/kysely/kysely-transaction.js';
import { MemoryLock } from '../adapters/memory/memory-lock.js';
import { createRedis } from '../adapters/redis/create-redis.js';
import { RedisLock } from '../adapters/redis/redis-lock.js';
import { systemClock } from '../core/ports/clock.port.js';
import { ChargePoints } from '../core/usecases/charge-points.js';
import { GetBalance } from '../core/usecases/get-balance.js';
import { GetPointHistory } from '../core/usecases/get-point-history.js';
import type { Config } from './config.js';
import { InstrumentedLock } from './observability/instrumented-lock.js';
import { createLogger } from './observability/logger.js';
import { createMetricsRegistry } from './observability/metrics-registry.js';
import { TOKENS } from './tokens.js';

/**
 * Config, logger, metrics, clock. Every LockPort the container hands out is
 * wrapped in InstrumentedLock (an activation hook), whichever adapter bound it.
 */
export function observabilityModule(config: Config): ContainerModule {
  return new ContainerModule(({ bind, onActivation }) => {
    bind(TOKENS.Config).toConstantValue(config);
    bind(TOKENS.Logger).toConstantValue(createLogger(config.logLevel));
    bind(TOKENS.Metrics).toResolvedValue(createMetricsRegistry);
    bind(TOKENS.Clock).toConstantValue(systemClock);
    onActivation(TOKENS.Lock, (context, lock) => new InstrumentedLock(lock, context.get(TOKENS.Metrics)));
  });
}

/** Embedded mode, one process: the in-process lock. */
export const embeddedModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.Lock).toResolvedValue((clock) => new MemoryLock(clock), [TOKENS.Clock]);
});

/** Distributed mode: the lock (and later cache and queue) in Redis, shared by every instance. */
export function redisModule(redisUrl: string, prefix: string): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.Redis)
      .toResolvedValue((logger) => logConnectionChanges(createRedis(redisUrl, { name: 'app' }), logger), [TOKENS.Logger])
      .onDeactivation(async (redis) => {
        await redis.quit().catch(() => redis.disconnect());
      });
    bind(TOKENS.Lock).toResolvedValue((redis) => new RedisLock(redis, { prefix }), [TOKENS.Redis]);
  });
}

/** Logs when Redis goes away and when it is back, once each (ioredis repeats the error on every reconnect attempt). */
function logConnectionChanges(redis: Redis, logger: Logger): Redis {
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn({ err: error }, 'redis unavailable');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('redis available again');
  });
  return redis;
}

/** The database: Postgres when DATABASE_URL is set, else PGlite in DATA_DIR; the same Kysely code either way. */
export function kyselyModule(config: Pick<Config, 'databaseUrl' | 'dataDir'>): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.Kysely)
      .toResolvedValue(() => createKysely({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }))
      .onDeactivation((db) => db.destroy());
    bind(TOKENS.Transaction).toResolvedValue((db) => new KyselyTransactionManager(db), [TOKENS.Kysely]);
  });
}

/** The use cases: plain core classes, bound without decorators. */
export const coreModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.ChargePoints).toResolvedValue((lock, tx, clock) => new ChargePoints(lock, tx, clock), [TOKENS.Lock, TOKENS.Transaction, TOKENS.Clock]);
  bind(TOKENS.GetBalance).toResolvedValue((tx) => new GetBalance(tx), [TOKENS.Transaction]);
  bind(TOKENS.GetPointHistory).toResolvedValue((tx) => new GetPointHistory(tx), [TOKENS.Transaction]);
});

export const httpModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.HealthChecks).toResolvedValue(
    (tx, lock) => ({ database: () => tx.ping(), lock: () => lock.ping() }),
    [TOKENS.Transaction, TOKENS.Lock],
  );
  bind(TOKENS.HttpApp).toResolvedValue(
    (chargePoints, getBalance, getPointHistory, health, metrics, logger) =>
      createHttpApp({ chargePoints, getBalance, getPointHistory, health, metrics, logger }),
    [TOKENS.ChargePoints, TOKENS.GetBalance, TOKENS.GetPointHistory, TOKENS.HealthChecks, TOKENS.Metrics, TOKENS.Logger],
  );
});

/** Picks one module per port from the config; everything is a singleton. */
export async function buildContainer(config: Config): Promise<Container> {
  const container = new Container({ defaultScope: 'Singleton' });
  await container.load(
    observabilityModule(config),
    config.redisUrl === undefined ? embeddedModule : redisModule(config.redisUrl, config.redisPrefix),
    kyselyModule(config),
    coreModule,
    httpModule,
  );
  return container;
}
