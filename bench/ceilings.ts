import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { load } from './http-load.js';
import type { LoadOptions, LoadResult } from './http-load.js';
import type { Latency } from './support.js';
import { busyShare, machineCpu, startChild, summarise } from './support.js';

export interface TxCeiling {
  readonly txPerS: number;
  readonly latency: Latency;
  readonly poolSize: number;
  readonly concurrency: number;
  /** CPU of this (client) process per transaction, ms: what pg alone costs a caller. */
  readonly clientCpuMsPerTx: number;
  /** Share of the whole machine busy meanwhile, 0..1. */
  readonly machineBusy: number;
}

/**
 * (b) The database part of a charge with nothing around it: raw pg, the same
 * four statements (and round trips) Kysely sends for ChargePoints without an
 * Idempotency-Key, on a pool of the app's size, `concurrency` callers at
 * once (as many as autocannon's connections), each on its own user.
 */
export async function pgWriteTransaction(databaseUrl: string, options: { poolSize: number; concurrency: number; durationS: number }): Promise<TxCeiling> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.poolSize });
  const samples: number[] = [];
  let next = 0;
  const charge = async (userId: string) => {
    const client = await pool.connect();
    try {
      await client.query('start transaction isolation level read committed');
      const { rows } = await client.query<{ balance: number }>(
        `insert into user_points (user_id, balance) values ($1, $2)
         on conflict (user_id) do update set balance = user_points.balance + excluded.balance, updated_at = now()
         where user_points.balance + excluded.balance <= $3
         returning balance`,
        [userId, 10, 100_000_000],
      );
      await client.query('insert into point_history (user_id, kind, amount, balance_after, created_at) values ($1, $2, $3, $4, $5)', [
        userId,
        'CHARGE',
        10,
        rows[0]?.balance ?? 0,
        new Date(),
      ]);
      await client.query('commit');
    } finally {
      client.release();
    }
  };
  try {
    // Warm-up: open every pool connection and let Postgres cache the plans' catalog lookups.
    await Promise.all(Array.from({ length: options.poolSize * 2 }, (_, i) => charge(`ceiling-warm-${i}`)));
    const stopAt = performance.now() + options.durationS * 1000;
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const machineBefore = machineCpu();
    const worker = async () => {
      while (performance.now() < stopAt) {
        const t = performance.now();
        await charge(`ceiling-${next++}`);
        samples.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const elapsedS = (performance.now() - started) / 1000;
    const machineBusy = busyShare(machineBefore, machineCpu());
    const cpu = process.cpuUsage(cpuBefore);
    return {
      txPerS: samples.length / elapsedS,
      latency: summarise(samples),
      poolSize: options.poolSize,
      concurrency: options.concurrency,
      clientCpuMsPerTx: (cpu.user + cpu.system) / 1000 / samples.length,
      machineBusy,
    };
  } finally {
    await pool.end();
  }
}

export type MachineLoad = LoadResult & { readonly machineBusy: number };

export interface HonoCeilings {
  readonly get: MachineLoad;
  readonly post: MachineLoad;
}

/**
 * (c) Bare Hono routes on @hono/node-server in a child process: what the
 * framework and Node's HTTP stack cost on this machine. GET /ping as asked;
 * a JSON POST on a rotating path as well, the HTTP shape of a charge.
 */
export async function bareHono(options: { connections: number; durationS: number; warmupS: number }): Promise<HonoCeilings> {
  const child = await startChild(fileURLToPath(new URL('./hono-ping.ts', import.meta.url)), process.env);
  const measure = async (request: Omit<LoadOptions, 'url' | 'connections' | 'durationS'>): Promise<MachineLoad> => {
    const base = { url: child.url, connections: options.connections, ...request };
    await load({ ...base, durationS: options.warmupS });
    const before = machineCpu();
    const result = await load({ ...base, durationS: options.durationS });
    return { ...result, machineBusy: busyShare(before, machineCpu()) };
  };
  try {
    const get = await measure({ path: '/ping' });
    let n = 0;
    const post = await measure({ method: 'POST', nextPath: () => `/users/hono-u${n++}/points/charge`, body: '{"amount":10}' });
    return { get, post };
  } finally {
    await child.stop();
  }
}
