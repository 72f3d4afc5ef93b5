import type { Concert, Schedule, ScheduleWithAvailability, Seat } from '../domain/catalog.js';

export type HoldScope = { readonly scheduleId: string } | { readonly concertId: string };

/** Concerts and schedules (read paths and admin writes). Seat writes of a sale live in SeatRepository. */
export interface CatalogRepository {
  createConcert(concert: Concert): Promise<void>;
  /** All concerts, oldest first. */
  listConcerts(): Promise<Concert[]>;
  findConcert(concertId: string): Promise<Concert | undefined>;

  /** Creates the schedule and its seats 1..totalSeats, all AVAILABLE at `price`. Throws `NotFoundError` if the concert does not exist. */
  createSchedule(schedule: Schedule, price: number): Promise<void>;
  findSchedule(scheduleId: string): Promise<Schedule | undefined>;
  /** The schedules of a concert by start time, each with its seats free at `now`. */
  listSchedules(concertId: string, now: Date): Promise<ScheduleWithAvailability[]>;
  /** The seats of a schedule by number, as a buyer sees them at `now` (an ended hold shows AVAILABLE). */
  seatMap(scheduleId: string, now: Date): Promise<Seat[]>;
  /**
   * The earliest end after `now` of a hold on the seats of one schedule, or
   * of any schedule of one concert: when a seat map or an availability read
   * at `now` stops being true without any write (the cache marks it stale then).
   */
  nextHoldEnd(scope: HoldScope, now: Date): Promise<Date | undefined>;
  /** One seat as a buyer sees it at `now`. */
  findSeat(scheduleId: string, seatNo: number, now: Date): Promise<Seat | undefined>;
}
