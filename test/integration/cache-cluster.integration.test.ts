/**
 * The cache across instances, with real processes: a cold seat map read by
 * every instance at once costs the cluster one database load (the lease of
 * adapters/redis/cache-lease.ts), not one per process; and during writes a
 * committed change shows in another instance's seat map within 1 s while
 * its loads stay within the refresh strategy's bound.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { KyselyTransactionManager } from '../../adapters/kysely/kysely-transaction.js';
import { createRedis } from '../../adapters/redis/create-redis.js';
import { RedisCache } from '../../adapters/redis/redis-cache.js';
import { systemClock } from '../../core/ports/clock.port.js';
import { REFRESH_BURST } from '../../core/support/cache-freshness.js';
import { GetSeatMap } from '../../core/usecases/catalog/get-seat-map.js';
import { PassThroughCache } from '../../adapters/system/pass-through-cache.js';
import { UuidGenerator } from '../../adapters/system/uuid-generator.js';
import { CatalogCache, SEAT_MAP_REFRESH_MS } from '../../core/usecases/catalog/catalog-cache.js';
import { CreateConcert } from '../../core/usecases/catalog/create-concert.js';
import { CreateSchedule } from '../../core/usecases/catalog/create-schedule.js';
import type { IsolatedRedis } from '../support/isolated-redis.js';
import { createIsolatedRedis } from '../support/isolated-redis.js';
import type { MigratedDatabase } from '../support/migrated-database.js';
import { createMigratedDatabase } from '../support/migrated-database.js';
import { runWorker } from '../support/spawn-worker.js';
import { openBarrier } from './workers/barrier.js';

const PROCESSES = 3;
const READS = 300;
const SEATS = 50;

describe('the seat map cache across 3 processes', () => {
  let database: MigratedDatabase;
  let redis: IsolatedRedis;

  beforeAll(async () => {
    database = await createMigratedDatabase(inject('databaseUrl'));
    redis = createIsolatedRedis(inject('redisUrl'));
  });
  afterAll(async () => {
    await redis.cleanup();
    await database.drop();
  });

  it(`${PROCESSES} processes × ${READS} concurrent reads of one cold seat map: one database load in all`, async () => {
    const tx = new KyselyTransactionManager(database.db);
    const catalog = new CatalogCache(new PassThroughCache(), tx);
    const ids = new UuidGenerator();
    const concert = await new CreateConcert(tx, ids, catalog).execute({ title: 'Cold key', venue: 'Hall' });
    const schedule = await new CreateSchedule(tx, ids, catalog).execute({ concertId: concert.id, startsAt: '2026-06-01T19:00:00Z', seatCount: SEATS, price: 100 });
    const barrier = `${redis.prefix}barrier:${randomBytes(4).toString('hex')}`;
    const workers = Array.from({ length: PROCESSES }, () =>
      runWorker<{ loads: number; seatCounts: number[] }>(new URL('./workers/seat-map-read-worker.ts', import.meta.url), {
        DATABASE_URL: database.url,
        REDIS_URL: inject('redisUrl'),
        REDIS_PREFIX: redis.prefix,
        BARRIER_KEY: barrier,
        SCHEDULE_ID: schedule.id,
        READS: String(READS),
      }),
    );
    await openBarrier(redis.redis, barrier, PROCESSES);
    const results = await Promise.all(workers);
    expect(results.map((result) => result.seatCounts)).toEqual(Array(PROCESSES).fill([SEATS]));
    expect(results.reduce((sum, result) => sum + result.loads, 0)).toBe(1);
  }, 120_000);

  it('during a write load, each committed change shows in the other instance\'s seat map within 1 s, with database loads bounded', async () => {
    const tx = new KyselyTransactionManager(database.db);
    const ids = new UuidGenerator();
    const setup = new CatalogCache(new PassThroughCache(), tx);
    const concert = await new CreateConcert(tx, ids, setup).execute({ title: 'Sale', venue: 'Hall' });
    const schedule = await new CreateSchedule(tx, ids, setup).execute({ concertId: concert.id, startsAt: '2026-06-01T19:00:00Z', seatCount: SEATS, price: 100 });
    let loads = 0;
    const other = createRedis(inject('redisUrl'));
    try {
      // Two instances: the writer's cache (its invalidations) and the reader's, on two clients and one prefix (strategy: refresh).
      const writer = new CatalogCache(new RedisCache(redis.redis, { prefix: redis.prefix }), tx);
      const readerCache = new CatalogCache(new RedisCache(other, { prefix: redis.prefix, onLoad: () => loads++ }), tx);
      const getSeatMap = new GetSeatMap(tx, systemClock, readerCache);
      const lags: number[] = [];
      let writing = true;
      let readsDone = 0;
      const started = Date.now();
      // Readers: 20 loops reading the map back to back for as long as the writes go on.
      const readers = Array.from({ length: 20 }, async () => {
        while (writing) {
          await getSeatMap.execute(schedule.id);
          readsDone++;
        }
      });
      for (let seatNo = 1; seatNo <= 20; seatNo++) {
        // A sale, committed straight to the row, then the instance's invalidation after commit, as PayReservation does.
        await database.db.updateTable('seats').set({ status: 'SOLD' }).where('schedule_id', '=', schedule.id).where('seat_no', '=', seatNo).execute();
        const committedAt = Date.now();
        await writer.seatChanged(schedule.id);
        const deadline = committedAt + 5_000;
        while ((await getSeatMap.execute(schedule.id)).find((seat) => seat.seatNo === seatNo)?.status !== 'SOLD') {
          if (Date.now() > deadline) throw new Error(`seat ${seatNo} not shown sold within 5 s`);
          await sleep(5);
        }
        lags.push(Date.now() - committedAt);
      }
      writing = false;
      await Promise.all(readers);
      const seconds = (Date.now() - started) / 1_000;
      expect(Math.max(...lags)).toBeLessThan(1_000);
      // The token bucket's bound (4 + 4 a second) plus one cold load, far below the reads made.
      expect(loads).toBeLessThanOrEqual(1 + REFRESH_BURST + Math.ceil((seconds * 1_000) / SEAT_MAP_REFRESH_MS));
      expect(readsDone).toBeGreaterThan(loads * 10);
      console.info(`[cache] 20 sales in ${seconds.toFixed(2)} s: ${readsDone} reads, ${loads} loads, visibility lag max ${Math.max(...lags)} ms`);
    } finally {
      other.disconnect();
    }
  }, 120_000);
});
