import type { Page } from '../../domain/cursor.js';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, decodeCursor, toPage } from '../../domain/cursor.js';
import type { Reservation } from '../../domain/reservation.js';
import { requireId, requireIntegerInRange } from '../../domain/validation.js';
import type { Clock } from '../../ports/clock.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';

export interface ListUserReservationsInput {
  readonly userId: string;
  /** 1 to 100; 50 when absent. */
  readonly limit?: number;
  /** The `nextCursor` of the page before; absent for the first page. */
  readonly cursor?: string;
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
    const limit = input.limit ?? DEFAULT_PAGE_LIMIT;
    requireIntegerInRange('limit', limit, 1, MAX_PAGE_LIMIT);
    const before = input.cursor === undefined ? undefined : decodeCursor(input.cursor);

    // One row more than the page: it only tells whether another page follows.
    const fetched = await this.tx.read((uow) => uow.reservations.listOfUser(input.userId, limit + 1, before));
    const page = toPage(fetched, limit);
    const now = this.clock.now().getTime();
    return {
      items: page.items.map(({ position: _, ...reservation }) =>
        reservation.status === 'PENDING' && reservation.expiresAt.getTime() <= now ? { ...reservation, status: 'EXPIRED' } : reservation,
      ),
      nextCursor: page.nextCursor,
    };
  }
}
