import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { JoseAccessTokenVerifier } from '../adapters/auth/jose-access-token-verifier.js';
import { signAccessToken } from '../adapters/auth/sign-access-token.js';
import { createHttpApp } from '../adapters/http/create-http-app.js';
import { SeatStreams } from '../adapters/http/seat-stream.js';
import { createKysely } from '../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../adapters/kysely/kysely-transaction.js';
import { MemoryCache } from '../adapters/memory/memory-cache.js';
import { MemoryLock } from '../adapters/memory/memory-lock.js';
import { MemoryQueue } from '../adapters/memory/memory-queue.js';
import { createRedis } from '../adapters/redis/create-redis.js';
import { RedisCache } from '../adapters/redis/redis-cache.js';
import { RedisLock } from '../adapters/redis/redis-lock.js';
import { RedisQueue } from '../adapters/redis/redis-queue.js';
import { PassThroughCache } from '../adapters/system/pass-through-cache.js';
import { RandomTokenGenerator } from '../adapters/system/random-token-generator.js';
import { UuidGenerator } from '../adapters/system/uuid-generator.js';
import type { Clock } from '../core/ports/clock.port.js';
import type { BreakerState } from '../core/support/circuit-breaker.js';
import { systemClock } from '../core/ports/clock.port.js';
import { CatalogCache } from '../core/usecases/catalog/catalog-cache.js';
import { CreateConcert } from '../core/usecases/catalog/create-concert.js';
import { CreateSchedule } from '../core/usecases/catalog/create-schedule.js';
import { GetSeatMap } from '../core/usecases/catalog/get-seat-map.js';
import { ListConcerts } from '../core/usecases/catalog/list-concerts.js';
import { ListSchedules } from '../core/usecases/catalog/list-schedules.js';
import { SeedDemoCatalog } from '../core/usecases/catalog/seed-demo-catalog.js';
import { ChargePoints } from '../core/usecases/charge-points.js';
import { IDEMPOTENCY_PURGE, PurgeIdempotencyKeys } from '../core/usecases/purge-idempotency-keys.js';
import { GetBalance } from '../core/usecases/get-balance.js';
import { GetPointHistory } from '../core/usecases/get-point-history.js';
import { AdmissionRate } from '../core/usecases/queue/admission-rate.js';
import { AdmitWaiters } from '../core/usecases/queue/admit-waiters.js';
import { ExpireToken } from '../core/usecases/queue/expire-token.js';
import { ExtendToken } from '../core/usecases/queue/extend-token.js';
import { GetCurrentToken } from '../core/usecases/queue/get-current-token.js';
import { GetQueueStats } from '../core/usecases/queue/get-queue-stats.js';
import { LeaveQueue } from '../core/usecases/queue/leave-queue.js';
import { IssueToken } from '../core/usecases/queue/issue-token.js';
import type { QueueSettings } from '../core/usecases/queue/queue-settings.js';
import { RequireActiveToken } from '../core/usecases/queue/require-active-token.js';
import { ExpireHolds } from '../core/usecases/reservations/expire-holds.js';
import { GetReservation } from '../core/usecases/reservations/get-reservation.js';
import { ListUserReservations } from '../core/usecases/reservations/list-user-reservations.js';
import { PayReservation } from '../core/usecases/reservations/pay-reservation.js';
import { ReserveSeat } from '../core/usecases/reservations/reserve-seat.js';
import { loadOrCreateEmbeddedSecret } from './auth/embedded-secret.js';
import type { Config } from './config.js';
import { PeriodicJob } from './jobs/periodic-job.js';
import { cacheBreakerMetrics, cacheInvalidationFailureCounter, cacheMetrics } from './observability/cache-metrics.js';
import { InstrumentedLock } from './observability/instrumented-lock.js';
import { createLogger } from './observability/logger.js';
import { createMetricsRegistry } from './observability/metrics-registry.js';
import { admissionCounters, registerQueueGauges } from './observability/queue-metrics.js';
import { expiredHoldsCounter, tokenNotExpiredCounter, tokenNotExtendedCounter } from './observability/reservation-metrics.js';
import { DATABASE_TIME_BOUNDS, DB_TRANSACTION_BUDGET_MS, HTTP_REQUEST_TIMEOUT_MS, LOCK_LEASE_MS, LOCK_WAIT_MS } from './time-bounds.js';
import { TOKENS } from './tokens.js';

