import net from 'node:net';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKysely } from '../../adapters/kysely/create-kysely.js';
import { KyselyTransactionManager } from '../../adapters/kysely/kysely-transaction.js';
import { migrateToLatest } from '../../adapters/kysely/migrate.js';
import type { Database } from '../../adapters/kysely/schema.js';
import { DependencyUnavailableError, InsufficientPointsError } from '../../core/domain/errors.js';
import { deferred } from '../support/deferred.js';
import type { IsolatedDatabase } from '../support/isolated-database.js';
import { createIsolatedDatabase } from '../support/isolated-database.js';

const unavailable = { code: 'SERVICE_UNAVAILABLE', dependency: 'database' };

describe('KyselyTransactionManager when the database is down', () => {
  const opened: Kysely<Database>[] = [];
  const open = async (databaseUrl: string): Promise<{ db: Kysely<Database>; tx: KyselyTransactionManager }> => {
    const db = await createKysely({ databaseUrl, dataDir: 'memory://', connectTimeoutMs: 300 });
    opened.push(db);
    return { db, tx: new KyselyTransactionManager(db) };
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.destroy().catch(() => undefined)));
  });

  it('answers DependencyUnavailableError at once when nothing listens on the port', async () => {
    const { tx } = await open('postgres://postgres:postgres@127.0.0.1:1/x');
    const started = Date.now();
    await expect(tx.ping()).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(tx.run((uow) => uow.points.balanceOf('u1'))).rejects.toMatchObject(unavailable);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('gives up after the connect timeout when the server accepts but never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const { tx } = await open(`postgres://postgres:postgres@127.0.0.1:${port}/x`);
      await expect(tx.ping()).rejects.toMatchObject(unavailable);
      await expect(tx.run((uow) => uow.points.balanceOf('u1'))).rejects.toBeInstanceOf(DependencyUnavailableError);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('answers DependencyUnavailableError once the database has been closed (embedded, shutting down)', async () => {
    const db = await createKysely({ dataDir: 'memory://' });
    const tx = new KyselyTransactionManager(db);
    await expect(tx.ping()).resolves.toBeUndefined();
    await db.destroy();
    await expect(tx.ping()).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(tx.run((uow) => uow.points.balanceOf('u1'))).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  describe('on a live server', () => {
    let database: IsolatedDatabase;
    let admin: Kysely<Database>;
    beforeAll(async () => {
      database = await createIsolatedDatabase(inject('databaseUrl'));
      const setup = await createKysely({ databaseUrl: database.url, dataDir: 'memory://' });
      await migrateToLatest(setup);
      await setup.destroy();
      admin = await createKysely({ databaseUrl: inject('databaseUrl'), dataDir: 'memory://', poolSize: 1 });
    });
    afterAll(async () => {
      await admin?.destroy();
      await database?.drop();
    });

    it('turns a connection the server ends mid-transaction into DependencyUnavailableError, rolls back, and serves the next request', async () => {
      const { tx } = await open(database.url);
      const entered = deferred();
      const resume = deferred();
      const run = tx.run(async (uow) => {
        await uow.points.credit('u1', 10, 1_000);
        entered.resolve();
        await resume.promise;
        return uow.points.balanceOf('u1');
      });
      await entered.promise;
      const name = new URL(database.url).pathname.slice(1);
      // What a restart or failover does to every open session: 57P01 admin_shutdown.
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`.execute(admin);
      // pg_terminate_backend only signals: wait until the session is really gone.
      while ((await sql`select 1 from pg_stat_activity where datname = ${name}`.execute(admin)).rows.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      resume.resolve();
      await expect(run).rejects.toMatchObject(unavailable);
      // Nothing half-written; the error event of the client held by the transaction did not crash
      // the process, and the pool has replaced the dead connection.
      await expect(tx.run((uow) => uow.points.balanceOf('u1'))).resolves.toBe(0);
    });

    it('passes domain errors from the work through unchanged', async () => {
      const { tx } = await open(database.url);
      await expect(tx.run((uow) => uow.points.debit('nobody', 5))).rejects.toBeInstanceOf(InsufficientPointsError);
    });
  });
});
