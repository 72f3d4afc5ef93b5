/**
 * Drill 7 (DESIGN.md, "Failure model": SIGTERM) and the stop it relies on:
 * a signal reaches the server under `npm start`; requests in flight finish
 * within the drain bound; what cannot end in time is left behind, and the
 * process exits within its bound anyway; a transaction it had open rolls
 * back, nothing commits.
 *
 * The bounds are app/time-bounds.ts's SHUTDOWN_*. The process drills send
 * a real signal to a real process (app/main.ts: the signal calls the
 * server's `close()`, then exits); the in-process drill calls that same
 * `close()` to show it resolves in bounded time when the pool cannot end.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signAccessToken } from '../../../adapters/auth/sign-access-token.js';
import { loadConfig } from '../../../app/config.js';
import { startServer } from '../../../app/server.js';
import { SHUTDOWN_CLOSE_MS, SHUTDOWN_DRAIN_MS, SHUTDOWN_EXIT_MS } from '../../../app/time-bounds.js';
import { TOKENS } from '../../../app/tokens.js';
import { TEST_JWT_SECRET, aUser } from '../../support/app-shapes.js';
import { deferred } from '../../support/deferred.js';
import type { IsolatedDatabase } from '../../support/isolated-database.js';
import { createIsolatedDatabase } from '../../support/isolated-database.js';
import type { IsolatedRedis } from '../../support/isolated-redis.js';
import { createIsolatedRedis } from '../../support/isolated-redis.js';
import { childPids, isRunning, startService } from './service-process.js';

/** Long enough for tsx to load the service on a busy 2-core machine. */
const START_DEADLINE_MS = 60_000;

/** Polls `check` until it answers true; fails with `what` at the deadline. For real processes and sessions, which tell no one when they change. */
async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function portIsFree(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, () => probe.close(() => resolve(true)));
  });
}

function charge(url: string, token: string, amount: number, key?: string): Promise<Response> {
  return fetch(`${url}/users/me/points/charge`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(key === undefined ? {} : { 'Idempotency-Key': key }) },
    body: JSON.stringify({ amount }),
  });
}

/** How a request in flight at shutdown ended: its status, or how its connection failed. */
async function outcome(response: Promise<Response>): Promise<number | string> {
  try {
    return (await response).status;
  } catch (error) {
    return `connection: ${String((error as Error).cause ?? error)}`;
  }
}