/** What a caller may put in place of the defaults: tests pass a clock they move. */
export interface ContainerOptions {
  readonly clock?: Clock;
}

/**
 * Config, logger, metrics, clock, token and id generators. Every LockPort the
 * container hands out is wrapped in InstrumentedLock, and every QueuePort
 * gets its gauges (activation hooks), whichever adapter bound them.
 */
export function observabilityModule(config: Config, options: ContainerOptions = {}): ContainerModule {
  return new ContainerModule(({ bind, onActivation }) => {
    bind(TOKENS.Config).toConstantValue(config);
    bind(TOKENS.Logger).toConstantValue(createLogger(config.logLevel));
    bind(TOKENS.Metrics).toResolvedValue(createMetricsRegistry);
    bind(TOKENS.Clock).toConstantValue(options.clock ?? systemClock);
    bind(TOKENS.TokenGenerator).toConstantValue(new RandomTokenGenerator());
    bind(TOKENS.IdGenerator).toConstantValue(new UuidGenerator());
    onActivation(TOKENS.Lock, (context, lock) => new InstrumentedLock(lock, context.get(TOKENS.Metrics)));
    onActivation(TOKENS.Queue, (context, queue) => {
      registerQueueGauges(context.get(TOKENS.Metrics), queue, context.get(TOKENS.Clock));
      return queue;
    });
  });
}

/** Embedded mode, one process: the in-process lock and queue (the cache: cacheModule). */
export const embeddedModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.Lock).toResolvedValue((clock) => new MemoryLock(clock, { defaultLeaseMs: LOCK_LEASE_MS }), [TOKENS.Clock]);
  bind(TOKENS.Queue).toResolvedValue(() => new MemoryQueue());
});

/** Distributed mode: the lock and the queue in Redis, shared by every instance (the cache: cacheModule). */
export function redisModule(redisUrl: string, prefix: string): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.Redis)
      .toResolvedValue((logger) => logConnectionChanges(createRedis(redisUrl, { name: 'app' }), logger), [TOKENS.Logger])
      .onDeactivation(async (redis) => {
        await redis.quit().catch(() => redis.disconnect());
      });
    bind(TOKENS.Lock).toResolvedValue((redis) => new RedisLock(redis, { prefix, defaultLeaseMs: LOCK_LEASE_MS }), [TOKENS.Redis]);
    bind(TOKENS.Queue).toResolvedValue((redis) => new RedisQueue(redis, { prefix }), [TOKENS.Redis]);
  });
}

/**
 * The catalog cache: in Redis in distributed mode, in the process in
 * embedded mode, and, with CACHE_ENABLED=false, none in either (every read
 * loads, counted as a bypass and a load: the comparison the bench makes).
 */
export function cacheModule(config: Pick<Config, 'cacheEnabled' | 'redisUrl' | 'redisPrefix'>): ContainerModule {
  return new ContainerModule(({ bind }) => {
    if (!config.cacheEnabled) {
      bind(TOKENS.Cache).toResolvedValue((metrics) => new PassThroughCache(cacheMetrics(metrics)), [TOKENS.Metrics]);
    } else if (config.redisUrl === undefined) {
      bind(TOKENS.Cache).toResolvedValue((clock, metrics) => new MemoryCache(clock, cacheMetrics(metrics)), [TOKENS.Clock, TOKENS.Metrics]);
    } else {
      const prefix = config.redisPrefix;
      bind(TOKENS.Cache).toResolvedValue((redis, metrics, logger) => observedRedisCache(redis, prefix, metrics, logger), [
        TOKENS.Redis,
        TOKENS.Metrics,
        TOKENS.Logger,
      ]);
    }
  });
}

