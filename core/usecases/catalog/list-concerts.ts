import type { Concert } from '../../domain/catalog.js';
import type { TransactionPort } from '../../ports/transaction.port.js';

/** Every concert, oldest first. */
export class ListConcerts {
  constructor(private readonly tx: TransactionPort) {}

  async execute(): Promise<Concert[]> {
    return this.tx.run((uow) => uow.catalog.listConcerts());
  }
}