describe('npm start', () => {
  it('passes a SIGTERM sent to npm on to the server: node exits within the bound and the port is free', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ticketing-npm-start-'));
    const service = startService({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info' }, { viaNpm: true });
    const nodePids: number[] = [];
    try {
      const port = Number(new URL(await service.listening(START_DEADLINE_MS)).port);
      // The service's node process, below npm (directly when the script execs it, under a shell otherwise).
      const below = async (pid: number): Promise<number[]> => {
        const children = await childPids(pid);
        return [...children, ...(await Promise.all(children.map(below))).flat()];
      };
      for (const pid of await below(service.child.pid!)) {
        // An argument of its own: the shell's `-c` string only contains it.
        if ((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').includes('app/main.ts')) nodePids.push(pid);
      }
      expect(nodePids).toHaveLength(1);
      const [node] = nodePids as [number];

      const sent = Date.now();
      service.child.kill('SIGTERM');
      await waitFor('the service to exit', () => !isRunning(node), SHUTDOWN_EXIT_MS + 5_000);
      expect(Date.now() - sent).toBeLessThan(SHUTDOWN_EXIT_MS);
      expect(service.stdout()).toContain('"msg":"stopped"');
      expect(await service.exited(5_000)).toEqual({ code: 0, signal: null });
      expect(await portIsFree(port)).toBe(true);
    } finally {
      await service.kill();
      for (const pid of nodePids) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('drill 7: SIGTERM with a stuck query in flight', () => {
  let database: IsolatedDatabase;
  let redis: IsolatedRedis;
  let admin: pg.Client;
  beforeAll(async () => {
    database = await createIsolatedDatabase(inject('databaseUrl'));
    redis = createIsolatedRedis(inject('redisUrl'));
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await redis?.cleanup();
    await database?.drop();
  });

  /** The service's sessions on the drill's database waiting for a lock, and all of them (every session but the drill's own). */
  async function sessions(): Promise<{ waiting: number; all: number }> {
    const { rows } = await admin.query<{ waiting: string; all: string }>(
      `SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting, count(*) AS all
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    return { waiting: Number(rows[0]!.waiting), all: Number(rows[0]!.all) };
  }

  function distributedEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: database.url,
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: redis.prefix,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      PORT: '0',
      SEED_DEMO: 'false',
      ...extra,
    };
  }

  it('exits within the bound by its own steps, and the transaction it had open rolls back', async () => {
    const service = startService(distributedEnv({ LOG_LEVEL: 'info' }));
    const blocker = new pg.Client({ connectionString: database.url });
    try {
      const url = await service.listening(START_DEADLINE_MS);
      const user = aUser();
      const token = await signAccessToken(TEST_JWT_SECRET, user);
      expect((await charge(url, token, 100)).status).toBe(200);

      // Another session holds the wallet's row: the next charge's UPDATE waits for it.
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('SELECT balance FROM user_points WHERE user_id = $1 FOR UPDATE', [user]);
      const inFlight = outcome(charge(url, token, 5, `drill-7-${user}`));
      await waitFor('the charge to wait for the row', async () => (await sessions()).waiting > 0, 10_000);

      const sent = Date.now();
      service.child.kill('SIGTERM');
      const ended = await service.exited(SHUTDOWN_EXIT_MS + 5_000);
      const took = Date.now() - sent;
      // Exit code 0: close() finished its bounded steps; the hard bound in main.ts (exit 1) did not have to fire.
      expect(ended, service.stdout()).toEqual({ code: 0, signal: null });
      expect(took).toBeLessThanOrEqual(SHUTDOWN_DRAIN_MS + SHUTDOWN_CLOSE_MS + 500);
      // Answered with an error within the drain (a lock timeout), or cut at its end: never a success.
      expect(await inFlight).not.toBe(200);

      // Let the row go. A session of the service still waiting for it finds its client gone and ends, rolling back.
      await blocker.query('ROLLBACK');
      await waitFor("the service's sessions to end", async () => (await sessions()).all === 1, 10_000); // 1: the blocker
      const balance = await admin.query('SELECT balance FROM user_points WHERE user_id = $1', [user]);
      expect(balance.rows).toEqual([{ balance: 100 }]);
      const history = await admin.query('SELECT amount FROM point_history WHERE user_id = $1', [user]);
      expect(history.rows).toEqual([{ amount: 100 }]);
      const keys = await admin.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1', [`drill-7-${user}`]);
      expect(keys.rows).toEqual([{ n: 0 }]);
    } finally {
      await blocker.end().catch(() => undefined);
      await service.kill();
    }
  }, 90_000);

  it('close() resolves within its bounds even when the pool cannot end (a connection never given back)', async () => {
    const running = await startServer(loadConfig(distributedEnv({ LOG_LEVEL: 'silent' })));
    const never = deferred();
    let stuck: Promise<unknown> = Promise.resolve();
    try {
      const user = aUser();
      const token = await signAccessToken(TEST_JWT_SECRET, user);
      expect((await charge(running.url, token, 100)).status).toBe(200);

      // Work with no bound of its own (what a missing timeout would make): a transaction on the
      // service's own pool that takes the wallet's row and never finishes, so its connection never returns.
      const db = await running.application.container.getAsync(TOKENS.Kysely);
      const taken = deferred();
      stuck = db
        .transaction()
        .execute(async (trx) => {
          await sql`SELECT balance FROM user_points WHERE user_id = ${user} FOR UPDATE`.execute(trx);
          taken.resolve();
          await never.promise;
        })
        .catch((error: unknown) => error);
      await taken.promise;
      const inFlight = outcome(charge(running.url, token, 5));
      await waitFor('the charge to wait for the row', async () => (await sessions()).waiting > 0, 10_000);

      const started = Date.now();
      // A deadline of the test's own, so that a close that hangs fails here rather than at the test's timeout.
      let deadline: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        running.close().then(() => true),
        new Promise<false>((resolve) => (deadline = setTimeout(() => resolve(false), SHUTDOWN_EXIT_MS + 5_000))),
      ]);
      clearTimeout(deadline);
      expect(closed, 'close() resolved').toBe(true);
      expect(Date.now() - started).toBeLessThanOrEqual(SHUTDOWN_DRAIN_MS + SHUTDOWN_CLOSE_MS + 500);
      expect(await inFlight).not.toBe(200);
    } finally {
      never.resolve();
      await stuck;
      await running.close();
    }
  }, 60_000);
});