/**
 * The Redis cache with its counters, its breaker's gauges, and a log line
 * when the breaker opens and when it closes again (not on each failed probe
 * in between: a hung Redis would log one every second).
 */
function observedRedisCache(redis: Redis, prefix: string, metrics: Registry, logger: Logger): RedisCache {
  // Read at scrape time only, once `cache` exists.
  const breaker = cacheBreakerMetrics(metrics, () => cache.undeliveredInvalidations);
  let previous: BreakerState = 'closed';
  const cache = new RedisCache(redis, {
    prefix,
    ...cacheMetrics(metrics),
    onShortCircuit: breaker.onShortCircuit,
    breaker: {
      onStateChange: (state) => {
        breaker.onStateChange(state);
        if (state === 'open' && previous === 'closed') logger.warn('cache circuit open: catalog reads go to the database without asking Redis');
        if (state === 'closed') logger.info('cache circuit closed: catalog reads use Redis again');
        previous = state;
      },
    },
  });
  return cache;
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
export function kyselyModule(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'databasePoolSize'>): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.Kysely)
      .toResolvedValue(() =>
        createKysely({
          databaseUrl: config.databaseUrl,
          dataDir: config.dataDir,
          poolSize: config.databasePoolSize,
          // app/time-bounds.ts: every statement, lock wait, idle transaction and silent connection bounded.
          connectTimeoutMs: DATABASE_TIME_BOUNDS.connectTimeoutMs,
          timeBounds: DATABASE_TIME_BOUNDS,
        }),
      )
      .onDeactivation((db) => db.destroy());
    bind(TOKENS.Transaction).toResolvedValue((db) => new KyselyTransactionManager(db, { budgetMs: DB_TRANSACTION_BUDGET_MS }), [TOKENS.Kysely]);
  });
}

/** The use cases: plain core classes, bound without decorators. */
export const coreModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.ChargePoints).toResolvedValue((lock, tx, clock) => new ChargePoints(lock, tx, clock, { walletWaitMs: LOCK_WAIT_MS }), [
    TOKENS.Lock,
    TOKENS.Transaction,
    TOKENS.Clock,
  ]);
  bind(TOKENS.GetBalance).toResolvedValue((tx) => new GetBalance(tx), [TOKENS.Transaction]);
  bind(TOKENS.GetPointHistory).toResolvedValue((tx) => new GetPointHistory(tx), [TOKENS.Transaction]);

  // One rate per instance, fed by its admission rounds and read by its status answers.
  bind(TOKENS.AdmissionRate).toResolvedValue(() => new AdmissionRate());
  bind(TOKENS.IssueToken).toResolvedValue(
    (queue, tokens, clock, rate, config) => new IssueToken(queue, tokens, clock, rate, queueSettings(config)),
    [TOKENS.Queue, TOKENS.TokenGenerator, TOKENS.Clock, TOKENS.AdmissionRate, TOKENS.Config],
  );
  bind(TOKENS.GetCurrentToken).toResolvedValue(
    (queue, clock, rate, config) => new GetCurrentToken(queue, clock, rate, queueSettings(config)),
    [TOKENS.Queue, TOKENS.Clock, TOKENS.AdmissionRate, TOKENS.Config],
  );
  bind(TOKENS.LeaveQueue).toResolvedValue((queue, clock) => new LeaveQueue(queue, clock), [TOKENS.Queue, TOKENS.Clock]);
  bind(TOKENS.ExtendToken).toResolvedValue((queue, clock) => new ExtendToken(queue, clock), [TOKENS.Queue, TOKENS.Clock]);
  bind(TOKENS.AdmitWaiters).toResolvedValue(
    (queue, clock, rate, config) => new AdmitWaiters(queue, clock, rate, queueSettings(config)),
    [TOKENS.Queue, TOKENS.Clock, TOKENS.AdmissionRate, TOKENS.Config],
  );
  bind(TOKENS.ExpireToken).toResolvedValue((queue, clock) => new ExpireToken(queue, clock), [TOKENS.Queue, TOKENS.Clock]);
  bind(TOKENS.RequireActiveToken).toResolvedValue((queue, clock) => new RequireActiveToken(queue, clock), [TOKENS.Queue, TOKENS.Clock]);
});

