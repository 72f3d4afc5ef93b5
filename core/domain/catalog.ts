/** The catalog: concerts, their schedules (dates), and the numbered seats of a schedule. */
export interface Concert {
  readonly id: string;
  readonly title: string;
  readonly venue: string;
}

export interface Schedule {
  readonly id: string;
  readonly concertId: string;
  readonly startsAt: Date;
  readonly totalSeats: number;
}

export interface ScheduleWithAvailability extends Schedule {
  /** Seats AVAILABLE, or HELD by a hold that has ended, at the time asked. */
  readonly availableSeats: number;
}

/**
 * What a buyer sees. A HELD seat whose hold has ended shows as AVAILABLE:
 * reserving it will succeed (and expire the old hold) even before the sweeper runs.
 */
export type SeatStatus = 'AVAILABLE' | 'HELD' | 'SOLD';

export interface Seat {
  readonly scheduleId: string;
  readonly seatNo: number;
  readonly price: number;
  readonly status: SeatStatus;
}

export const MAX_SEATS_PER_SCHEDULE = 1_000;
export const MAX_PRICE = 10_000_000;
