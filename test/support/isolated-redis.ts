import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** A key prefix of its own for one test file; every key under it is deleted at the end. */
export interface IsolatedRedis {
  readonly prefix: string;
  readonly redis: Redis;
  readonly cleanup: () => Promise<void>;
}

export function createIsolatedRedis(url: string): IsolatedRedis {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 });
  return {
    prefix,
    redis,
    cleanup: async () => {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
