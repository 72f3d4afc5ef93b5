import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { sql } from 'kysely';
import { DependencyUnavailableError, LeaseLostError } from '../../core/domain/errors.js';
import type { TransactionOptions, TransactionPort, UnitOfWork } from '../../core/ports/transaction.port.js';
import { KyselyCatalogRepository } from './kysely-catalog-repository.js';
import { KyselyIdempotencyRepository } from './kysely-idempotency-repository.js';
import { KyselyPointsRepository } from './kysely-points-repository.js';
import { KyselyReservationRepository } from './kysely-reservation-repository.js';
import { KyselySeatRepository } from './kysely-seat-repository.js';
import type { Database } from './schema.js';
import { translateError } from './translate-error.js';

export interface KyselyTransactionOptions {
  /**
   * No statement of a transaction starts later than this after `run` was
   * called (app/time-bounds.ts: DB_TRANSACTION_BUDGET_MS); the next one is
   * refused with `DependencyUnavailableError` and the transaction rolls
   * back. Per-statement timeouts alone would let many slow statements add
   * up past the lock's lease. Unset: no budget.
   */
  readonly budgetMs?: number;
}

export class KyselyTransactionManager implements TransactionPort {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: KyselyTransactionOptions = {},
  ) {}

  async run<T>(work: (uow: UnitOfWork) => Promise<T>, options: TransactionOptions<T> = {}): Promise<T> {
    const { signal, beforeCommit } = options;
    const { budgetMs } = this.options;
    // From the call, so that waiting for a pooled connection and BEGIN count too.
    const deadline = budgetMs === undefined ? undefined : Date.now() + budgetMs;
    try {
      // Explicit, so that a server whose default isolation is stricter does not
      // turn waits on a row lock into serialization failures.
      return await this.db
        .transaction()
        .setIsolationLevel('read committed')
        .execute(async (trx) => {
          const guarded = signal === undefined ? trx : trx.withPlugin(new LeaseGuard(signal));
          const bound = deadline === undefined ? guarded : guarded.withPlugin(new BudgetGuard(deadline));
          const uow = unitOfWork(bound);
          const result = await work(uow);
          await beforeCommit?.(uow, result);
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

/** Past the transaction's budget, every further query fails at once: the transaction rolls back (503) instead of running on under its lock. */
class BudgetGuard implements KyselyPlugin {
  constructor(private readonly deadline: number) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (Date.now() > this.deadline) throw new DependencyUnavailableError('database', { cause: new Error('the transaction ran past its time budget') });
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
