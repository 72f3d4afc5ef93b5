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

/**
 * A reservation as its owner sees it at `now`: a PENDING one whose hold has
 * ended reads EXPIRED, as the sweeper will make it (the hold ends at
 * `expiresAt` exactly, whenever the sweeper gets to it).
 */
export function asSeenAt(reservation: Reservation, now: Date): Reservation {
  return hasEnded(reservation, now) ? { ...reservation, status: 'EXPIRED' } : reservation;
}

/** A PENDING hold ends at its expiresAt exactly; a CONFIRMED one never does. */
export function hasEnded(reservation: Reservation, now: Date): boolean {
  return reservation.status === 'PENDING' && reservation.expiresAt.getTime() <= now.getTime();
}
