import type { Balance } from '../domain/points.js';
import { requireId } from '../domain/validation.js';
import type { TransactionPort } from '../ports/transaction.port.js';

/** The committed balance; never cached (a wallet must read its own writes). */
export class GetBalance {
  constructor(private readonly tx: TransactionPort) {}

  async execute(userId: string): Promise<Balance> {
    requireId('userId', userId);
    const balance = await this.tx.read((uow) => uow.points.balanceOf(userId));
    return { userId, balance };
  }
}
