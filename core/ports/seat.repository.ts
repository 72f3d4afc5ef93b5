/** A seat's state changes in a sale. Each is one conditional write: safe without the lock. */
export interface SeatRepository {
  /**
   * Holds the seat for `reservationId` until `until`, only if it is
   * AVAILABLE or HELD by a hold that ended at or before `now` (row-locked to
   * commit). Answers its price and the reservation whose ended hold was
   * replaced (the caller expires it in the same transaction).
   * Throws `SeatUnavailableError` if it is SOLD or held by a live hold,
   * `NotFoundError` if there is no such seat.
   */
  hold(scheduleId: string, seatNo: number, reservationId: string, until: Date, now: Date): Promise<{ price: number; replaced: string | undefined }>;

  /** HELD by `reservationId` → SOLD. Throws `ReservationNotPendingError` if the seat is not held by it. */
  sell(scheduleId: string, seatNo: number, reservationId: string): Promise<void>;

  /** HELD by `reservationId` → AVAILABLE; a no-op (false) if the seat is no longer held by it. */
  release(scheduleId: string, seatNo: number, reservationId: string): Promise<boolean>;
}
