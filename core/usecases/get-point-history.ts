import type { PointHistoryEntry } from '../domain/points.js';
import { requireId } from '../domain/validation.js';
import type { TransactionPort } from '../ports/transaction.port.js';

export const HISTORY_PAGE_SIZE = 100;

/** A wallet's history, newest first. */
export class GetPointHistory {
  constructor(private readonly tx: TransactionPort) {}

  async execute(userId: string): Promise<PointHistoryEntry[]> {
    requireId('userId', userId);
    return this.tx.read((uow) => uow.points.history(userId, HISTORY_PAGE_SIZE));
  }
}
