import type { Page } from '../domain/cursor.js';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, decodeCursor, toPage } from '../domain/cursor.js';
import type { PointHistoryEntry } from '../domain/points.js';
import { requireId, requireIntegerInRange } from '../domain/validation.js';
import type { TransactionPort } from '../ports/transaction.port.js';

export interface GetPointHistoryInput {
  readonly userId: string;
  /** 1 to 100; 50 when absent. */
  readonly limit?: number;
  /** The `nextCursor` of the page before; absent for the first page. */
  readonly cursor?: string;
}

/**
 * A wallet's history, newest first, a page at a time. A page is "older than
 * the cursor", so following `nextCursor` walks the history exactly once even
 * while charges and payments land at its head.
 */
export class GetPointHistory {
  constructor(private readonly tx: TransactionPort) {}

  async execute(input: GetPointHistoryInput): Promise<Page<PointHistoryEntry>> {
    requireId('userId', input.userId);
    const limit = input.limit ?? DEFAULT_PAGE_LIMIT;
    requireIntegerInRange('limit', limit, 1, MAX_PAGE_LIMIT);
    const before = input.cursor === undefined ? undefined : decodeCursor(input.cursor);

    // One row more than the page: it only tells whether another page follows.
    const fetched = await this.tx.read((uow) => uow.points.history(input.userId, limit + 1, before));
    const page = toPage(fetched, limit);
    return { items: page.items.map(({ position: _, ...entry }) => entry), nextCursor: page.nextCursor };
  }
}
