import type { Concert } from '../../domain/catalog.js';
import type { TransactionPort } from '../../ports/transaction.port.js';
import type { CatalogCache } from './catalog-cache.js';

/** Every concert, oldest first; served from the cache (1 h, dropped when a concert is added). */
export class ListConcerts {
  constructor(
    private readonly tx: TransactionPort,
    private readonly cache: CatalogCache,
  ) {}

  async execute(): Promise<Concert[]> {
    return this.cache.concerts(() => this.tx.read((uow) => uow.catalog.listConcerts()));
  }
}
