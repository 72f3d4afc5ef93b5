import type { Positioned } from '../domain/cursor.js';
import type { Payment, Reservation } from '../domain/reservation.js';

/** Reservations and their payments. Status changes are conditional updates; a live reservation per seat and a payment per reservation are unique. */
export interface ReservationRepository {
  /**
   * Inserts a PENDING reservation. Throws `SeatUnavailableError` if the seat
   * already has a PENDING or CONFIRMED reservation (a partial unique index,
   * checked at once: expire a replaced reservation before inserting its
   * successor). A transaction changing that seat's live reservation is
   * waited for. The transaction stays usable after the refusal.
   *
   * Throws `SeatLimitReachedError` if the user already has `maxPerUser`
   * PENDING or CONFIRMED reservations of that schedule (an ended hold not
   * yet expired still counts: expire it first). The guard is the
   * database's own (a per-user-per-schedule counter row, updated only while
   * below the limit, row-locked to commit), so it holds without the lock:
   * concurrent inserts of one user wait for each other and re-check.
   */
  insert(reservation: Reservation, maxPerUser: number): Promise<void>;

  /**
   * The user's PENDING and CONFIRMED reservations of one schedule, whatever
   * their holds' ends: what counts against the seat limit. A plain read.
   */
  liveOf(userId: string, scheduleId: string): Promise<Reservation[]>;

  /** How many of the user's reservations, over every schedule, are PENDING with a hold that ends after `now`. */
  countPending(userId: string, now: Date): Promise<number>;

  /**
   * At most `limit` of the user's reservations, newest first, each with its
   * position (grows with every insert); with `before`, only those whose
   * position is below it (the next page).
   */
  listOfUser(userId: string, limit: number, before?: number): Promise<Positioned<Reservation>[]>;

  find(reservationId: string): Promise<Reservation | undefined>;

  /**
   * PENDING and `expiresAt > now` → CONFIRMED, in one conditional update
   * (row-locked to commit). Throws `ReservationExpiredError` if the hold has
   * ended (PENDING at or past `expiresAt`, or EXPIRED), `ReservationNotPendingError`
   * if it is CONFIRMED, `NotFoundError`.
   */
  confirm(reservationId: string, now: Date): Promise<Reservation>;

  /**
   * PENDING and `expiresAt <= now` → EXPIRED, and it stops counting against
   * its user's seat limit. Answers false (writing nothing) if it is not, or
   * if another transaction holds its row (SKIP LOCKED: that one is deciding it).
   */
  expire(reservationId: string, now: Date): Promise<boolean>;

  /** PENDING reservations whose hold ended at or before `now`, oldest first. A plain read: callers lock and `expire` each. */
  findEnded(now: Date, limit: number): Promise<Reservation[]>;

  /** Records the payment (amount 0 for a free seat). Throws `ReservationNotPendingError` if the reservation already has one (unique; a concurrent one is waited for). */
  insertPayment(payment: Payment): Promise<void>;
  findPaymentByReservation(reservationId: string): Promise<Payment | undefined>;
}
