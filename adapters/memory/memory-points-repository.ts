import type { Positioned } from '../../core/domain/cursor.js';
import { BalanceLimitExceededError, InsufficientPointsError } from '../../core/domain/errors.js';
import type { PointHistoryEntry } from '../../core/domain/points.js';
import type { PointsRepository } from '../../core/ports/points.repository.js';
import type { MemoryTransaction } from './memory-database.js';
import type { Tick } from './tick.js';

const WALLETS = 'user_points';
const HISTORY = 'point_history';

interface HistoryRow {
  readonly id: number;
  readonly entry: PointHistoryEntry;
}

/**
 * With `guarded` (the default) each write locks the row and checks the rule
 * on the latest committed balance, as `UPDATE ... SET balance = balance + $1
 * WHERE ...` does. Without it, a write computes from a balance read earlier:
 * the read-modify-write that loses updates, kept only so property tests can
 * show that they catch it.
 */
export class MemoryPointsRepository implements PointsRepository {
  constructor(
    private readonly tx: MemoryTransaction,
    private readonly tick: Tick,
    private readonly guarded: boolean,
  ) {}

  async balanceOf(userId: string): Promise<number> {
    await this.tick();
    return this.tx.read<number>(WALLETS, userId) ?? 0;
  }

  async credit(userId: string, amount: number, limit: number): Promise<number> {
    return this.update(userId, (balance) => {
      if (balance + amount > limit) throw new BalanceLimitExceededError(limit);
      return balance + amount;
    });
  }

  async debit(userId: string, amount: number): Promise<number> {
    return this.update(userId, (balance) => {
      if (balance < amount) throw new InsufficientPointsError(balance, amount);
      return balance - amount;
    });
  }

  async appendHistory(entry: PointHistoryEntry): Promise<void> {
    await this.tick();
    this.tx.insert(HISTORY, (id): HistoryRow => ({ id, entry }));
  }

  async history(userId: string, limit: number, before?: number): Promise<Positioned<PointHistoryEntry>[]> {
    await this.tick();
    return this.tx
      .rows<HistoryRow>(HISTORY)
      .filter((row) => row.entry.userId === userId && (before === undefined || row.id < before))
      .sort((a, b) => b.id - a.id)
      .slice(0, limit)
      .map((row) => ({ ...row.entry, position: row.id }));
  }

  private async update(userId: string, next: (balance: number) => number): Promise<number> {
    await this.tick();
    if (this.guarded) {
      await this.tx.lockRow(WALLETS, userId);
      const balance = next(this.tx.read<number>(WALLETS, userId) ?? 0);
      this.tx.write(WALLETS, userId, balance);
      return balance;
    }
    const stale = next(this.tx.read<number>(WALLETS, userId) ?? 0);
    await this.tick();
    await this.tx.lockRow(WALLETS, userId);
    this.tx.write(WALLETS, userId, stale);
    return stale;
  }
}
