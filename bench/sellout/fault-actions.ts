/**
 * What each sell-out fault does to the fleet, one function per FaultKind
 * (DESIGN.md, "Failure model": each row's "under load" form). Each resolves
 * when its fault is over (Redis back, the stall released, the instance
 * gone) with what exactly was done and, where the row promises a time of
 * its own, that time measured beside its bound.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { LOCK_LEASE_MS, SHUTDOWN_EXIT_MS } from '../../app/time-bounds.js';
import type { Fleet } from './fleet.js';
import type { FaultKind } from './options.js';

/** A time the fault's row promises, measured: e.g. how long a SIGTERMed instance took to exit. */
export interface FaultFact {
  readonly name: string;
  readonly valueMs: number;
  readonly boundMs: number;
}

export interface Injected {
  readonly detail: string;
  readonly fact?: FaultFact;
}

/**
 * row-lock-stall holds its locks this long: past a whole lease, so that a
 * request that waited for them (it cannot: lock_timeout ends the wait) would
 * have outlived its lock, and past the holds of the buyers paying then.
 */
export const STALL_MS = LOCK_LEASE_MS + 2_000;

/** postgres-terminate: a round of terminations this often while the fault lasts. */
const TERMINATE_EVERY_MS = 200;

type Action = (fleet: Fleet, downtimeMs: number) => Promise<Injected>;

/** The last instance: buyers are spread over all of them by number, so any one carries its share of the crowd. */
const victim = (fleet: Fleet): number => fleet.urls.length - 1;

function ownRedis(fleet: Fleet): NonNullable<Fleet['ownRedis']> {
  if (fleet.ownRedis === undefined) throw new Error('a Redis fault needs the sell-out’s own redis-server');
  return fleet.ownRedis;
}

export const FAULT_ACTIONS: Readonly<Record<Exclude<FaultKind, 'none'>, Action>> = {
  'redis-restart': async (fleet, downtimeMs) => {
    const redis = ownRedis(fleet);
    await redis.shutdown();
    await sleep(downtimeMs);
    await redis.start();
    return { detail: `redis-cli shutdown, started again on the same AOF folder after ${downtimeMs / 1_000} s` };
  },

  // The server runs without AOF or RDB (fleet.ts): it comes back with no keys at all, locks, fences, line and cache alike.
  'redis-restart-empty': async (fleet, downtimeMs) => {
    const redis = ownRedis(fleet);
    await redis.shutdown();
    await sleep(downtimeMs);
    await redis.start();
    return { detail: `redis-cli shutdown, started again after ${downtimeMs / 1_000} s with no persistence: every key gone (locks, line, cache)` };
  },

  'redis-pause': async (fleet, downtimeMs) => {
    const redis = ownRedis(fleet);
    redis.pause();
    try {
      await sleep(downtimeMs);
    } finally {
      redis.resume();
    }
    return { detail: `SIGSTOP to redis-server for ${downtimeMs / 1_000} s, then SIGCONT: connections open, nothing answered` };
  },

  // Every backend of the sale's own database (the admin's own session excepted), whatever each is doing, in rounds for the
  // downtime: the pools reconnect between rounds, and each round catches more of them in the middle of a transaction.
  'postgres-terminate': async (fleet, downtimeMs) => {
    const admin = new pg.Client({ connectionString: fleet.databaseUrl });
    await admin.connect();
    try {
      let rounds = 0;
      let terminated = 0;
      let busy = 0;
      const until = performance.now() + downtimeMs;
      do {
        const { rows } = await admin.query<{ terminated: number; busy: number }>(
          `select count(*) filter (where pg_terminate_backend(pid))::int as terminated,
                  count(*) filter (where state in ('active', 'idle in transaction', 'idle in transaction (aborted)'))::int as busy
           from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
          [fleet.databaseName],
        );
        rounds++;
        terminated += rows[0]?.terminated ?? 0;
        busy += rows[0]?.busy ?? 0;
        await sleep(TERMINATE_EVERY_MS);
      } while (performance.now() < until);
      return {
        detail: `pg_terminate_backend on every backend of database ${fleet.databaseName}, ${rounds} rounds over ${downtimeMs / 1_000} s: ${terminated} terminated, ${busy} of them in a statement or a transaction`,
      };
    } finally {
      await admin.end();
    }
  },

  // What a payment in progress writes (DESIGN.md's row: a payment that waits for a row past its hold's end must not commit):
  // every wallet (the debit) and every HELD seat (the sale). AVAILABLE seats stay free, so the sale goes on around the stall
  // for buyers whose wallets are new (a first charge inserts its row), as it would around an operator's stuck transaction.
  'row-lock-stall': async (fleet) => {
    const session = new pg.Client({ connectionString: fleet.databaseUrl });
    await session.connect();
    try {
      await session.query('begin');
      const wallets = await session.query('select 1 from user_points for update');
      const seats = await session.query(`select 1 from seats where status = 'HELD' for update`);
      await sleep(STALL_MS);
      await session.query('rollback');
      return {
        detail: `another session held FOR UPDATE locks on all ${wallets.rowCount ?? 0} wallet rows and the ${seats.rowCount ?? 0} HELD seat rows for ${STALL_MS / 1_000} s (the lease is ${LOCK_LEASE_MS / 1_000} s), then rolled back`,
      };
    } finally {
      await session.end();
    }
  },

  'kill-instance': async (fleet) => {
    const index = victim(fleet);
    await fleet.signal(index, 'SIGKILL');
    return { detail: `SIGKILL to instance ${index + 1} of ${fleet.urls.length} (${fleet.urls[index]})` };
  },

  'sigterm-instance': async (fleet) => {
    const index = victim(fleet);
    const sentAt = performance.now();
    const exit = await fleet.signal(index, 'SIGTERM');
    const exitMs = exit.atMs - sentAt;
    return {
      detail: `SIGTERM to instance ${index + 1} of ${fleet.urls.length} (${fleet.urls[index]}): it exited ${exit.signal === null ? `with code ${exit.code}` : `by ${exit.signal}`} after ${(exitMs / 1_000).toFixed(1)} s`,
      fact: { name: 'exit after SIGTERM', valueMs: exitMs, boundMs: SHUTDOWN_EXIT_MS },
    };
  },
};
