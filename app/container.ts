import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createHttpApp } from '../adapters/http/create-http-app.js';
import { createKysely } from '../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../adapters/kysely/kysely-transaction.js';
import { MemoryLock } from '../adapters/memory/memory-lock.js';
import { MemoryQueue } from '../adapters/memory/memory-queue.js';
import { createRedis } from '../adapters/redis/create-redis.js';
import { RedisLock } from '../adapters/redis/redis-lock.js';
import { RedisQueue } from '../adapters/redis/redis-queue.js';
import { RandomTokenGenerator } from '../adapters/system/random-token-generator.js';
import { systemClock } from '../core/ports/clock.port.js';
import { ChargePoints } from '../core/usecases/charge-points.js';
import { GetBalance } from '../core/usecases/get-balance.js';
import { GetPointHistory } from '../core/usecases/get-point-history.js';
import { AdmissionRate } from '../core/usecases/queue/admission-rate.js';
import { AdmitWaiters } from '../core/usecases/queue/admit-waiters.js';
import { ExpireToken } from '../core/usecases/queue/expire-token.js';
import { GetTokenStatus } from '../core/usecases/queue/get-token-status.js';
import { IssueToken } from '../core/usecases/queue/issue-token.js';
import type { QueueSettings } from '../core/usecases/queue/queue-settings.js';
import { RequireActiveToken } from '../core/usecases/queue/require-active-token.js';
import type { Config } from './config.js';
import { PeriodicJob } from './jobs/periodic-job.js';
import { InstrumentedLock } from './observability/instrumented-lock.js';
import { createLogger } from './observability/logger.js';
import { createMetricsRegistry } from './observability/metrics-registry.js';
import { admissionCounters, registerQueueGauges } from './observability/queue-metrics.js';
import { TOKENS } from './tokens.js';

/**
 * Config, logger, metrics, clock, token generator. Every LockPort the
 * container hands out is wrapped in InstrumentedLock, and every QueuePort
 * gets its gauges (activation hooks), whichever adapter bound them.
 */
export function observabilityModule(config: Config): ContainerModule {
  return new ContainerModule(({ bind, onActivation }) => {
    bind(TOKENS.Config).toConstantValue(config);
    bind(TOKENS.Logger).toConstantValue(createLogger(config.logLevel));
    bind(TOKENS.Metrics).toResolvedValue(createMetricsRegistry);
    bind(TOKENS.Clock).toConstantValue(systemClock);
    bind(TOKENS.TokenGenerator).toConstantValue(new RandomTokenGenerator());
    onActivation(TOKENS.Lock, (context, lock) => new InstrumentedLock(lock, context.get(TOKENS.Metrics)));
    onActivation(TOKENS.Queue, (context, queue) => {
      registerQueueGauges(context.get(TOKENS.Metrics), queue, context.get(TOKENS.Clock));
      return queue;
    });
  });
}

/** Embedded mode, one process: the in-process lock and queue. */
export const embeddedModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.Lock).toResolvedValue((clock) => new MemoryLock(clock), [TOKENS.Clock]);
  bind(TOKENS.Queue).toResolvedValue(() => new MemoryQueue());
});

/** Distributed mode: the lock and the queue (and later the cache) in Redis, shared by every instance. */
export function redisModule(redisUrl: string, prefix: string): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.Redis)
      .toResolvedValue((logger) => logConnectionChanges(createRedis(redisUrl, { name: 'app' }), logger), [TOKENS.Logger])
      .onDeactivation(async (redis) => {
        await redis.quit().catch(() => redis.disconnect());
      });
    bind(TOKENS.Lock).toResolvedValue((redis) => new RedisLock(redis, { prefix }), [TOKENS.Redis]);
    bind(TOKENS.Queue).toResolvedValue((redis) => new RedisQueue(redis, { prefix }), [TOKENS.Redis]);
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

  // One rate per instance, fed by its admission rounds and read by its status answers.
  bind(TOKENS.AdmissionRate).toResolvedValue(() => new AdmissionRate());
  bind(TOKENS.IssueToken).toResolvedValue((queue, tokens, clock) => new IssueToken(queue, tokens, clock), [
    TOKENS.Queue,
    TOKENS.TokenGenerator,
    TOKENS.Clock,
  ]);
  bind(TOKENS.GetTokenStatus).toResolvedValue(
    (queue, clock, rate, config) => new GetTokenStatus(queue, clock, rate, queueSettings(config)),
    [TOKENS.Queue, TOKENS.Clock, TOKENS.AdmissionRate, TOKENS.Config],
  );
  bind(TOKENS.AdmitWaiters).toResolvedValue(
    (queue, clock, rate, config) => new AdmitWaiters(queue, clock, rate, queueSettings(config)),
    [TOKENS.Queue, TOKENS.Clock, TOKENS.AdmissionRate, TOKENS.Config],
  );
  bind(TOKENS.ExpireToken).toResolvedValue((queue) => new ExpireToken(queue), [TOKENS.Queue]);
  bind(TOKENS.RequireActiveToken).toResolvedValue((queue, clock) => new RequireActiveToken(queue, clock), [TOKENS.Queue, TOKENS.Clock]);
});

function queueSettings(config: Config): QueueSettings {
  return {
    activeMax: config.queue.activeMax,
    admitIntervalMs: config.queue.admitIntervalMs,
    activeTtlMs: config.queue.tokenTtlSeconds * 1_000,
  };
}

/** Background jobs of each instance. The application starts them once wired and stops them first on close. */
export const jobsModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.AdmissionJob)
    .toResolvedValue(
      (admitWaiters, config, logger, metrics) => {
        const counters = admissionCounters(metrics);
        return new PeriodicJob({
          name: 'queue-admission',
          intervalMs: config.queue.admitIntervalMs,
          logger,
          run: async () => counters.record(await admitWaiters.execute()),
        });
      },
      [TOKENS.AdmitWaiters, TOKENS.Config, TOKENS.Logger, TOKENS.Metrics],
    )
    .onDeactivation((job) => job.stop());
});

export const httpModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.HealthChecks).toResolvedValue(
    (tx, lock) => ({ database: () => tx.ping(), lock: () => lock.ping() }),
    [TOKENS.Transaction, TOKENS.Lock],
  );
  bind(TOKENS.HttpApp).toResolvedValue(
    (chargePoints, getBalance, getPointHistory, issueToken, getTokenStatus, health, metrics, logger) =>
      createHttpApp({ chargePoints, getBalance, getPointHistory, issueToken, getTokenStatus, health, metrics, logger }),
    [
      TOKENS.ChargePoints,
      TOKENS.GetBalance,
      TOKENS.GetPointHistory,
      TOKENS.IssueToken,
      TOKENS.GetTokenStatus,
      TOKENS.HealthChecks,
      TOKENS.Metrics,
      TOKENS.Logger,
    ],
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
    jobsModule,
    httpModule,
  );
  return container;
}
