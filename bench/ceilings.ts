import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { JoseAccessTokenVerifier, VERIFIED_TOKEN_CACHE_MAX_ENTRIES } from '../adapters/auth/jose-access-token-verifier.js';
import { loadConfig } from '../app/config.js';
import { drive } from './drive.js';
import type { DriveRequest } from './drive.js';
import { load } from './http-load.js';
import type { LoadOptions, LoadResult } from './http-load.js';
import type { Latency } from './support.js';
import { bearer, busyShare, machineCpu, signAccessTokens, startChild, summarise } from './support.js';

/** The service's seat limit as the bench's children run it (no MAX_SEATS_PER_USER set): the reservation ceiling's guarded count uses it. */
const MAX_SEATS_PER_USER = loadConfig({}).maxSeatsPerUser;

const HONO_PING = fileURLToPath(new URL('./hono-ping.ts', import.meta.url));

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
 * same statements ReserveSeat sends under its locks (the user's live
 * reservations of the schedule, the seat's conditional hold, the
 * reservation's insert guarded by the partial unique index, the user's seat
 * count guarded by the limit, commit), raw pg, pool and callers as above, a
 * distinct AVAILABLE seat and user per transaction. The service also reads
 * the seat and the user's reservations once outside the lock (one more
 * short transaction); this ceiling does not.
 */
