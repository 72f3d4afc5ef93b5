import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { MAX_PRICE, MAX_SEATS_PER_SCHEDULE } from '../../core/domain/catalog.js';
import { NotFoundError, ValidationError } from '../../core/domain/errors.js';
import { DEMO_CONCERT, DEMO_SEATS, SeedDemoCatalog } from '../../core/usecases/catalog/seed-demo-catalog.js';
import { queueUseCases } from '../support/queue-use-cases.js';
import { ManualClock } from '../support/manual-clock.js';
import { RecordingLock } from '../support/recording-lock.js';
import { salesUseCases } from '../support/sales-use-cases.js';

describe('catalog use cases', () => {
  let clock: ManualClock;
  let tx: MemoryTransactionManager;
  let lock: RecordingLock;
  let uc: ReturnType<typeof salesUseCases>;

  beforeEach(() => {
    clock = new ManualClock();
    tx = new MemoryTransactionManager();
    lock = new RecordingLock(new MemoryLock(clock));
    uc = salesUseCases({ lock, tx, clock, expireToken: queueUseCases(clock).expireToken });
  });

  it('creates concerts (names trimmed) and lists them oldest first', async () => {
    const first = await uc.createConcert.execute({ title: '  Spring Tour ', venue: 'Olympic Hall' });
    const second = await uc.createConcert.execute({ title: 'Autumn Tour', venue: 'Arena' });
    expect(first).toEqual({ id: expect.any(String), title: 'Spring Tour', venue: 'Olympic Hall' });
    expect(first.id).not.toBe(second.id);
    await expect(uc.listConcerts.execute()).resolves.toEqual([first, second]);
  });

  it.each([
    ['a blank title', { title: '   ', venue: 'Hall' }, 'title'],
    ['an empty venue', { title: 'Tour', venue: '' }, 'venue'],
    ['a title over 200 characters', { title: 't'.repeat(201), venue: 'Hall' }, 'title'],
  ])('refuses a concert with %s', async (_name, input, field) => {
    await expect(uc.createConcert.execute(input)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field });
    await expect(uc.listConcerts.execute()).resolves.toEqual([]);
  });

  it('creates a schedule with seats 1..seatCount, all AVAILABLE at the price, and lists it with its availability', async () => {
    const concert = await uc.createConcert.execute({ title: 'Tour', venue: 'Hall' });
    const later = await uc.createSchedule.execute({ concertId: concert.id, startsAt: '2026-06-02T19:00:00+09:00', seatCount: 3, price: 0 });
    const earlier = await uc.createSchedule.execute({ concertId: concert.id, startsAt: '2026-06-01T19:00:00Z', seatCount: 4, price: 70_000 });
    expect(later).toEqual({
      id: expect.any(String),
      concertId: concert.id,
      startsAt: new Date('2026-06-02T10:00:00Z'),
      totalSeats: 3,
      availableSeats: 3,
      price: 0,
    });

    const schedules = await uc.listSchedules.execute(concert.id);
    expect(schedules.map((s) => [s.id, s.totalSeats, s.availableSeats])).toEqual([
      [earlier.id, 4, 4],
      [later.id, 3, 3],
    ]);
    await expect(uc.getSeatMap.execute(earlier.id)).resolves.toEqual(
      [1, 2, 3, 4].map((seatNo) => ({ scheduleId: earlier.id, seatNo, price: 70_000, status: 'AVAILABLE' })),
    );
  });

  it('answers 404 for a schedule of an unknown concert, the schedules of an unknown concert, and the seats of an unknown schedule', async () => {
    await expect(uc.createSchedule.execute({ concertId: 'nope', startsAt: '2026-06-01T19:00:00Z', seatCount: 1, price: 1 })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(uc.listSchedules.execute('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(uc.getSeatMap.execute('nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers an empty list for a concert without schedules', async () => {
    const concert = await uc.createConcert.execute({ title: 'Tour', venue: 'Hall' });
    await expect(uc.listSchedules.execute(concert.id)).resolves.toEqual([]);
  });

  const good = { startsAt: '2026-06-01T19:00:00Z', seatCount: 50, price: 50_000 };
  it.each([
    ['seatCount 0', { ...good, seatCount: 0 }, 'seatCount'],
    ['seatCount over the maximum', { ...good, seatCount: MAX_SEATS_PER_SCHEDULE + 1 }, 'seatCount'],
    ['a fractional seatCount', { ...good, seatCount: 1.5 }, 'seatCount'],
    ['a negative price', { ...good, price: -1 }, 'price'],
    ['a price over the maximum', { ...good, price: MAX_PRICE + 1 }, 'price'],
    ['a start without an offset', { ...good, startsAt: '2026-06-01T19:00:00' }, 'startsAt'],
    ['a date only', { ...good, startsAt: '2026-06-01' }, 'startsAt'],
    ['February 31st', { ...good, startsAt: '2026-02-31T19:00:00Z' }, 'startsAt'],
    ['words', { ...good, startsAt: 'tomorrow' }, 'startsAt'],
  ])('refuses a schedule with %s, creating nothing', async (_name, input, field) => {
    const concert = await uc.createConcert.execute({ title: 'Tour', venue: 'Hall' });
    await expect(uc.createSchedule.execute({ concertId: concert.id, ...input })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field });
    await expect(uc.listSchedules.execute(concert.id)).resolves.toEqual([]);
  });

  it('accepts the bounds: one seat, the maximum seats, price 0 and the maximum price', async () => {
    const concert = await uc.createConcert.execute({ title: 'Tour', venue: 'Hall' });
    await expect(uc.createSchedule.execute({ concertId: concert.id, ...good, seatCount: 1, price: 0 })).resolves.toMatchObject({ totalSeats: 1 });
    await expect(uc.createSchedule.execute({ concertId: concert.id, ...good, seatCount: MAX_SEATS_PER_SCHEDULE, price: MAX_PRICE })).resolves.toMatchObject({
      totalSeats: MAX_SEATS_PER_SCHEDULE,
    });
  });

  it('refuses a malformed id before reading anything', async () => {
    await expect(uc.listSchedules.execute('a b')).rejects.toBeInstanceOf(ValidationError);
    await expect(uc.getSeatMap.execute('x'.repeat(65))).rejects.toBeInstanceOf(ValidationError);
  });

  describe('SeedDemoCatalog', () => {
    it('puts one concert with schedules of 50 seats numbered 1..50 into an empty catalog, under its lock', async () => {
      await expect(new SeedDemoCatalog(lock, tx, clock).execute()).resolves.toBe('seeded');
      expect(lock.calls).toEqual([{ keys: ['seed:demo-catalog'], wait: 'wait' }]);
      await expect(uc.listConcerts.execute()).resolves.toEqual([DEMO_CONCERT]);
      const schedules = await uc.listSchedules.execute(DEMO_CONCERT.id);
      expect(schedules.length).toBeGreaterThanOrEqual(1);
      for (const schedule of schedules) {
        expect(schedule).toMatchObject({ totalSeats: DEMO_SEATS, availableSeats: DEMO_SEATS });
        expect(schedule.startsAt.getTime()).toBeGreaterThan(clock.now().getTime());
        const seats = await uc.getSeatMap.execute(schedule.id);
        expect(seats.map((seat) => seat.seatNo)).toEqual(Array.from({ length: DEMO_SEATS }, (_, i) => i + 1));
      }
    });

    it('leaves a catalog that has a concert alone', async () => {
      const mine = await uc.createConcert.execute({ title: 'Mine', venue: 'Hall' });
      await expect(new SeedDemoCatalog(lock, tx, clock).execute()).resolves.toBe('not-empty');
      await expect(uc.listConcerts.execute()).resolves.toEqual([mine]);
    });

    it('seeds once when two instances start at once', async () => {
      const outcomes = await Promise.all([new SeedDemoCatalog(lock, tx, clock).execute(), new SeedDemoCatalog(lock, tx, clock).execute()]);
      expect(outcomes.sort()).toEqual(['not-empty', 'seeded']);
      await expect(uc.listConcerts.execute()).resolves.toEqual([DEMO_CONCERT]);
    });
  });
});
