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
  let next = 0;
  return closedTxLoop(databaseUrl, options, {
    warmup: (i) => `ceiling-warm-${i}`,
    next: () => `ceiling-${next++}`,
    run: async (client, userId) => {
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
    },
  });
}

/** Seats (and for payments, their holds and wallets) the sale-shaped ceilings use up, one per transaction; made by SQL beforehand. */
const SALE_CEILING_ROWS = 60_000;

/**
 * (b') The write transaction of a reservation with nothing around it: the
 * same statements ReserveSeat sends under its lock (the seat's conditional
 * hold, the reservation's insert guarded by the partial unique index,
 * commit), raw pg, pool and callers as above, a distinct AVAILABLE seat
 * per transaction. The service also reads the seat once outside the lock
 * (one more short transaction); this ceiling does not.
 */
export async function pgReserveTransaction(databaseUrl: string, options: { poolSize: number; concurrency: number; durationS: number }): Promise<TxCeiling> {
  const schedule = 'ceiling-reserve';
  await seedSaleRows(databaseUrl, schedule, false);
  let next = 1;
  const hold = async (client: pg.PoolClient, seatNo: number) => {
    const reservationId = `${schedule}-r${seatNo}`;
    const now = new Date();
    const until = new Date(now.getTime() + 300_000);
    await client.query('start transaction isolation level read committed');
    const { rows } = await client.query<{ price: number }>(
      `update seats
       set status = 'HELD', held_by = $1, held_until = $2
       from (
         select schedule_id, seat_no, status, held_by, held_until
         from seats
         where schedule_id = $3 and seat_no = $4
         for no key update
         offset 0
       ) as prev
       where seats.schedule_id = prev.schedule_id and seats.seat_no = prev.seat_no
         and (prev.status = 'AVAILABLE' or (prev.status = 'HELD' and prev.held_until <= $5))
       returning seats.price, prev.held_by as replaced`,
      [reservationId, until, schedule, seatNo, now],
    );
    await client.query(
      `insert into reservations (id, user_id, schedule_id, seat_no, price, status, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (schedule_id, seat_no) where status in ('PENDING', 'CONFIRMED') do nothing
       returning id`,
      [reservationId, `${schedule}-u${seatNo}`, schedule, seatNo, rows[0]?.price ?? 0, 'PENDING', until],
    );
    await client.query('commit');
  };
  return closedTxLoop(databaseUrl, options, {
    warmup: () => next++,
    next: () => (next <= SALE_CEILING_ROWS ? next++ : undefined),
    run: hold,
  });
}

/**
 * (b'') The write transaction of a payment with nothing around it: the
 * statements PayReservation sends under its three keys without an
 * Idempotency-Key (confirm the PENDING reservation if unexpired, the guarded
 * debit, a USE history row, the payment, the seat SOLD, commit), raw pg,
 * on distinct held seats, each with its own funded wallet.
 */
export async function pgPayTransaction(databaseUrl: string, options: { poolSize: number; concurrency: number; durationS: number }): Promise<TxCeiling> {
  const schedule = 'ceiling-pay';
  await seedSaleRows(databaseUrl, schedule, true);
  let next = 1;
  const pay = async (client: pg.PoolClient, seatNo: number) => {
    const reservationId = `${schedule}-r${seatNo}`;
    const userId = `${schedule}-u${seatNo}`;
    const now = new Date();
    await client.query('start transaction isolation level read committed');
    const { rows } = await client.query<{ price: number }>(
      `update reservations set status = 'CONFIRMED', updated_at = now()
       where id = $1 and status = 'PENDING' and expires_at > $2
       returning id, user_id, schedule_id, seat_no, price, status, expires_at`,
      [reservationId, now],
    );
    const price = rows[0]?.price ?? 0;
    const debited = await client.query<{ balance: number }>(
      'update user_points set balance = balance - $1, updated_at = now() where user_id = $2 and balance >= $3 returning balance',
      [price, userId, price],
    );
    await client.query('insert into point_history (user_id, kind, amount, balance_after, created_at) values ($1, $2, $3, $4, $5)', [
      userId,
      'USE',
      price,
      debited.rows[0]?.balance ?? 0,
      now,
    ]);
    await client.query(
      `insert into payments (id, reservation_id, user_id, amount, created_at) values ($1, $2, $3, $4, $5)
       on conflict (reservation_id) do nothing returning id`,
      [`${schedule}-p${seatNo}`, reservationId, userId, price, now],
    );
    await client.query(
      `update seats set status = 'SOLD', held_by = null, held_until = null
       where schedule_id = $1 and seat_no = $2 and status = 'HELD' and held_by = $3`,
      [schedule, seatNo, reservationId],
    );
    await client.query('commit');
  };
  return closedTxLoop(databaseUrl, options, {
    warmup: () => next++,
    next: () => (next <= SALE_CEILING_ROWS ? next++ : undefined),
    run: pay,
  });
}

