import type { ColumnType, Generated, GeneratedAlways } from 'kysely';
import type { SeatStatus } from '../../core/domain/catalog.js';
import type { PointKind } from '../../core/domain/points.js';
import type { ReservationStatus } from '../../core/domain/reservation.js';

/** Table types for Kysely; the migrations in migrations/ are what creates them. */
export interface Database {
  user_points: UserPointsTable;
  point_history: PointHistoryTable;
  idempotency_keys: IdempotencyKeysTable;
  concerts: ConcertsTable;
  schedules: SchedulesTable;
  seats: SeatsTable;
  reservations: ReservationsTable;
  payments: PaymentsTable;
  user_schedule_seats: UserScheduleSeatsTable;
}

export interface UserPointsTable {
  user_id: string;
  balance: number;
  updated_at: Generated<Date>;
}

export interface PointHistoryTable {
  // bigint: pg hands int8 back as a string, so that no id is ever rounded.
  id: GeneratedAlways<string>;
  user_id: string;
  kind: PointKind;
  amount: number;
  balance_after: number;
  created_at: Date;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  fingerprint: string;
  // Written as JSON text (pg would turn a JS array into a Postgres array), read back parsed.
  response: ColumnType<unknown, string | null, string | null>;
  created_at: Generated<Date>;
}

export interface ConcertsTable {
  id: string;
  title: string;
  venue: string;
  // clock_timestamp(): concerts created in one transaction still list in the order they were made.
  created_at: Generated<Date>;
}

export interface SchedulesTable {
  id: string;
  concert_id: string;
  starts_at: Date;
  total_seats: number;
  created_at: Generated<Date>;
}

/** HELD if and only if held_by and held_until are set (a CHECK). */
export interface SeatsTable {
  schedule_id: string;
  seat_no: number;
  price: number;
  status: SeatStatus;
  held_by: string | null;
  held_until: Date | null;
}

export interface ReservationsTable {
  id: string;
  user_id: string;
  schedule_id: string;
  seat_no: number;
  price: number;
  status: ReservationStatus;
  expires_at: Date;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  // An identity: the order reservations were made in, for paging. A string on pg (int8), a number on PGlite.
  position: GeneratedAlways<string>;
}

export interface PaymentsTable {
  id: string;
  reservation_id: string;
  user_id: string;
  amount: number;
  created_at: Date;
}

/** A user's PENDING and CONFIRMED reservations of one schedule: the seat limit's guard (CHECK seats >= 0). */
export interface UserScheduleSeatsTable {
  user_id: string;
  schedule_id: string;
  seats: number;
}
