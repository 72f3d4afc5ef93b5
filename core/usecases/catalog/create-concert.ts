import type { Concert } from '../../domain/catalog.js';
import { requireText } from '../../domain/catalog-rules.js';
import type { IdGenerator } from '../../ports/id-generator.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';
import type { CatalogCache } from './catalog-cache.js';

export interface CreateConcertInput {
  readonly title: string;
  readonly venue: string;
}

/** Admin: adds a concert. No lock: a new row with a new id has no other writer. */
export class CreateConcert {
  constructor(
    private readonly tx: TransactionPort,
    private readonly ids: IdGenerator,
    private readonly cache: CatalogCache,
  ) {}

  async execute(input: CreateConcertInput): Promise<Concert> {
    const concert: Concert = { id: this.ids.next(), title: requireText('title', input.title), venue: requireText('venue', input.venue) };
    await this.tx.run((uow) => uow.catalog.createConcert(concert));
    await this.cache.concertAdded();
    return concert;
  }
}
