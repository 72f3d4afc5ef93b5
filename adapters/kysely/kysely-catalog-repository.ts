import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Concert, Schedule, ScheduleWithAvailability, Seat, SeatStatus } from '../../core/domain/catalog.js';
import { NotFoundError } from '../../core/domain/errors.js';
import type { CatalogRepository, HoldScope } from '../../core/ports/catalog.repository.js';
import type { Database } from './schema.js';

/** A seat free at `now`, in SQL: AVAILABLE, or HELD by a hold that has ended. */
const isFreeAt = (now: Date) => sql<boolean>`(seats.status = 'AVAILABLE' OR (seats.status = 'HELD' AND seats.held_until <= ${now}))`;

export class KyselyCatalogRepository implements CatalogRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async createConcert(concert: Concert): Promise<void> {
    await this.db.insertInto('concerts').values({ id: concert.id, title: concert.title, venue: concert.venue }).execute();
  }

  async listConcerts(): Promise<Concert[]> {
    return this.db
      .selectFrom('concerts')
      .select(['id', 'title', 'venue'])
      .orderBy('created_at')
      // Byte order, so that ties sort the same on every server's collation (and as the memory adapter sorts).
      .orderBy(sql`id collate "C"`)
      .execute();
  }

  async findConcert(concertId: string): Promise<Concert | undefined> {
    return this.db.selectFrom('concerts').select(['id', 'title', 'venue']).where('id', '=', concertId).executeTakeFirst();
  }

  async createSchedule(schedule: Schedule, price: number): Promise<void> {
    // Inserted only if the concert exists: an unknown concert is NotFoundError, not a foreign-key failure that aborts the transaction.
    const inserted = await this.db
      .insertInto('schedules')
      .columns(['id', 'concert_id', 'starts_at', 'total_seats'])
      .expression((eb) =>
        eb
          .selectFrom('concerts')
          .select([
            sql<string>`${schedule.id}::text`.as('id'),
            'concerts.id as concert_id',
            sql<Date>`${schedule.startsAt}::timestamptz`.as('starts_at'),
            sql<number>`${schedule.totalSeats}::int`.as('total_seats'),
          ])
          .where('concerts.id', '=', schedule.concertId),
      )
      .returning('id')
      .executeTakeFirst();
    if (inserted === undefined) throw new NotFoundError(`concert ${schedule.concertId} not found`);
    // Every seat in one statement, however many there are.
    await sql`
      insert into seats (schedule_id, seat_no, price, status)
      select ${schedule.id}::text, seat_no, ${price}::int, 'AVAILABLE'
      from generate_series(1, ${schedule.totalSeats}::int) as seat_no
    `.execute(this.db);
  }

  async findSchedule(scheduleId: string): Promise<Schedule | undefined> {
    const row = await this.db
      .selectFrom('schedules')
      .select(['id', 'concert_id', 'starts_at', 'total_seats'])
      .where('id', '=', scheduleId)
      .executeTakeFirst();
    return row === undefined ? undefined : { id: row.id, concertId: row.concert_id, startsAt: row.starts_at, totalSeats: row.total_seats };
  }

  async listSchedules(concertId: string, now: Date): Promise<ScheduleWithAvailability[]> {
    const rows = await this.db
      .selectFrom('schedules')
      .leftJoin('seats', 'seats.schedule_id', 'schedules.id')
      .select([
        'schedules.id',
        'schedules.concert_id',
        'schedules.starts_at',
        'schedules.total_seats',
        sql<number>`(count(seats.seat_no) filter (where ${isFreeAt(now)}))::int`.as('available_seats'),
      ])
      .where('schedules.concert_id', '=', concertId)
      .groupBy('schedules.id')
      .orderBy('schedules.starts_at')
      .orderBy(sql`schedules.id collate "C"`)
      .execute();
    return rows.map((row) => ({
      id: row.id,
      concertId: row.concert_id,
      startsAt: row.starts_at,
      totalSeats: row.total_seats,
      availableSeats: row.available_seats,
    }));
  }

  async seatMap(scheduleId: string, now: Date): Promise<Seat[]> {
    const rows = await this.db
      .selectFrom('seats')
      .select(['schedule_id', 'seat_no', 'price', 'status', 'held_until'])
      .where('schedule_id', '=', scheduleId)
      .orderBy('seat_no')
      .execute();
    return rows.map((row) => toSeat(row, now));
  }

  async nextHoldEnd(scope: HoldScope, now: Date): Promise<Date | undefined> {
    // One schedule's seats by its primary key's prefix, or a concert's through its schedules: at most a few thousand rows.
    const row = await this.db
      .selectFrom('seats')
      .select(sql<Date | null>`min(seats.held_until)`.as('next'))
      .where('seats.status', '=', 'HELD')
      .where('seats.held_until', '>', now)
      .where((eb) =>
        'scheduleId' in scope
          ? eb('seats.schedule_id', '=', scope.scheduleId)
          : eb('seats.schedule_id', 'in', eb.selectFrom('schedules').select('schedules.id').where('schedules.concert_id', '=', scope.concertId)),
      )
      .executeTakeFirst();
    return row?.next ?? undefined;
  }

  async findSeat(scheduleId: string, seatNo: number, now: Date): Promise<Seat | undefined> {
    const row = await this.db
      .selectFrom('seats')
      .select(['schedule_id', 'seat_no', 'price', 'status', 'held_until'])
      .where('schedule_id', '=', scheduleId)
      .where('seat_no', '=', seatNo)
      .executeTakeFirst();
    return row === undefined ? undefined : toSeat(row, now);
  }
}

function toSeat(
  row: { schedule_id: string; seat_no: number; price: number; status: SeatStatus; held_until: Date | null },
  now: Date,
): Seat {
  const ended = row.status === 'HELD' && row.held_until !== null && row.held_until.getTime() <= now.getTime();
  return { scheduleId: row.schedule_id, seatNo: row.seat_no, price: row.price, status: ended ? 'AVAILABLE' : row.status };
}
