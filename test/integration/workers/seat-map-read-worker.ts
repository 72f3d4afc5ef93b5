/**
 * One OS process standing for one app instance: after the barrier, READS
 * concurrent reads of one schedule's seat map through its own Redis cache;
 * prints how many database loads this process ran and what it read.
 */
import { RedisCache } from '../../../adapters/redis/redis-cache.js';
import { CatalogCache } from '../../../core/usecases/catalog/catalog-cache.js';
import { GetSeatMap } from '../../../core/usecases/catalog/get-seat-map.js';
import { required, saleWorkerPorts } from './sale-worker-support.js';

const ports = await saleWorkerPorts();
let loads = 0;
const cache = new RedisCache(ports.redis, { prefix: required('REDIS_PREFIX'), onLoad: () => loads++ });
const getSeatMap = new GetSeatMap(ports.tx, ports.clock, new CatalogCache(cache, ports.tx));
const scheduleId = required('SCHEDULE_ID');

await ports.start();
const maps = await Promise.all(Array.from({ length: Number(required('READS')) }, () => getSeatMap.execute(scheduleId)));
await ports.finish({ loads, seatCounts: [...new Set(maps.map((seats) => seats.length))] });
