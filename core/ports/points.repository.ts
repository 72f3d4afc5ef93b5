import type { Positioned } from '../domain/cursor.js';
import type { PointHistoryEntry } from '../domain/points.js';

/** The wallet tables. Every write is one guarded statement: safe without the lock. */
export interface PointsRepository {
  /** The committed balance (0 for a user never charged). */
  balanceOf(userId: string): Promise<number>;

  /**
   * Adds `amount` in one guarded statement and returns the new balance.
   * Throws `BalanceLimitExceededError` (nothing written) if it would pass `limit`.
   */
  credit(userId: string, amount: number, limit: number): Promise<number>;

  /**
   * Deducts `amount` in one guarded statement and returns the new balance.
   * Throws `InsufficientPointsError` (nothing written) if the balance is smaller.
   */
  debit(userId: string, amount: number): Promise<number>;

  appendHistory(entry: PointHistoryEntry): Promise<void>;

  /**
   * At most `limit` entries, newest first, each with its position (the
   * identity of its row: grows with every append); with `before`, only
   * entries whose position is below it (the next page).
   */
  history(userId: string, limit: number, before?: number): Promise<Positioned<PointHistoryEntry>[]>;
}
