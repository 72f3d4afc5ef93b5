import { inject } from 'vitest';
import { RedisLock } from '../../adapters/redis/redis-lock.js';
import { createIsolatedRedis } from '../support/isolated-redis.js';
import { describeLockContract } from './lock.contract.js';

describeLockContract('redis', async ({ pollMs } = {}) => {
  const redis = createIsolatedRedis(inject('redisUrl'));
  // A short lease, refreshed every 100 ms: a lost key is noticed quickly.
  const leaseMs = 300;
  return {
    lock: new RedisLock(redis.redis, { prefix: redis.prefix, defaultLeaseMs: leaseMs, fallbackPollMs: pollMs, unsubscribedPollMs: pollMs }),
    leaseMs,
    // What a Redis restart or an expired key does: the mutex key vanishes, unannounced; the holder's next refresh notices.
    loseLease: async (key) => void (await redis.redis.del(`${redis.prefix}lock:${key}`)),
    cleanup: redis.cleanup,
  };
});
