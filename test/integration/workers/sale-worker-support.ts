/**
 * What every sale worker builds: one app instance's ports on the real
 * Postgres and Redis named by the environment, on the system clock.
 */
import { createKysely } from '../../../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../../../adapters/kysely/kysely-transaction.js';
import { createRedis } from '../../../adapters/redis/create-redis.js';
import { RedisCache } from '../../../adapters/redis/redis-cache.js';
import { RedisLock } from '../../../adapters/redis/redis-lock.js';
import { RedisQueue } from '../../../adapters/redis/redis-queue.js';
import { UuidGenerator } from '../../../adapters/system/uuid-generator.js';
import { DomainError } from '../../../core/domain/errors.js';
import { systemClock } from '../../../core/ports/clock.port.js';
import { CatalogCache } from '../../../core/usecases/catalog/catalog-cache.js';
import { waitAtBarrier } from './barrier.js';

export function required(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
}

export async function saleWorkerPorts() {
  const db = await createKysely({ databaseUrl: required('DATABASE_URL'), dataDir: '', poolSize: 10 });
  const redis = createRedis(required('REDIS_URL'));
  const prefix = required('REDIS_PREFIX');
  const tx = new KyselyTransactionManager(db);
  return {
    db,
    redis,
    lock: new RedisLock(redis, { prefix }),
    tx,
    catalogCache: new CatalogCache(new RedisCache(redis, { prefix }), tx),
    queue: new RedisQueue(redis, { prefix }),
    clock: systemClock,
    ids: new UuidGenerator(),
    /** Resolves when the test lets every worker go at once. */
    start: () => waitAtBarrier(required('REDIS_URL'), required('BARRIER_KEY')),
    /** Prints the result line the test reads, then closes the connections. */
    finish: async (result: unknown) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      await db.destroy();
      redis.disconnect();
    },
  };
}

/** How a request ended: `ok`, or the error's code (anything unexpected keeps its message, so the test shows it). */
export function outcomeOf(error: unknown): string {
  return error instanceof DomainError ? error.code : String(error);
}
