import type { Page, PageRequest } from '../domain/cursor.js';
import { readPage } from '../domain/cursor.js';
import type { PointHistoryEntry } from '../domain/points.js';
import { requireId } from '../domain/validation.js';
import type { TransactionPort } from '../ports/transaction.port.js';

export interface GetPointHistoryInput extends PageRequest {
  readonly userId: string;
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
    return readPage(input, (limit, before) => this.tx.read((uow) => uow.points.history(input.userId, limit, before)));
  }
}
