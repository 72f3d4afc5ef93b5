import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { sql } from 'kysely';
import { LeaseLostError } from '../../core/domain/errors.js';
import type { TransactionOptions, TransactionPort, UnitOfWork } from '../../core/ports/transaction.port.js';
import { KyselyCatalogRepository } from './kysely-catalog-repository.js';
import { KyselyIdempotencyRepository } from './kysely-idempotency-repository.js';
import { KyselyPointsRepository } from './kysely-points-repository.js';
import { KyselyReservationRepository } from './kysely-reservation-repository.js';
import { KyselySeatRepository } from './kysely-seat-repository.js';
import type { Database } from './schema.js';
import { translateError } from './translate-error.js';

export class KyselyTransactionManager implements TransactionPort {
  constructor(private readonly db: Kysely<Database>) {}

  async run<T>(work: (uow: UnitOfWork) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const { signal } = options;
    try {
      // Explicit, so that a server whose default isolation is stricter does not
      // turn waits on a row lock into serialization failures.
      return await this.db
        .transaction()
        .setIsolationLevel('read committed')
        .execute(async (trx) => {
          const bound = signal === undefined ? trx : trx.withPlugin(new LeaseGuard(signal));
          const result = await work(unitOfWork(bound));
          // Work done after the lease was lost is unprotected: throwing here rolls it back.
          if (signal?.aborted === true) throw new LeaseLostError();
          return result;
        });
    } catch (error) {
      throw translateError(error);
    }
  }

  async read<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    try {
      // Straight on the pool: each statement runs on its own, no BEGIN/COMMIT.
      return await work(unitOfWork(this.db));
    } catch (error) {
      throw translateError(error);
    }
  }

  async ping(): Promise<void> {
    try {
      await sql`select 1`.execute(this.db);
    } catch (error) {
      throw translateError(error);
    }
  }
}

function unitOfWork(db: Kysely<Database>): UnitOfWork {
  return {
    points: new KyselyPointsRepository(db),
    idempotency: new KyselyIdempotencyRepository(db),
    catalog: new KyselyCatalogRepository(db),
    seats: new KyselySeatRepository(db),
    reservations: new KyselyReservationRepository(db),
  };
}

/** Once the lease is lost, every further query of the transaction fails at once instead of doing work that will be rolled back. */
class LeaseGuard implements KyselyPlugin {
  constructor(private readonly signal: AbortSignal) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.signal.aborted) throw new LeaseLostError();
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
