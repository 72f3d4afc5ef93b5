import type { Payment, Reservation } from '../domain/reservation.js';

/** Reservations and their payments. Status changes are conditional updates; a live reservation per seat and a payment per reservation are unique. */
export interface ReservationRepository {
  /**
   * Inserts a PENDING reservation. Throws `SeatUnavailableError` if the seat
   * already has a PENDING or CONFIRMED reservation (a partial unique index,
   * checked at once: expire a replaced reservation before inserting its
   * successor). A transaction changing that seat's live reservation is
   * waited for. The transaction stays usable after the refusal.
   */
  insert(reservation: Reservation): Promise<void>;

  find(reservationId: string): Promise<Reservation | undefined>;

  /**
   * PENDING and `expiresAt > now` → CONFIRMED, in one conditional update
   * (row-locked to commit). Throws `ReservationExpiredError` if the hold has
   * ended (PENDING at or past `expiresAt`, or EXPIRED), `ReservationNotPendingError`
   * if it is CONFIRMED, `NotFoundError`.
   */
  confirm(reservationId: string, now: Date): Promise<Reservation>;

  /**
   * PENDING and `expiresAt <= now` → EXPIRED. Answers false (writing nothing)
   * if it is not, or if another transaction holds its row (SKIP LOCKED: that
   * one is deciding it).
   */
  expire(reservationId: string, now: Date): Promise<boolean>;

  /** PENDING reservations whose hold ended at or before `now`, oldest first. A plain read: callers lock and `expire` each. */
  findEnded(now: Date, limit: number): Promise<Reservation[]>;

  /** Records the payment (amount 0 for a free seat). Throws `ReservationNotPendingError` if the reservation already has one (unique; a concurrent one is waited for). */
  insertPayment(payment: Payment): Promise<void>;
  findPaymentByReservation(reservationId: string): Promise<Payment | undefined>;
}
