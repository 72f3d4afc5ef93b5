import { ForbiddenError, NotFoundError } from '../../domain/errors.js';
import type { Reservation } from '../../domain/reservation.js';
import { asSeenAt } from '../../domain/reservation.js';
import { requireId } from '../../domain/validation.js';
import type { Clock } from '../../ports/clock.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';

/**
 * A reservation, to its owner only (403 for anyone else). A PENDING one
 * whose hold has ended reads as EXPIRED, as the sweeper will make it: the
 * hold ends at expiresAt exactly, whenever the sweeper gets to it.
 */
export class GetReservation {
  constructor(
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
  ) {}

  async execute(input: { readonly userId: string; readonly reservationId: string }): Promise<Reservation> {
    requireId('userId', input.userId);
    requireId('reservationId', input.reservationId);
    const reservation = await this.tx.read((uow) => uow.reservations.find(input.reservationId));
    if (reservation === undefined) throw new NotFoundError(`no reservation ${input.reservationId}`);
    if (reservation.userId !== input.userId) throw new ForbiddenError('this reservation is not yours');
    return asSeenAt(reservation, this.clock.now());
  }
}