/** Catalog and sales: browse, admin writes, reserve, pay, expire holds. */
export const salesModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.CatalogCache).toResolvedValue(
    (cache, tx, logger, metrics, config) => {
      const failed = cacheInvalidationFailureCounter(metrics);
      return new CatalogCache(cache, tx, {
        strategy: config.seatMapCacheStrategy,
        onInvalidationFailed: (error) => {
          failed();
          logger.warn({ err: error }, 'write committed, but the catalog cache could not be invalidated in full; stale entries end on their TTL');
        },
      });
    },
    [TOKENS.Cache, TOKENS.Transaction, TOKENS.Logger, TOKENS.Metrics, TOKENS.Config],
  );
  bind(TOKENS.ListConcerts).toResolvedValue((tx, cache) => new ListConcerts(tx, cache), [TOKENS.Transaction, TOKENS.CatalogCache]);
  bind(TOKENS.ListSchedules).toResolvedValue((tx, clock, cache) => new ListSchedules(tx, clock, cache), [
    TOKENS.Transaction,
    TOKENS.Clock,
    TOKENS.CatalogCache,
  ]);
  bind(TOKENS.GetSeatMap).toResolvedValue((tx, clock, cache) => new GetSeatMap(tx, clock, cache), [TOKENS.Transaction, TOKENS.Clock, TOKENS.CatalogCache]);
  bind(TOKENS.CreateConcert).toResolvedValue((tx, ids, cache) => new CreateConcert(tx, ids, cache), [
    TOKENS.Transaction,
    TOKENS.IdGenerator,
    TOKENS.CatalogCache,
  ]);
  bind(TOKENS.CreateSchedule).toResolvedValue((tx, ids, cache) => new CreateSchedule(tx, ids, cache), [
    TOKENS.Transaction,
    TOKENS.IdGenerator,
    TOKENS.CatalogCache,
  ]);
  bind(TOKENS.SeedDemoCatalog).toResolvedValue((lock, tx, clock) => new SeedDemoCatalog(lock, tx, clock), [TOKENS.Lock, TOKENS.Transaction, TOKENS.Clock]);

  bind(TOKENS.ReserveSeat).toResolvedValue(
    (lock, tx, clock, ids, cache, extendToken, config, logger, metrics) => {
      const notExtended = tokenNotExtendedCounter(metrics);
      return new ReserveSeat(lock, tx, clock, ids, cache, extendToken, {
        holdTtlMs: config.holdTtlSeconds * 1_000,
        maxSeatsPerUser: config.maxSeatsPerUser,
        userLockWaitMs: LOCK_WAIT_MS,
        onTokenNotExtended: (error) => {
          notExtended.inc();
          logger.warn({ err: error }, 'hold committed but its queue token could not be extended to the hold end');
        },
      });
    },
    [
      TOKENS.Lock,
      TOKENS.Transaction,
      TOKENS.Clock,
      TOKENS.IdGenerator,
      TOKENS.CatalogCache,
      TOKENS.ExtendToken,
      TOKENS.Config,
      TOKENS.Logger,
      TOKENS.Metrics,
    ],
  );
  bind(TOKENS.PayReservation).toResolvedValue(
    (lock, tx, clock, ids, expireToken, cache, logger, metrics) => {
      const notExpired = tokenNotExpiredCounter(metrics);
      return new PayReservation(lock, tx, clock, ids, expireToken, cache, {
        lockWaitMs: LOCK_WAIT_MS,
        onTokenNotExpired: (error) => {
          notExpired.inc();
          logger.warn({ err: error }, 'payment committed but its queue token could not be expired; it ends on its TTL');
        },
      });
    },
    [TOKENS.Lock, TOKENS.Transaction, TOKENS.Clock, TOKENS.IdGenerator, TOKENS.ExpireToken, TOKENS.CatalogCache, TOKENS.Logger, TOKENS.Metrics],
  );
  bind(TOKENS.GetReservation).toResolvedValue((tx, clock) => new GetReservation(tx, clock), [TOKENS.Transaction, TOKENS.Clock]);
  bind(TOKENS.ListUserReservations).toResolvedValue((tx, clock) => new ListUserReservations(tx, clock), [TOKENS.Transaction, TOKENS.Clock]);
  bind(TOKENS.ExpireHolds).toResolvedValue((lock, tx, clock, cache) => new ExpireHolds(lock, tx, clock, cache), [
    TOKENS.Lock,
    TOKENS.Transaction,
    TOKENS.Clock,
    TOKENS.CatalogCache,
  ]);
});

