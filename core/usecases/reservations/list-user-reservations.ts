import type { Page, PageRequest } from '../../domain/cursor.js';
import { readPage } from '../../domain/cursor.js';
import type { Reservation } from '../../domain/reservation.js';
import { asSeenAt } from '../../domain/reservation.js';
import { requireId } from '../../domain/validation.js';
import type { Clock } from '../../ports/clock.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';

export interface ListUserReservationsInput extends PageRequest {
  readonly userId: string;
}

/**
 * A user's reservations, newest first, a page at a time (API.md: paged like
 * the history). A page is "older than the cursor", so following `nextCursor`
 * walks the list exactly once even while the user makes new ones. A PENDING
 * one whose hold has ended reads as EXPIRED, as GetReservation answers it.
 */
export class ListUserReservations {
  constructor(
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
  ) {}

  async execute(input: ListUserReservationsInput): Promise<Page<Reservation>> {
    requireId('userId', input.userId);
    const page = await readPage(input, (limit, before) => this.tx.read((uow) => uow.reservations.listOfUser(input.userId, limit, before)));
    const now = this.clock.now();
    return { items: page.items.map((reservation) => asSeenAt(reservation, now)), nextCursor: page.nextCursor };
  }
}
