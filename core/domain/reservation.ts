export type ReservationStatus = 'PENDING' | 'CONFIRMED' | 'EXPIRED';

export interface Reservation {
  readonly id: string;
  readonly userId: string;
  readonly scheduleId: string;
  readonly seatNo: number;
  readonly price: number;
  readonly status: ReservationStatus;
  /** The hold ends at this instant, exactly: from then on the seat is free and payment is refused. */
  readonly expiresAt: Date;
}

export interface Payment {
  readonly id: string;
  readonly reservationId: string;
  readonly userId: string;
  readonly amount: number;
  readonly at: Date;
}