/**
 * How often each instance sweeps ended holds: every 5 s, or a quarter of the
 * hold's TTL when that is shorter. Reserving already treats an ended hold as
 * free, so the sweep only bounds how long the stored state lags.
 */
export function holdSweepIntervalMs(config: Pick<Config, 'holdTtlSeconds'>): number {
  return Math.min(5_000, Math.max(100, (config.holdTtlSeconds * 1_000) / 4));
}

function queueSettings(config: Config): QueueSettings {
  return {
    activeMax: config.queue.activeMax,
    admitIntervalMs: config.queue.admitIntervalMs,
    activeTtlMs: config.queue.tokenTtlSeconds * 1_000,
    presenceTimeoutMs: config.queue.presenceTimeoutSeconds * 1_000,
  };
}

/**
 * Access tokens: verified with the configured secret or key set; in the
 * embedded default (config.ts refuses it in distributed mode), with a secret
 * the service keeps in DATA_DIR, the one `npm run token` signs with.
 */
export const identityModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.AccessTokens).toResolvedValue(
    async (config, clock) => {
      const { auth } = config;
      // The app's clock: a token's expiry is judged on the same time as holds and queue tokens.
      const options = { now: () => clock.now() };
      if (auth.kind !== 'embedded') return new JoseAccessTokenVerifier(auth, options);
      return new JoseAccessTokenVerifier({ kind: 'secret', secret: await loadOrCreateEmbeddedSecret(config.dataDir) }, options);
    },
    [TOKENS.Config, TOKENS.Clock],
  );
});

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
  bind(TOKENS.HoldSweeperJob)
    .toResolvedValue(
      (expireHolds, config, logger, metrics) => {
        const expired = expiredHoldsCounter(metrics);
        return new PeriodicJob({
          name: 'hold-sweeper',
          intervalMs: holdSweepIntervalMs(config),
          logger,
          run: async () => expired.inc(await expireHolds.execute()),
        });
      },
      [TOKENS.ExpireHolds, TOKENS.Config, TOKENS.Logger, TOKENS.Metrics],
    )
    .onDeactivation((job) => job.stop());
  // Every instance runs it: each batch skips the rows another instance's batch holds (SKIP LOCKED).
  bind(TOKENS.IdempotencyPurgeJob)
    .toResolvedValue(
      (tx, config, logger) => {
        const purge = new PurgeIdempotencyKeys(tx, {
          retentionMs: config.idempotencyRetentionHours * 3_600_000,
          batchSize: IDEMPOTENCY_PURGE.batchSize,
          maxBatchesPerRound: IDEMPOTENCY_PURGE.maxBatchesPerRound,
        });
        return new PeriodicJob({
          name: 'idempotency-purge',
          intervalMs: IDEMPOTENCY_PURGE.intervalMs,
          logger,
          run: async () => {
            const { purged, backlog } = await purge.execute();
            if (backlog) logger.info({ purged }, 'idempotency keys: the purge round stopped at its bound; the next round goes on');
          },
        });
      },
      [TOKENS.Transaction, TOKENS.Config, TOKENS.Logger],
    )
    .onDeactivation((job) => job.stop());
});

