import type { MigratedDatabase } from '../support/migrated-database.js';
import { createMigratedDatabase } from '../support/migrated-database.js';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKysely } from '../../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../../adapters/kysely/kysely-transaction.js';
import { migrateToLatest } from '../../adapters/kysely/migrate.js';
import type { Database } from '../../adapters/kysely/schema.js';
import { BalanceLimitExceededError, LeaseLostError } from '../../core/domain/errors.js';
import { deferred } from '../support/deferred.js';
import { createIsolatedDatabase } from '../support/isolated-database.js';
import { ageKyselyIdempotencyKey } from '../support/age-idempotency-key.js';
import { describeTransactionContract } from './transaction.contract.js';

// One database for the file (creating one per test is slow); each test empties the tables after itself.
let database: MigratedDatabase;

beforeAll(async () => {
  database = await createMigratedDatabase(inject('databaseUrl'));
});

afterAll(async () => database?.drop());

describeTransactionContract('kysely on postgres', async () => ({
  tx: new KyselyTransactionManager(database.db),
  ageIdempotencyKey: (scope, key, ms) => ageKyselyIdempotencyKey(database.db, scope, key, ms),
  cleanup: async () => {
    await sql`truncate user_points, point_history, idempotency_keys restart identity`.execute(database.db);
  },
}));

/** Behaviour the contract cannot observe through the port, checked on the server itself. */
describe('kysely on postgres: server-side waits and migrations', () => {
  /** Resolves once some session of this database waits on a lock, i.e. the second writer has really reached the server and blocks. */
  async function someoneWaitsOnALock(): Promise<void> {
    const name = new URL(database.url).pathname.slice(1);
    for (;;) {
      const { rows } = await sql`select 1 from pg_stat_activity where datname = ${name} and wait_event_type = 'Lock'`.execute(database.db);
      if (rows.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  afterEach(async () => {
    await sql`truncate user_points, point_history, idempotency_keys restart identity`.execute(database.db);
  });

  it('blocks a second credit on the row lock until the first commits, then builds on it', async () => {
    const tx = new KyselyTransactionManager(database.db);
    const commit = deferred();
    const written = deferred();
    const first = tx.run(async (uow) => {
      await uow.points.credit('u1', 300, 1_000);
      written.resolve();
      await commit.promise;
    });
    await written.promise;
    const second = tx.run((uow) => uow.points.credit('u1', 800, 1_000));
    // It may reject while `first` is still being awaited: mark it handled now, assert on it below.
    second.catch(() => undefined);
    await someoneWaitsOnALock();
    commit.resolve();
    await first;
    // Re-evaluated on the committed 300: the guard refuses 1_100.
    await expect(second).rejects.toBeInstanceOf(BalanceLimitExceededError);
  });

  it('blocks a second claim of the same key until the first ends', async () => {
    const tx = new KyselyTransactionManager(database.db);
    const request = { scope: 's', key: 'k', fingerprint: 'f' };
    const finish = deferred();
    const claimed = deferred();
    const first = tx.run(async (uow) => {
      await uow.idempotency.claim(request);
      await uow.idempotency.complete(request.scope, request.key, [1, 2]);
      claimed.resolve();
      await finish.promise;
    });
    await claimed.promise;
    const second = tx.run((uow) => uow.idempotency.claim(request));
    await someoneWaitsOnALock();
    finish.resolve();
    await first;
    // An array survives the trip through jsonb as an array (pg alone would send it as a Postgres array).
    await expect(second).resolves.toEqual({ claimed: false, existing: { ...request, response: [1, 2] } });
  });

  it('fails the next query at once when the lease is lost during the work, and writes nothing', async () => {
    const tx = new KyselyTransactionManager(database.db);
    const controller = new AbortController();
    let reached = false;
    const run = tx.run(
      async (uow) => {
        await uow.points.credit('u1', 300, 1_000);
        controller.abort();
        await uow.points.credit('u1', 300, 1_000);
        reached = true;
      },
      { signal: controller.signal },
    );
    await expect(run).rejects.toBeInstanceOf(LeaseLostError);
    expect(reached).toBe(false);
    await expect(tx.run((uow) => uow.points.balanceOf('u1'))).resolves.toBe(0);
  });

  it("lets several instances migrate one fresh database at once (Kysely's advisory lock)", async () => {
    const fresh = await createIsolatedDatabase(inject('databaseUrl'));
    const instances = await Promise.all([1, 2, 3].map(() => createKysely({ databaseUrl: fresh.url, dataDir: 'memory://' })));
    try {
      await Promise.all(instances.map((instance) => migrateToLatest(instance)));
      const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(instances[0] as Kysely<Database>);
      expect(rows.map((row) => row.name)).toEqual([
        '0001-points',
        '0002-catalog-reservations',
        '0003-seat-limit-and-paging',
        '0004-idempotency-keys-created-at',
        '0005-reservations-pending-by-user',
      ]);
    } finally {
      await Promise.all(instances.map((instance) => instance.destroy()));
      await fresh.drop();
    }
  });
});