export async function pgReserveTransaction(databaseUrl: string, options: { poolSize: number; concurrency: number; durationS: number }): Promise<TxCeiling> {
  const schedule = 'ceiling-reserve';
  await seedSaleRows(databaseUrl, schedule, false);
  let next = 1;
  const hold = async (client: pg.PoolClient, seatNo: number) => {
    const reservationId = `${schedule}-r${seatNo}`;
    const now = new Date();
    const until = new Date(now.getTime() + 300_000);
    const userId = `${schedule}-u${seatNo}`;
    await client.query('start transaction isolation level read committed');
    await client.query(
      `select id, user_id, schedule_id, seat_no, price, status, expires_at from reservations
       where user_id = $1 and schedule_id = $2 and status in ($3, $4) order by position`,
      [userId, schedule, 'PENDING', 'CONFIRMED'],
    );
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
      [reservationId, userId, schedule, seatNo, rows[0]?.price ?? 0, 'PENDING', until],
    );
    await client.query(
      `insert into user_schedule_seats (user_id, schedule_id, seats) values ($1, $2, $3)
       on conflict (user_id, schedule_id) do update set seats = user_schedule_seats.seats + 1
       where user_schedule_seats.seats < $4
       returning seats`,
      [userId, schedule, 1, MAX_SEATS_PER_USER],
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
 * debit, a USE history row, the payment, the seat SOLD, the user's PENDING
 * holds counted to decide whether the queue token is spent, commit), raw
 * pg, on distinct held seats, each with its own funded wallet.
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
    await client.query(`select count(*) as pending from reservations where user_id = $1 and status = $2 and expires_at > $3`, [userId, 'PENDING', now]);
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
  const child = await startChild(HONO_PING, process.env);
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

/** One variant of the verification routes over all its windows: the child's own CPU and request count. */
export interface VerifyVariant {
  /** Child CPU (process.cpuUsage, user + system) over its windows ÷ the requests its route served in them, ms. */
  readonly cpuMsPerRequest: number;
  /** 2xx answers per second, over the windows. */
  readonly okRps: number;
  readonly requests: number;
  readonly non2xx: number;
  /** The child's cores in use over the windows. */
  readonly cores: number;
}

export interface JwtVerifyCost {
  /** GET /whoami/unverified: the bearer credential read from the header, no verification (the baseline). */
  readonly plain: VerifyVariant;
  /** GET /whoami with a token the verifier's cache does not hold: a full HS256 verification each time. */
  readonly miss: VerifyVariant;
  /** GET /whoami with one buyer's token over and over: answered from the verified-token cache. */
  readonly hit: VerifyVariant;
  /** What verification adds to a request's CPU: verified minus unverified, same run, ms. */
  readonly missCpuMs: number;
  readonly hitCpuMs: number;
  /** verify() alone, one call at a time in the bench process (no HTTP): a cross-check of the differences above, ms per call. */
  readonly loopMissCpuMs: number;
  readonly loopHitCpuMs: number;
  readonly loopCalls: number;
  /** Distinct pre-signed tokens the miss variant cycles through, and the verifier cache's bound (the pool is twice it). */
  readonly pool: number;
  readonly cacheEntries: number;
  readonly rounds: number;
  readonly windowS: number;
  readonly connections: number;
}

/**
 * (d) The CPU one access-token verification costs a request, by difference:
 * the bare Hono child (bench/hono-ping.ts) serves the same GET route twice,
 * once behind the service's own `authenticate(JoseAccessTokenVerifier)`
 * middleware and once behind a middleware that only reads the bearer
 * credential. Both get the same Authorization headers; the only difference
 * is verify(). CPU per request is the child's own process.cpuUsage over the
 * windows ÷ the requests that route served, both read from the child, so
 * neither autocannon's stop nor the load generator's CPU blurs it.
 *
 * Miss: a pool of twice as many distinct tokens as the verifier caches,
 * cycled in order; the cache evicts its oldest entry first, so a token is
 * long gone by its next turn and every request is a full HS256 verify.
 * Hit: one token, every request. The variants' windows are interleaved
 * (unverified, miss, hit; `rounds` times) so that a drift in what else the
 * machine does lands on all three alike.
 */
export async function jwtVerifyCost(options: { authSecret: string; connections: number; windowS: number; warmupS: number; rounds: number }): Promise<JwtVerifyCost> {
  const pool = 2 * VERIFIED_TOKEN_CACHE_MAX_ENTRIES;
  const users = Array.from({ length: pool }, (_, i) => `jwt-u${i}`);
  // Before any window: signing is the load generator's work, not the measured child's, and not inside a window either.
  const tokens = await signAccessTokens(options.authSecret, users);
  const loop = await verifyLoop(options.authSecret, tokens);
  const child = await startChild(HONO_PING, { ...process.env, AUTH_JWT_SECRET: options.authSecret });
  const cursors = { plain: 0, miss: 0 };
  const variants = {
    plain: (): DriveRequest => ({ method: 'GET', path: '/whoami/unverified', headers: bearer(tokens[cursors.plain++ % pool]!) }),
    miss: (): DriveRequest => ({ method: 'GET', path: '/whoami', headers: bearer(tokens[cursors.miss++ % pool]!) }),
    hit: (): DriveRequest => ({ method: 'GET', path: '/whoami', headers: bearer(tokens[0]!) }),
  } as const;
  type Name = keyof typeof variants;
  const sums: Record<Name, { cpuMicros: number; requests: number; ok: number; non2xx: number; seconds: number }> = {
    plain: { cpuMicros: 0, requests: 0, ok: 0, non2xx: 0, seconds: 0 },
    miss: { cpuMicros: 0, requests: 0, ok: 0, non2xx: 0, seconds: 0 },
    hit: { cpuMicros: 0, requests: 0, ok: 0, non2xx: 0, seconds: 0 },
  };
  const names = Object.keys(variants) as Name[];
  try {
    // Warm-up: the JIT, jose's code paths and the cache's steady state (full, evicting) before anything counts.
    for (const name of names) await drive({ url: child.url, connections: options.connections, durationS: options.warmupS, request: variants[name] });
    for (let round = 0; round < options.rounds; round++) {
      for (const name of names) {
        const before = await childCpu(child.url);
        const started = performance.now();
        const result = await drive({ url: child.url, connections: options.connections, durationS: options.windowS, request: variants[name] });
        const seconds = (performance.now() - started) / 1000;
        // Requests still in flight when autocannon stopped are answered within a few ms: count their CPU and them alike.
        await sleep(100);
        const after = await childCpu(child.url);
        const route = name === 'plain' ? 'unverified' : 'verified';
        const sum = sums[name];
        sum.cpuMicros += after.cpuMicros - before.cpuMicros;
        sum.requests += after.served[route] - before.served[route];
        sum.ok += result.total - result.non2xx;
        sum.non2xx += result.non2xx;
        sum.seconds += seconds;
      }
    }
  } finally {
    await child.stop();
  }
  const variant = (name: Name): VerifyVariant => {
    const sum = sums[name];
    return {
      cpuMsPerRequest: sum.cpuMicros / 1000 / Math.max(1, sum.requests),
      okRps: sum.ok / Math.max(1e-3, sum.seconds),
      requests: sum.requests,
      non2xx: sum.non2xx,
      cores: sum.cpuMicros / 1e6 / Math.max(1e-3, sum.seconds),
    };
  };
  const [plain, miss, hit] = [variant('plain'), variant('miss'), variant('hit')];
  return {
    plain,
    miss,
    hit,
    missCpuMs: miss.cpuMsPerRequest - plain.cpuMsPerRequest,
    hitCpuMs: hit.cpuMsPerRequest - plain.cpuMsPerRequest,
    loopMissCpuMs: loop.missCpuMs,
    loopHitCpuMs: loop.hitCpuMs,
    loopCalls: loop.calls,
    pool,
    cacheEntries: VERIFIED_TOKEN_CACHE_MAX_ENTRIES,
    rounds: options.rounds,
    windowS: options.windowS,
    connections: options.connections,
  };
}

/** The child's CPU so far (µs, user + system) and the requests each verification route has served. */
async function childCpu(url: string): Promise<{ cpuMicros: number; served: { verified: number; unverified: number } }> {
  const response = await fetch(`${url}/cpu`);
  return (await response.json()) as { cpuMicros: number; served: { verified: number; unverified: number } };
}

/**
 * verify() of the real adapter, one call at a time in this process while it
 * does nothing else (before the child starts): every pool token once on a
 * fresh verifier (misses), then one token as often (hits), after a warm-up
 * of each. No HTTP, no concurrency: the bare cost, to set beside the
 * differences measured over HTTP.
 */
async function verifyLoop(secret: string, tokens: readonly string[]): Promise<{ missCpuMs: number; hitCpuMs: number; calls: number }> {
  const warm = new JoseAccessTokenVerifier({ kind: 'secret', secret });
  for (const token of tokens.slice(0, 2_000)) await warm.verify(token);
  for (let i = 0; i < 2_000; i++) await warm.verify(tokens[0]!);
  const cpuMs = async (run: () => Promise<void>) => {
    const before = process.cpuUsage();
    await run();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  const verifier = new JoseAccessTokenVerifier({ kind: 'secret', secret });
  const miss = await cpuMs(async () => {
    for (const token of tokens) await verifier.verify(token);
  });
  const hit = await cpuMs(async () => {
    for (let i = 0; i < tokens.length; i++) await verifier.verify(tokens[0]!);
  });
  return { missCpuMs: miss / tokens.length, hitCpuMs: hit / tokens.length, calls: tokens.length };
}