export const httpModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.HealthChecks).toResolvedValue(
    (tx, lock, cache, queue) => ({ database: () => tx.ping(), lock: () => lock.ping(), cache: () => cache.ping(), queue: () => queue.ping() }),
    [TOKENS.Transaction, TOKENS.Lock, TOKENS.Cache, TOKENS.Queue],
  );
  bind(TOKENS.SeatStreams)
    .toResolvedValue((getSeatMap, logger) => new SeatStreams((scheduleId) => getSeatMap.execute(scheduleId), logger), [TOKENS.GetSeatMap, TOKENS.Logger])
    .onDeactivation((streams) => streams.close());
  // One dependency per route group's use case: named lookups read better than eighteen positional arguments.
  bind(TOKENS.HttpApp).toDynamicValue(async (context) => {
    const config = await context.getAsync(TOKENS.Config);
    // The buyer page's dev sign-in: only where the service signs with a secret of its own (identityModule's embedded default).
    const embeddedSecret = config.auth.kind === 'embedded' ? await loadOrCreateEmbeddedSecret(config.dataDir) : undefined;
    return createHttpApp({
      chargePoints: await context.getAsync(TOKENS.ChargePoints),
      getBalance: await context.getAsync(TOKENS.GetBalance),
      getPointHistory: await context.getAsync(TOKENS.GetPointHistory),
      issueToken: await context.getAsync(TOKENS.IssueToken),
      getCurrentToken: await context.getAsync(TOKENS.GetCurrentToken),
      leaveQueue: await context.getAsync(TOKENS.LeaveQueue),
      requireActiveToken: await context.getAsync(TOKENS.RequireActiveToken),
      listConcerts: await context.getAsync(TOKENS.ListConcerts),
      listSchedules: await context.getAsync(TOKENS.ListSchedules),
      getSeatMap: await context.getAsync(TOKENS.GetSeatMap),
      createConcert: await context.getAsync(TOKENS.CreateConcert),
      createSchedule: await context.getAsync(TOKENS.CreateSchedule),
      adminToken: config.adminToken,
      reserveSeat: await context.getAsync(TOKENS.ReserveSeat),
      getReservation: await context.getAsync(TOKENS.GetReservation),
      listUserReservations: await context.getAsync(TOKENS.ListUserReservations),
      payReservation: await context.getAsync(TOKENS.PayReservation),
      accessTokens: await context.getAsync(TOKENS.AccessTokens),
      metricsToken: config.metricsToken,
      health: await context.getAsync(TOKENS.HealthChecks),
      mode: config.redisUrl === undefined ? 'embedded' : 'distributed',
      requestTimeoutMs: HTTP_REQUEST_TIMEOUT_MS,
      metrics: await context.getAsync(TOKENS.Metrics),
      logger: await context.getAsync(TOKENS.Logger),
      getQueueStats: new GetQueueStats(await context.getAsync(TOKENS.Queue), await context.getAsync(TOKENS.Clock), await context.getAsync(TOKENS.AdmissionRate)),
      seatStreams: await context.getAsync(TOKENS.SeatStreams),
      buyerPage: {
        maxSeatsPerUser: config.maxSeatsPerUser,
        ...(embeddedSecret === undefined ? {} : { devSignIn: (userId: string) => signAccessToken(embeddedSecret, userId) }),
      },
    });
  });
});

/** Picks one module per port from the config; everything is a singleton. */
export async function buildContainer(config: Config, options: ContainerOptions = {}): Promise<Container> {
  const container = new Container({ defaultScope: 'Singleton' });
  await container.load(
    observabilityModule(config, options),
    config.redisUrl === undefined ? embeddedModule : redisModule(config.redisUrl, config.redisPrefix),
    cacheModule(config),
    kyselyModule(config),
    identityModule,
    coreModule,
    salesModule,
    jobsModule,
    httpModule,
  );
  return container;
}