/** A schedule of SALE_CEILING_ROWS seats for a sale-shaped ceiling: AVAILABLE, or held by a PENDING reservation of a funded user. */
async function seedSaleRows(databaseUrl: string, schedule: string, held: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`insert into concerts (id, title, venue) values ('ceiling', 'ceiling', 'bench') on conflict do nothing`);
    await client.query(`insert into schedules (id, concert_id, starts_at, total_seats) values ($1, 'ceiling', now() + interval '30 days', $2)`, [
      schedule,
      SALE_CEILING_ROWS,
    ]);
    if (!held) {
      await client.query(`insert into seats (schedule_id, seat_no, price, status) select $1, n, 1000, 'AVAILABLE' from generate_series(1, $2) as n`, [
        schedule,
        SALE_CEILING_ROWS,
      ]);
    } else {
      const until = new Date(Date.now() + 3_600_000);
      await client.query(
        `insert into seats (schedule_id, seat_no, price, status, held_by, held_until)
         select $1, n, 1000, 'HELD', $1 || '-r' || n, $3 from generate_series(1, $2) as n`,
        [schedule, SALE_CEILING_ROWS, until],
      );
      await client.query(
        `insert into reservations (id, user_id, schedule_id, seat_no, price, status, expires_at)
         select $1 || '-r' || n, $1 || '-u' || n, $1, n, 1000, 'PENDING', $3 from generate_series(1, $2) as n`,
        [schedule, SALE_CEILING_ROWS, until],
      );
      await client.query(`insert into user_points (user_id, balance) select $1 || '-u' || n, 1000 from generate_series(1, $2) as n`, [
        schedule,
        SALE_CEILING_ROWS,
      ]);
    }
    await client.query('commit');
    await client.query('analyze seats, reservations, user_points');
  } finally {
    await client.end();
  }
}

/**
 * `concurrency` callers on a pool of `poolSize`, each running one
 * transaction after another until `durationS` is up (or `next` runs out of
 * rows), after a warm-up of two transactions per pool connection.
 */
async function closedTxLoop<K>(
  databaseUrl: string,
  options: { poolSize: number; concurrency: number; durationS: number },
  work: { warmup: (i: number) => K; next: () => K | undefined; run: (client: pg.PoolClient, key: K) => Promise<void> },
): Promise<TxCeiling> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.poolSize });
  const samples: number[] = [];
  const once = async (key: K) => {
    const client = await pool.connect();
    try {
      await work.run(client, key);
    } finally {
      client.release();
    }
  };
  try {
    // Warm-up: open every pool connection and let Postgres cache the plans' catalog lookups.
    await Promise.all(Array.from({ length: options.poolSize * 2 }, (_, i) => once(work.warmup(i))));
    const stopAt = performance.now() + options.durationS * 1000;
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const machineBefore = machineCpu();
    const worker = async () => {
      while (performance.now() < stopAt) {
        const key = work.next();
        if (key === undefined) return;
        const t = performance.now();
        await once(key);
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
