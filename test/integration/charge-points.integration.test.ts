import type { MigratedDatabase } from '../support/migrated-database.js';
import { createMigratedDatabase } from '../support/migrated-database.js';
/**
 * Charging against real Redis and Postgres: several OS processes at once,
 * and a lease lost in the middle of a transaction.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KyselyTransactionManager } from '../../adapters/kysely/kysely-transaction.js';
import { createRedis } from '../../adapters/redis/create-redis.js';
import { RedisLock } from '../../adapters/redis/redis-lock.js';
import { LeaseLostError } from '../../core/domain/errors.js';
import { BALANCE_LIMIT } from '../../core/domain/points.js';
import { lockKeys } from '../../core/keys.js';
import { aborted } from '../support/deferred.js';
import { createIsolatedRedis, type IsolatedRedis } from '../support/isolated-redis.js';
import { runWorker } from '../support/spawn-worker.js';

const PROCESSES = 4;
const CHARGES_PER_PROCESS = 50;
const AMOUNT = 7;

describe('charging points on real Redis and Postgres', () => {
  let database: MigratedDatabase;
  let redis: IsolatedRedis;

  beforeAll(async () => {
    database = await createMigratedDatabase(inject('databaseUrl'));
    redis = createIsolatedRedis(inject('redisUrl'));
  });

  afterAll(async () => {
    await redis?.cleanup();
    await database?.drop();
  });

  it(`${PROCESSES} processes × ${CHARGES_PER_PROCESS} concurrent charges on one user end with the exact balance and history`, async () => {
    const results = await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        runWorker<{ outcomes: string[] }>(new URL('./workers/charge-worker.ts', import.meta.url), {
          DATABASE_URL: database.url,
          REDIS_URL: inject('redisUrl'),
          REDIS_PREFIX: redis.prefix,
          USER_ID: 'hot-user',
          COUNT: String(CHARGES_PER_PROCESS),
          AMOUNT: String(AMOUNT),
        }),
      ),
    );
    const outcomes = results.flatMap((r) => r.outcomes);
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);

    const total = PROCESSES * CHARGES_PER_PROCESS;
    const wallet = await database.db.selectFrom('user_points').select('balance').where('user_id', '=', 'hot-user').executeTakeFirstOrThrow();
    expect(wallet.balance).toBe(total * AMOUNT);
    const history = await database.db.selectFrom('point_history').select(['balance_after']).where('user_id', '=', 'hot-user').orderBy('id').execute();
    expect(history).toHaveLength(total);
    // Each charge saw the one before it: the running balances are exactly 7, 14, 21, ...
    expect(history.map((row) => row.balance_after)).toEqual(Array.from({ length: total }, (_, i) => (i + 1) * AMOUNT));
  });

  it('rolls the transaction back when the lease is lost mid-way, and the caller gets an error', async () => {
    const client = createRedis(inject('redisUrl'));
    const lock = new RedisLock(client, { prefix: redis.prefix, defaultLeaseMs: 300 });
    const tx = new KyselyTransactionManager(database.db);
    const key = lockKeys.points('lease-user');
    try {
      const run = lock.withLock(
        [key],
        (lease) =>
          tx.run(
            async (uow) => {
              await uow.points.credit('lease-user', 500, BALANCE_LIMIT);
              // Someone (a Redis restart, an operator, an expired key) takes the lock away.
              const lockKeysInRedis = await client.keys(`${redis.prefix}*${key}*`);
              expect(lockKeysInRedis.length).toBeGreaterThan(0);
              await client.del(...lockKeysInRedis.filter((k) => !k.includes('fence')));
              await aborted(lease.signal);
              return 'would commit';
            },
            { signal: lease.signal },
          ),
        { wait: { kind: 'fail-fast' } },
      );
      await expect(run).rejects.toBeInstanceOf(LeaseLostError);
      const wallet = await database.db.selectFrom('user_points').selectAll().where('user_id', '=', 'lease-user').executeTakeFirst();
      expect(wallet).toBeUndefined();
    } finally {
      client.disconnect();
    }
  });
});
