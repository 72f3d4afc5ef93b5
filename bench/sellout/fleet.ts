/**
 * The deployment under sale, as docker-compose shapes it but as local
 * processes: N service instances (app/main.ts, the real service configured
 * from the environment: bench/sellout/instance.ts) on one Postgres and one
 * Redis. Isolated like `npm run bench`: a database of its own (created,
 * then dropped) and a Redis key prefix of its own (its keys deleted), or,
 * for a Redis fault, a redis-server of its own. One AUTH_JWT_SECRET and
 * ADMIN_TOKEN, new each run.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { FaultKind, SelloutOptions } from './options.js';
import { REDIS_FAULTS } from './options.js';
import type { Exit, Instance } from './instance.js';
import { startInstance } from './instance.js';
// The drills' own redis-server: the same restartable, pausable, AOF-persisted (or not) server a fault needs here.
import type { DrillRedisServer as OwnRedis } from '../../test/support/drill-redis-server.js';
import { startDrillRedisServer } from '../../test/support/drill-redis-server.js';
import { deleteKeysUnder, dropDatabase } from '../cleanup.js';

/** What every instance is configured with, beyond the connections; the summary prints it. */
export interface ServiceSettings {
  readonly holdTtlSeconds: number;
  readonly tokenTtlSeconds: number;
  readonly presenceTimeoutSeconds: number;
  readonly activeMax: number;
  readonly admitIntervalMs: number;
  readonly maxSeatsPerUser: number;
  readonly poolSize: number;
}

export function serviceSettings(options: Pick<SelloutOptions, 'holdSeconds'>): ServiceSettings {
  return {
    holdTtlSeconds: options.holdSeconds,
    // At least the hold (config.ts refuses less), and room for a buyer who looks for a returning seat for a hold's length and then pays.
    tokenTtlSeconds: options.holdSeconds * 3,
    // Walked-away waiters are dropped within seconds, while a 2 s Redis outage (the buyers' polls answered 503) drops nobody.
    presenceTimeoutSeconds: 10,
    // The service's defaults: the line as deployed.
    activeMax: 100,
    admitIntervalMs: 1_000,
    maxSeatsPerUser: 4,
    // Three instances × 10 stay well inside Postgres's 100 connections, which this machine shares with other work.
    poolSize: 10,
  };
}

export interface Fleet {
  /** Each instance's base URL, by index. */
  readonly urls: readonly string[];
  /** The sell-out's own database (the invariant check reads it). */
  readonly databaseUrl: string;
  readonly databaseName: string;
  /** Where the instances' Redis is, and whether it is the sell-out's own server. */
  readonly redis: { readonly url: string; readonly prefix: string; readonly own: boolean };
  readonly adminToken: string;
  readonly authSecret: string;
  readonly settings: ServiceSettings;
  /** The sell-out's own redis-server (Redis faults only). */
  readonly ownRedis: OwnRedis | undefined;
  /**
   * Sends `signal` to one instance and resolves when it has exited: SIGKILL
   * (no shutdown, its connections reset, its locks left to their leases) or
   * SIGTERM (its own bounded stop).
   */
  signal(index: number, signal: NodeJS.Signals): Promise<Exit>;
  /** Stops every instance still running (SIGTERM: they drain and close). */
  stopInstances(): Promise<void>;
  /** Stops the instances, then drops the database and the Redis keys (or the own server). Once, however the run ended. */
  remove(): Promise<void>;
}

type Log = (message: string) => void;

export async function startFleet(options: SelloutOptions, log: Log): Promise<Fleet> {
  const id = randomBytes(4).toString('hex');
  const databaseName = `sellout_${id}`;
  const prefix = `sellout_${id}:`;
  const settings = serviceSettings(options);
  const children: Instance[] = [];
  let ownRedis: OwnRedis | undefined;
  let databaseCreated = false;

  const stopInstances = async (): Promise<void> => {
    await Promise.all(children.map((child) => child.stop()));
  };
  let removed: Promise<void> | undefined;
  const remove = (): Promise<void> =>
    (removed ??= (async () => {
      await stopInstances();
      if (ownRedis !== undefined) await ownRedis.remove();
      else await deleteKeys(options.redisUrl, prefix, log);
      if (databaseCreated) await dropSaleDatabase(options.databaseUrl, databaseName, log);
    })());

  try {
    await withAdmin(options.databaseUrl, (admin) => admin.query(`create database ${databaseName}`));
    databaseCreated = true;
    const databaseUrl = withDatabase(options.databaseUrl, databaseName);
    if (REDIS_FAULTS.includes(options.fault)) ownRedis = await startDrillRedisServer({ persistence: redisPersistence(options.fault) });
    const redisUrl = ownRedis?.url ?? options.redisUrl;
    const adminToken = randomBytes(16).toString('hex');
    // 64 hex characters, 256 bits: the identity provider's key for this run only.
    const authSecret = randomBytes(32).toString('hex');
    log(`database ${databaseName}, Redis ${ownRedis === undefined ? `prefix ${prefix}` : `of its own on port ${ownRedis.port} (${redisPersistence(options.fault) === 'aof' ? 'AOF' : 'no persistence'})`}; starting ${options.instances} instances`);
    const env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      AUTH_JWT_SECRET: authSecret,
      ADMIN_TOKEN: adminToken,
      // Warnings too (a failing sweeper or admission job says so only at warn); instance.ts shows each instance's first 5 lines.
      LOG_LEVEL: 'warn',
      SEED_DEMO: 'false',
      HOLD_TTL_SECONDS: String(settings.holdTtlSeconds),
      QUEUE_TOKEN_TTL_SECONDS: String(settings.tokenTtlSeconds),
      QUEUE_PRESENCE_TIMEOUT_SECONDS: String(settings.presenceTimeoutSeconds),
      QUEUE_ACTIVE_MAX: String(settings.activeMax),
      QUEUE_ADMIT_INTERVAL_MS: String(settings.admitIntervalMs),
      MAX_SEATS_PER_USER: String(settings.maxSeatsPerUser),
      DATABASE_POOL_SIZE: String(settings.poolSize),
    };
    // Started together, as replicas are: the migrator's advisory lock lets one migrate while the others wait.
    const started = await Promise.allSettled(Array.from({ length: options.instances }, () => startInstance(env, 60_000)));
    for (const result of started) if (result.status === 'fulfilled') children.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return {
      urls: children.map((child) => child.url),
      databaseUrl,
      databaseName,
      redis: { url: redisUrl, prefix, own: ownRedis !== undefined },
      adminToken,
      authSecret,
      settings,
      ownRedis,
      signal: (index, signal) => {
        const instance = children[index];
        if (instance === undefined) throw new Error(`no instance ${index}`);
        return instance.signal(signal);
      },
      stopInstances,
      remove,
    };
  } catch (error) {
    await remove().catch((cleanupError: unknown) => log(`cleanup after a failed start failed: ${String(cleanupError)}`));
    throw error;
  }
}

/** As docker-compose runs it (AOF), except for the fault that is about a Redis that comes back with nothing. */
function redisPersistence(fault: FaultKind): 'aof' | 'none' {
  return fault === 'redis-restart-empty' ? 'none' : 'aof';
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

async function dropSaleDatabase(serverUrl: string, name: string, log: Log): Promise<void> {
  await dropDatabase(serverUrl, name);
  log(`dropped database ${name}`);
}

async function deleteKeys(redisUrl: string, prefix: string, log: Log): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    const deleted = await deleteKeysUnder(redis, prefix);
    log(`deleted ${deleted} Redis keys under ${prefix}`);
  } finally {
    redis.disconnect();
  }
}
