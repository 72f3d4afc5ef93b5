/**
 * One OS process of the multi-process charge test: real Redis lock, real
 * Postgres, `COUNT` concurrent charges of `AMOUNT` for `USER_ID`. Prints one
 * JSON line with how each charge ended. With `BARRIER_KEY`, it starts when
 * the test opens the barrier.
 */
import { createKysely } from '../../../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../../../adapters/kysely/kysely-transaction.js';
import { createRedis } from '../../../adapters/redis/create-redis.js';
import { RedisLock } from '../../../adapters/redis/redis-lock.js';
import { DomainError } from '../../../core/domain/errors.js';
import { systemClock } from '../../../core/ports/clock.port.js';
import { ChargePoints } from '../../../core/usecases/charge-points.js';
import { waitAtBarrier } from './barrier.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
}

const count = Number(required('COUNT'));
const amount = Number(required('AMOUNT'));
const userId = required('USER_ID');

const db = await createKysely({ databaseUrl: required('DATABASE_URL'), dataDir: '', poolSize: 10 });
const redis = createRedis(required('REDIS_URL'));
const lock = new RedisLock(redis, { prefix: required('REDIS_PREFIX') });
// This test is about exactness, not the wait policy: let every charge wait its turn.
const charge = new ChargePoints(lock, new KyselyTransactionManager(db), systemClock, { walletWaitMs: 60_000 });

// With a barrier, the charges start together with the other workers' requests (the charge-and-pay race).
if (process.env.BARRIER_KEY !== undefined) await waitAtBarrier(required('REDIS_URL'), process.env.BARRIER_KEY);
const outcomes = await Promise.all(
  Array.from({ length: count }, () =>
    charge.execute({ userId, amount }).then(
      () => 'ok',
      (error: unknown) => (error instanceof DomainError ? error.code : String(error)),
    ),
  ),
);
process.stdout.write(`${JSON.stringify({ outcomes })}\n`);
await db.destroy();
redis.disconnect();
