/**
 * The catalog's read paths through the cache: what is served from it, and
 * which writes drop what (DESIGN.md, Cache). Rows written straight through a
 * transaction, bypassing the use cases, show whether a read came from the
 * cache or the database.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryCache } from '../../adapters/memory/memory-cache.js';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import type { CacheEvent } from '../../core/ports/cache.port.js';
import { REFRESH_BURST, staleLimitMs } from '../../core/support/cache-freshness.js';
import type { SeatMapCacheStrategy } from '../../core/usecases/catalog/catalog-cache.js';
import { CATALOG_TTL_MS, CatalogCache, SALE_TTL_MS, SEAT_MAP_REFRESH_MS } from '../../core/usecases/catalog/catalog-cache.js';
import { aSchedule } from '../support/catalog-builders.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';
import { salesUseCases } from '../support/sales-use-cases.js';

describe('catalog reads through the cache', () => {
  let clock: ManualClock;
  let tx: MemoryTransactionManager;
  let events: CacheEvent[];
  let uc: ReturnType<typeof salesUseCases>;

  beforeEach(() => {
    clock = new ManualClock();
    tx = new MemoryTransactionManager();
    events = [];
    uc = useCasesWith('delete');
  });

  const useCasesWith = (strategy: SeatMapCacheStrategy) => {
    const catalogCache = new CatalogCache(new MemoryCache(clock, { onEvent: (event) => events.push(event) }), tx, { strategy });
    return salesUseCases({ lock: new MemoryLock(clock), tx, clock, expireToken: queueUseCases(clock).expireToken, catalogCache });
  };
  const reserve = (seatNo: number, scheduleId: string, userId = 'u1') =>
    uc.reserveSeat.execute({ userId, token: `token-of-${userId}`, tokenExpiresAt: clock.now(), scheduleId, seatNo });
  const statusOf = async (scheduleId: string, seatNo: number) => (await uc.getSeatMap.execute(scheduleId)).find((s) => s.seatNo === seatNo)?.status;
  const availableOf = async (concertId: string) => (await uc.listSchedules.execute(concertId))[0]?.availableSeats;

  const sneakConcert = (id: string) => tx.run((uow) => uow.catalog.createConcert({ id, title: 'Sneaked', venue: 'Side door' }));

  it('serves the concert list from the cache until a concert is added or the TTL passes', async () => {
    const first = await uc.createConcert.execute({ title: 'Spring Tour', venue: 'Hall' });
    await expect(uc.listConcerts.execute()).resolves.toEqual([first]);
    await sneakConcert('sneaked-1');
    await expect(uc.listConcerts.execute()).resolves.toEqual([first]);
    expect(events).toEqual(['miss', 'hit']);

    const second = await uc.createConcert.execute({ title: 'Autumn Tour', venue: 'Arena' });
    await expect(uc.listConcerts.execute()).resolves.toHaveLength(3);
    await sneakConcert('sneaked-2');
    clock.advance(CATALOG_TTL_MS.concerts);
    const afterTtl = await uc.listConcerts.execute();
    expect(afterTtl.map((c) => c.id)).toEqual([first.id, 'sneaked-1', second.id, 'sneaked-2']);
  });

  it('drops the seat map and the availability when a seat is held or released', async () => {
    const schedule = await aSchedule(uc, { seatCount: 3, price: 100 });
    const seatStatus = async (seatNo: number) => (await uc.getSeatMap.execute(schedule.id)).find((s) => s.seatNo === seatNo)?.status;
    const available = async () => (await uc.listSchedules.execute(schedule.concertId))[0]?.availableSeats;
    await expect(seatStatus(1)).resolves.toBe('AVAILABLE');
    await expect(available()).resolves.toBe(3);

    const reservation = await uc.reserveSeat.execute({ userId: 'u1', token: 'token-of-u1', tokenExpiresAt: clock.now(), scheduleId: schedule.id, seatNo: 1 });
    await expect(seatStatus(1)).resolves.toBe('HELD');
    await expect(available()).resolves.toBe(2);

    clock.advance(reservation.expiresAt.getTime() - clock.now().getTime());
    await expect(uc.expireHolds.execute()).resolves.toBe(1);
    await expect(seatStatus(1)).resolves.toBe('AVAILABLE');
    await expect(available()).resolves.toBe(3);
  });

  it('gives schedules back with real dates after a round trip through the cache', async () => {
    const schedule = await aSchedule(uc);
    await uc.listSchedules.execute(schedule.concertId);
    const cached = await uc.listSchedules.execute(schedule.concertId);
    expect(cached[0]?.startsAt).toEqual(schedule.startsAt);
    expect(cached[0]?.startsAt).toBeInstanceOf(Date);
  });

  it('does not cache a 404', async () => {
    await expect(uc.listSchedules.execute('no-such-concert')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await sneakConcert('no-such-concert');
    await expect(uc.listSchedules.execute('no-such-concert')).resolves.toEqual([]);
  });

  it.each(['delete', 'refresh'] as const)('%s: a hold that ends by time shows at its end in the seat map and the availability, before any sweep', async (strategy) => {
    uc = useCasesWith(strategy);
    const schedule = await aSchedule(uc, { seatCount: 3 });
    const reservation = await reserve(1, schedule.id);
    await expect(statusOf(schedule.id, 1)).resolves.toBe('HELD');
    await expect(availableOf(schedule.concertId)).resolves.toBe(2);
    // The hold (60 s) is shorter than the availability's TTL (30 min): only its end can make the entry stale.
    clock.advance(reservation.expiresAt.getTime() - clock.now().getTime());
    await expect(statusOf(schedule.id, 1)).resolves.toBe('AVAILABLE');
    await expect(availableOf(schedule.concertId)).resolves.toBe(3);
  });

  it('refresh: a quiet schedule shows each of a few writes at once (the burst of refresh tokens)', async () => {
    uc = useCasesWith('refresh');
    const schedule = await aSchedule(uc, { seatCount: 5 });
    await expect(statusOf(schedule.id, 1)).resolves.toBe('AVAILABLE');
    for (let seatNo = 1; seatNo < REFRESH_BURST; seatNo++) {
      await reserve(seatNo, schedule.id, `u${seatNo}`);
      await expect(statusOf(schedule.id, seatNo)).resolves.toBe('HELD');
    }
    expect(events).not.toContain('stale');
  });

  it('refresh: under a stream of writes, loads are bounded and each write shows within the stale limit', async () => {
    uc = useCasesWith('refresh');
    const schedule = await aSchedule(uc, { seatCount: 40 });
    await statusOf(schedule.id, 1);
    const loadsBefore = events.filter((event) => event === 'miss').length;
    for (let seatNo = 1; seatNo <= 30; seatNo++) {
      await reserve(seatNo, schedule.id, `u${seatNo}`);
      await statusOf(schedule.id, seatNo);
    }
    const reloads = events.filter((event) => event === 'miss').length - loadsBefore;
    expect(reloads).toBe(REFRESH_BURST);
    // Served stale: the last hold is not shown yet, and is once the stale limit has passed.
    await expect(statusOf(schedule.id, 30)).resolves.toBe('AVAILABLE');
    clock.advance(staleLimitMs(SEAT_MAP_REFRESH_MS) + 1);
    await expect(statusOf(schedule.id, 30)).resolves.toBe('HELD');
  });

  it('ttl: writes do not drop the seat map; it shows them once SALE_TTL_MS has passed', async () => {
    uc = useCasesWith('ttl');
    const schedule = await aSchedule(uc, { seatCount: 3 });
    await expect(statusOf(schedule.id, 1)).resolves.toBe('AVAILABLE');
    await reserve(1, schedule.id);
    await expect(statusOf(schedule.id, 1)).resolves.toBe('AVAILABLE');
    clock.advance(SALE_TTL_MS);
    await expect(statusOf(schedule.id, 1)).resolves.toBe('HELD');
  });
});
