/**
 * What every bench removes at its end (and on Ctrl-C): the Redis keys under
 * its prefix and the database it made. One place, so that each bench's
 * cleanup says what it owns, not how to delete it.
 */
import type { Redis } from 'ioredis';
import pg from 'pg';

/** Deletes every key under `prefix`; answers how many. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1_000 }) as AsyncIterable<string[]>) {
    if (keys.length > 0) deleted += await redis.del(...keys);
  }
  return deleted;
}

/** Drops database `name` on the server of `serverUrl`; FORCE, since a child killed mid-run may leave connections behind. */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`).finally(() => admin.end());
}
