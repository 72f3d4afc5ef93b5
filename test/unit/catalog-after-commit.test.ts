/**
 * After a write commits, nothing may answer it as failed. The catalog's
 * invalidations run after the commit of a hold, a sale, a sweep and the
 * admin writes; here the database read they make (the schedule's concert)
 * and the cache itself fail, and each use case must still answer its
 * success, with its write in the database and the failure reported. And a
 * sweep that fails part way still drops what it changed before the failure.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryCache } from '../../adapters/memory/memory-cache.js';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { DependencyUnavailableError } from '../../core/domain/errors.js';
import { cacheKeys } from '../../core/keys.js';
import type { CachePort, CacheRead } from '../../core/ports/cache.port.js';
import type { LockPort } from '../../core/ports/lock.port.js';
import type { TransactionPort } from '../../core/ports/transaction.port.js';
import { CatalogCache } from '../../core/usecases/catalog/catalog-cache.js';
import { ExpireHolds } from '../../core/usecases/reservations/expire-holds.js';
import { aSchedule } from '../support/catalog-builders.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';
import { salesUseCases } from '../support/sales-use-cases.js';

/** The database as the catalog cache's own lookups see it: failing once `down` is set. */
function lookupsOf(tx: TransactionPort): TransactionPort & { down: boolean } {
  const failing = {
    down: false,
    run: tx.run.bind(tx),
    ping: tx.ping.bind(tx),
    read: <T>(work: Parameters<TransactionPort['read']>[0]): Promise<T> =>
      failing.down ? Promise.reject(new DependencyUnavailableError('database')) : (tx.read(work) as Promise<T>),
  };
  return failing;
}

/** A cache that records what it was asked to drop, and throws on invalidate once `broken` is set (breaking the port's promise). */
class RecordingCache implements CachePort {
  readonly dropped: string[] = [];
  broken = false;

  constructor(private readonly inner: CachePort) {}

  getOrLoad<T>(key: string, read: CacheRead<T>, load: () => Promise<T>): Promise<T> {
    return this.inner.getOrLoad(key, read, load);
  }

  async invalidate(...keys: string[]): Promise<void> {
    if (this.broken) throw new Error('cache adapter broke its promise');
    this.dropped.push(...keys);
    await this.inner.invalidate(...keys);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}

describe('after commit, the catalog invalidations never turn a write into an error', () => {
  let clock: ManualClock;
  let tx: MemoryTransactionManager;
  let lookups: ReturnType<typeof lookupsOf>;
  let cache: RecordingCache;
  let reported: unknown[];
  let uc: ReturnType<typeof salesUseCases>;
  let lock: MemoryLock;
  let catalogCache: CatalogCache;

  beforeEach(() => {
    clock = new ManualClock();
    tx = new MemoryTransactionManager();
    lookups = lookupsOf(tx);
    cache = new RecordingCache(new MemoryCache(clock));
    reported = [];
    lock = new MemoryLock(clock);
    catalogCache = new CatalogCache(cache, lookups, { onInvalidationFailed: (error) => reported.push(error) });
    uc = salesUseCases({ lock, tx, clock, expireToken: queueUseCases(clock).expireToken, catalogCache });
  });

  const reserve = (scheduleId: string, seatNo: number, userId = 'buyer') =>
    uc.reserveSeat.execute({ userId, token: `token-of-${userId}`, tokenExpiresAt: clock.now(), scheduleId, seatNo });
  const statusOf = async (reservationId: string) => (await tx.read((uow) => uow.reservations.find(reservationId)))?.status;

  it('a hold, a payment and a sweep answer their success when the schedule cannot be read after commit; the seat map is still dropped', async () => {
    const schedule = await aSchedule(uc, { seatCount: 3, price: 100 });
    await tx.run((uow) => uow.points.credit('buyer', 1_000, 1_000_000));
    lookups.down = true;

    const held = await reserve(schedule.id, 1);
    expect(held.status).toBe('PENDING');
    expect(cache.dropped).toContain(cacheKeys.seats(schedule.id));

    const paid = await uc.payReservation.execute({ userId: 'buyer', token: 'token-of-buyer', reservationId: held.id });
    expect(paid.status).toBe('CONFIRMED');
    await expect(statusOf(held.id)).resolves.toBe('CONFIRMED');

    const toExpire = await reserve(schedule.id, 2);
    clock.advance(toExpire.expiresAt.getTime() - clock.now().getTime());
    await expect(uc.expireHolds.execute()).resolves.toBe(1);
    await expect(statusOf(toExpire.id)).resolves.toBe('EXPIRED');

    expect(reported).toHaveLength(4); // two holds, the payment, the sweep
    expect(reported.every((error) => error instanceof DependencyUnavailableError)).toBe(true);
  });

  it('drops the availability too once the concert is known, and learns it from a schedules read without a lookup', async () => {
    const schedule = await aSchedule(uc, { seatCount: 2 });
    await uc.listSchedules.execute(schedule.concertId);
    lookups.down = true;
    await reserve(schedule.id, 1);
    expect(cache.dropped).toEqual(expect.arrayContaining([cacheKeys.seats(schedule.id), cacheKeys.schedules(schedule.concertId)]));
    expect(reported).toEqual([]);
  });

  it('every write answers its success when the cache adapter throws on invalidate', async () => {
    const schedule = await aSchedule(uc, { seatCount: 2, price: 0 });
    cache.broken = true;
    const concert = await uc.createConcert.execute({ title: 'After the fault', venue: 'Hall' });
    await expect(uc.createSchedule.execute({ concertId: concert.id, startsAt: '2026-07-01T19:00:00Z', seatCount: 1, price: 0 })).resolves.toMatchObject({
      concertId: concert.id,
    });
    const held = await reserve(schedule.id, 1);
    await expect(uc.payReservation.execute({ userId: 'buyer', token: 'token-of-buyer', reservationId: held.id })).resolves.toMatchObject({
      status: 'CONFIRMED',
    });
    expect(reported).toHaveLength(4);
  });

  it('a sweep that fails part way still drops the views of the holds it had already released', async () => {
    const schedule = await aSchedule(uc, { seatCount: 3 });
    const first = await reserve(schedule.id, 1, 'early');
    clock.advance(1);
    const second = await reserve(schedule.id, 2, 'late');
    clock.advance(second.expiresAt.getTime() - clock.now().getTime());
    cache.dropped.length = 0;
    // The lock fails from the second hold on, as Redis would going away mid-round.
    let calls = 0;
    const failingLock: LockPort = {
      withLock: (keys, work, options) => (++calls > 1 ? Promise.reject(new DependencyUnavailableError('lock')) : lock.withLock(keys, work, options)),
      ping: () => lock.ping(),
    };
    const sweeper = new ExpireHolds(failingLock, tx, clock, catalogCache);
    await expect(sweeper.execute()).rejects.toBeInstanceOf(DependencyUnavailableError);
    const statuses = await Promise.all([statusOf(first.id), statusOf(second.id)]);
    expect(statuses.filter((status) => status === 'EXPIRED')).toHaveLength(1);
    expect(cache.dropped).toContain(cacheKeys.seats(schedule.id));
  });

  it('a reporter that throws changes nothing either', async () => {
    const throwingReporter = new CatalogCache(cache, lookups, {
      onInvalidationFailed: () => {
        throw new Error('logger down');
      },
    });
    lookups.down = true;
    await expect(throwingReporter.seatChanged('some-schedule')).resolves.toBeUndefined();
  });
});
