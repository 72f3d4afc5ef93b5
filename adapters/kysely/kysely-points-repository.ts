import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Positioned } from '../../core/domain/cursor.js';
import { BalanceLimitExceededError, InsufficientPointsError } from '../../core/domain/errors.js';
import { BALANCE_LIMIT } from '../../core/domain/points.js';
import type { PointHistoryEntry } from '../../core/domain/points.js';
import type { PointsRepository } from '../../core/ports/points.repository.js';
import type { Database } from './schema.js';
import { isCheckViolation } from './translate-error.js';

/**
 * Every write is one statement whose WHERE carries the rule, so it holds on
 * the latest committed balance even without the lock: the row lock the
 * statement takes makes a concurrent writer wait and then re-evaluate.
 */
export class KyselyPointsRepository implements PointsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async balanceOf(userId: string): Promise<number> {
    const row = await this.db.selectFrom('user_points').select('balance').where('user_id', '=', userId).executeTakeFirst();
    return row?.balance ?? 0;
  }

  async credit(userId: string, amount: number, limit: number): Promise<number> {
    // A first charge inserts exactly `amount` whatever runs concurrently (a racing
    // insert turns ours into the guarded update), so checking it here is race-free.
    if (amount > limit) throw new BalanceLimitExceededError(limit);
    let row: { balance: number } | undefined;
    try {
      row = await this.db
        .insertInto('user_points')
        .values({ user_id: userId, balance: amount })
        .onConflict((oc) =>
          oc
            .column('user_id')
            .doUpdateSet({ balance: sql`user_points.balance + excluded.balance`, updated_at: sql`now()` })
            .where(sql`user_points.balance + excluded.balance`, '<=', limit),
        )
        .returning('balance')
        .executeTakeFirst();
    } catch (error) {
      // A caller's limit above the table's CHECK: the CHECK is the limit that applies.
      if (isCheckViolation(error)) throw new BalanceLimitExceededError(Math.min(limit, BALANCE_LIMIT));
      throw error;
    }
    if (row === undefined) throw new BalanceLimitExceededError(limit);
    return row.balance;
  }

  async debit(userId: string, amount: number): Promise<number> {
    let row: { balance: number } | undefined;
    try {
      row = await this.db
        .updateTable('user_points')
        .set({ balance: sql`balance - ${amount}`, updated_at: sql`now()` })
        .where('user_id', '=', userId)
        .where('balance', '>=', amount)
        .returning('balance')
        .executeTakeFirst();
    } catch (error) {
      // Unreachable while the WHERE above stands; the failed statement has aborted
      // the transaction, so the balance cannot be read for the message.
      if (isCheckViolation(error)) throw new InsufficientPointsError(0, amount);
      throw error;
    }
    if (row === undefined) throw new InsufficientPointsError(await this.balanceOf(userId), amount);
    return row.balance;
  }

  async appendHistory(entry: PointHistoryEntry): Promise<void> {
    await this.db
      .insertInto('point_history')
      .values({
        user_id: entry.userId,
        kind: entry.kind,
        amount: entry.amount,
        balance_after: entry.balanceAfter,
        created_at: entry.at,
      })
      .execute();
  }

  async history(userId: string, limit: number, before?: number): Promise<Positioned<PointHistoryEntry>[]> {
    let query = this.db
      .selectFrom('point_history')
      .select(['id', 'user_id', 'kind', 'amount', 'balance_after', 'created_at'])
      .where('user_id', '=', userId)
      // The identity grows with every insert: a total order even when two entries share a timestamp.
      .orderBy('id', 'desc')
      .limit(limit);
    // Passed as text: pg sends int8 parameters as strings anyway, and no id is rounded on the way.
    if (before !== undefined) query = query.where('id', '<', String(before));
    const rows = await query.execute();
    return rows.map((row) => ({
      userId: row.user_id,
      kind: row.kind,
      amount: row.amount,
      balanceAfter: row.balance_after,
      at: row.created_at,
      position: Number(row.id),
    }));
  }
}
