/**
 * Drills 1 and 2 of DESIGN.md's failure model: the app in distributed mode
 * on a redis-server of the drill's own (never the shared one) and a
 * database of its own, under a steady load of charges, reserves, payments
 * and catalog reads, while that Redis is stopped (then started again,
 * empty) or paused with SIGSTOP (then resumed).
 *
 * Promised, and checked on every request:
 * - writes answer 503 within about the 1 s command timeout, never hang;
 * - catalog reads answer 200 from Postgres throughout;
 * - a paused Redis: once the cache's breaker is open, reads stop paying the
 *   command timeout;
 * - full service (a charge 200) within 2 s of Redis returning;
 * - nothing half-written: each balance is its history's sum, every answered
 *   write is in the database and no refused one is, a payment exists for
 *   each CONFIRMED reservation and only for those, seats agree with them;
 * - the seat map is fresh once Redis is back (no invalidation lost).
 * Each drill logs one summary line: recovery time and the share of 503s.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { signAccessToken } from '../../../adapters/auth/sign-access-token.js';
import { CACHE_BREAKER } from '../../../adapters/redis/redis-cache.js';
import type { Application } from '../../../app/application.js';
import { createApplication } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { TOKENS } from '../../../app/tokens.js';
import { DEMO_PRICE } from '../../../core/usecases/catalog/seed-demo-catalog.js';
import type { DrillRedisServer } from '../../support/drill-redis-server.js';
import { startDrillRedisServer } from '../../support/drill-redis-server.js';
import type { IsolatedDatabase } from '../../support/isolated-database.js';
import { createIsolatedDatabase } from '../../support/isolated-database.js';

const SECRET = 'drill-secret-of-the-redis-outage-0123456789';
const SCHEDULE = 'demo-schedule-1';
const FAULT_MS = 5_000;
const COMMAND_TIMEOUT_MS = 1_000;
/** "Within about 1 s": the command timeout, plus room for a shared 2-core machine. */
const WRITE_BOUND_MS = 2_000;
/** No request of the drill, whatever it meets, may take longer than this (a hang would). */
const ANY_REQUEST_BOUND_MS = 5_000;
const RECOVERY_BOUND_MS = 2_000;
/** A read that did not wait for Redis: far below the command timeout. */
const QUICK_READ_MS = 250;
/** Pacing of each load loop: a steady load, not a flood of the shared cores. */
const PACE_MS = 20;

type Kind = 'charge' | 'reserve' | 'pay' | 'concerts' | 'seats';
const WRITES: readonly Kind[] = ['charge', 'reserve', 'pay'];

interface Outcome {
  readonly kind: Kind;
  readonly user?: string;
  /** performance.now() at the start and the end. */
  readonly started: number;
  readonly ended: number;
  readonly status: number;
  readonly code?: string;
}

interface Buyer {
  readonly userId: string;
  readonly access: string;
  token: string;
}

/** The app on its own Redis and database, and what a drill needs to drive it. */
interface DrillApp {
  readonly redis: DrillRedisServer;
  readonly database: IsolatedDatabase;
  readonly application: Application;
  readonly request: (path: string, init?: RequestInit) => Promise<Response>;
  readonly access: (userId: string) => Promise<string>;
}

let current: DrillApp | undefined;

async function startDrillApp(): Promise<DrillApp> {
  const redis = await startDrillRedisServer();
  const database = await createIsolatedDatabase(inject('databaseUrl'));
  try {
    const application = await createApplication(
      loadConfig({
        AUTH_JWT_SECRET: SECRET,
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        REDIS_PREFIX: 'drill:',
        LOG_LEVEL: 'silent',
        SEED_DEMO: 'true',
        // Admission rounds are run by the drill itself, when it needs buyers.
        QUEUE_ADMIT_INTERVAL_MS: '3600000',
        QUEUE_ACTIVE_MAX: '1000',
      }),
    );
    current = {
      redis,
      database,
      application,
      request: async (path, init) => application.app.request(path, init),
      access: (userId) => signAccessToken(SECRET, userId),
    };
    return current;
  } catch (error) {
    await redis.remove();
    await database.drop();
    throw error;
  }
}

afterEach(async () => {
  const drill = current;
  current = undefined;
  if (drill === undefined) return;
  await drill.application.close();
  await drill.redis.remove();
  await drill.database.drop();
});

const post = (headers: Record<string, string>, body?: unknown): RequestInit => ({
  method: 'POST',
  headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

/** Polls `condition` until it holds or `withinMs` has passed. */
async function until(what: string, withinMs: number, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(20); // the poll's interval; the loop waits for the condition
  }
}

/** Users with access tokens and, for buyers, ACTIVE queue tokens (one admission round), and points to pay with. */
async function buyers(drill: DrillApp, count: number): Promise<Buyer[]> {
  const made: Buyer[] = [];
  for (let i = 0; i < count; i++) {
    const userId = `buyer-${randomBytes(4).toString('hex')}`;
    const access = await drill.access(userId);
    const auth = { Authorization: `Bearer ${access}` };
    const charged = await drill.request('/users/me/points/charge', post({ ...auth, 'Idempotency-Key': `seed-${userId}` }, { amount: 4 * DEMO_PRICE }));
    expect(charged.status).toBe(200);
    made.push({ userId, access, token: '' });
  }
  await requeue(drill, made);
  return made;
}

/** New queue tokens for `people`, admitted at once (after a Redis that restarted empty, everyone queues again). */
async function requeue(drill: DrillApp, people: Buyer[]): Promise<void> {
  for (const buyer of people) {
    const issued = await drill.request('/queue/tokens', post({ Authorization: `Bearer ${buyer.access}` }));
    expect(issued.status).toBe(201);
    buyer.token = ((await issued.json()) as { token: string }).token;
  }
  await drill.application.container.get(TOKENS.AdmitWaiters).execute();
}

/**
 * The steady load: loops of charges (each with its own Idempotency-Key),
 * reserves of the next free seat, payments of the holds it made, and
 * catalog reads, until `stop()`. Every answer is recorded.
 */
function startLoad(drill: DrillApp, chargers: readonly Buyer[], sellers: readonly Buyer[]) {
  const outcomes: Outcome[] = [];
  const holds: { buyer: Buyer; reservationId: string }[] = [];
  const charged = new Map<string, number>();
  const answered = { reservations: new Set<string>(), payments: new Set<string>() };
  let stopped = false;
  let nextSeat = 1;

  const record = async (kind: Kind, user: string | undefined, send: () => Promise<Response>) => {
    const started = performance.now();
    const response = await send();
    const ended = performance.now();
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
    const outcome: Outcome = { kind, started, ended, status: response.status, ...(user === undefined ? {} : { user }), ...(body.error?.code === undefined ? {} : { code: body.error.code }) };
    outcomes.push(outcome);
    return { outcome, body: body as Record<string, unknown> };
  };
  const auth = (buyer: Buyer) => ({ Authorization: `Bearer ${buyer.access}` });
  const selling = (buyer: Buyer) => ({ ...auth(buyer), 'Queue-Token': buyer.token });

  const loop = async (step: (i: number) => Promise<void>) => {
    for (let i = 0; !stopped; i++) {
      await step(i);
      await sleep(PACE_MS);
    }
  };
  const loops = [
    ...[0, 1].map((offset) =>
      loop(async (i) => {
        const buyer = chargers[(2 * i + offset) % chargers.length] as Buyer;
        const { outcome } = await record('charge', buyer.userId, () =>
          drill.request('/users/me/points/charge', post({ ...auth(buyer), 'Idempotency-Key': randomBytes(8).toString('hex') }, { amount: 1_000 })),
        );
        if (outcome.status === 200) charged.set(buyer.userId, (charged.get(buyer.userId) ?? 0) + 1);
      }),
    ),
    loop(async (i) => {
      const buyer = sellers[i % sellers.length] as Buyer;
      const seatNo = nextSeat;
      const { outcome, body } = await record('reserve', buyer.userId, () => drill.request('/reservations', post(selling(buyer), { scheduleId: SCHEDULE, seatNo })));
      if (outcome.status === 201) {
        holds.push({ buyer, reservationId: body.reservationId as string });
        answered.reservations.add(body.reservationId as string);
      }
      if (outcome.status === 201 || outcome.code === 'SEAT_UNAVAILABLE') nextSeat = (nextSeat % 50) + 1;
    }),
    loop(async () => {
      const hold = holds[0];
      if (hold === undefined) return;
      const { outcome } = await record('pay', hold.buyer.userId, () =>
        drill.request(`/reservations/${hold.reservationId}/payment`, post({ ...selling(hold.buyer), 'Idempotency-Key': `pay-${hold.reservationId}` })),
      );
      if (outcome.status === 201 || outcome.status === 200) answered.payments.add(hold.reservationId);
      // Paid, or never payable again: move on. A 503 is retried with the same key.
      if (outcome.status !== 503) holds.shift();
    }),
    ...[0, 1].map(() => loop(async () => void (await record('seats', undefined, () => drill.request(`/schedules/${SCHEDULE}/seats`))))),
    loop(async () => void (await record('concerts', undefined, () => drill.request('/concerts')))),
  ];
  return {
    outcomes,
    charged,
    answered,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** What the database holds, checked against itself and against what the clients were told. */
interface Answered {
  /** Per user, the load's charges answered 200. */
  readonly charged: ReadonlyMap<string, number>;
  /** Reservations answered 201 and reservations whose payment was answered 201 (or replayed 200). */
  readonly answered: { readonly reservations: ReadonlySet<string>; readonly payments: ReadonlySet<string> };
  readonly sellers: readonly string[];
}

async function checkNothingHalfWritten(drill: DrillApp, { charged, answered, sellers }: Answered): Promise<void> {
  const client = new pg.Client({ connectionString: drill.database.url });
  await client.connect();
  try {
    const q = async (text: string) => (await client.query(text)).rows as Record<string, unknown>[];
    // Every balance is the sum of its history, and every history has its balance.
    expect(
      await q(`
        select coalesce(p.user_id, h.user_id) as user_id, p.balance, h.total
        from user_points p
        full join (select user_id, sum(case kind when 'CHARGE' then amount else -amount end)::int as total
                   from point_history group by user_id) h on h.user_id = p.user_id
        where p.balance is distinct from h.total`),
    ).toEqual([]);
    // Every charge answered 200 is in the history, and no other (a 503 committed nothing).
    const rows = await q(`select user_id, count(*)::int as n from point_history where kind = 'CHARGE' and amount = 1000 group by user_id`);
    const inDatabase = new Map(rows.map((row) => [row.user_id as string, row.n as number]));
    for (const [userId, answered] of charged) expect({ userId, charges: inDatabase.get(userId) ?? 0 }).toEqual({ userId, charges: answered });
    expect([...inDatabase.values()].reduce((a, b) => a + b, 0)).toBe([...charged.values()].reduce((a, b) => a + b, 0));
    // Every reservation and payment answered as made is in the database, and none answered otherwise (a 503 after commit would show here).
    const sellerList = sellers.map((id) => `'${id}'`).join(',');
    const reservations = await q(`select id from reservations where user_id in (${sellerList})`);
    expect(new Set(reservations.map((row) => row.id as string))).toEqual(answered.reservations);
    const payments = await q(`select reservation_id from payments where user_id in (${sellerList})`);
    expect(new Set(payments.map((row) => row.reservation_id as string))).toEqual(answered.payments);
    // A payment for each CONFIRMED reservation, of its price, and for nothing else; one USE row for each.
    expect(
      await q(`
        select r.id, r.status, count(p.id)::int as payments
        from reservations r left join payments p on p.reservation_id = r.id
        group by r.id, r.status
        having (r.status = 'CONFIRMED') <> (count(p.id) = 1) or count(p.id) > 1`),
    ).toEqual([]);
    expect(await q(`select p.id from payments p join reservations r on r.id = p.reservation_id where p.amount <> r.price or p.user_id <> r.user_id`)).toEqual([]);
    expect(
      await q(`
        select p.user_id from payments p group by p.user_id
        having sum(p.amount) <> coalesce((select sum(amount) from point_history h where h.user_id = p.user_id and h.kind = 'USE'), 0)`),
    ).toEqual([]);
    // Seats agree with reservations: SOLD by exactly one CONFIRMED, HELD by its PENDING holder.
    expect(
      await q(`
        select s.seat_no, s.status from seats s
        where (s.status = 'SOLD') <> exists (select 1 from reservations r where r.schedule_id = s.schedule_id and r.seat_no = s.seat_no and r.status = 'CONFIRMED')
           or (s.status = 'HELD' and not exists (select 1 from reservations r where r.id = s.held_by and r.status = 'PENDING'))`),
    ).toEqual([]);
    expect(await q(`select schedule_id, seat_no from reservations where status = 'CONFIRMED' group by schedule_id, seat_no having count(*) > 1`)).toEqual([]);
  } finally {
    await client.end();
  }
}

/**
 * No invalidation was lost to the outage: a new hold shows on the seat map
 * within the cache's staleness bound (1 s; a lost invalidation would leave
 * the map as it was until its TTL). The seat is chosen from the database:
 * the map itself may still lag the load's last writes by that bound.
 */
async function checkSeatMapFresh(drill: DrillApp, buyer: Buyer): Promise<void> {
  const seats = async () => ((await (await drill.request(`/schedules/${SCHEDULE}/seats`)).json()) as { seats: { seatNo: number; status: string }[] }).seats;
  const client = new pg.Client({ connectionString: drill.database.url });
  await client.connect();
  let free: number | undefined;
  try {
    const { rows } = await client.query<{ seat_no: number }>(`select seat_no from seats where schedule_id = $1 and status = 'AVAILABLE' order by seat_no limit 1`, [SCHEDULE]);
    free = rows[0]?.seat_no;
  } finally {
    await client.end();
  }
  expect(free).toBeDefined();
  await seats(); // the map cached as it is now, so that the hold below has an entry to invalidate
  const reserved = await drill.request('/reservations', post({ Authorization: `Bearer ${buyer.access}`, 'Queue-Token': buyer.token }, { scheduleId: SCHEDULE, seatNo: free }));
  expect(reserved.status).toBe(201);
  await until(`seat ${free} shown HELD`, 1_000, async () => (await seats()).find((seat) => seat.seatNo === free)?.status === 'HELD');
}

interface DrillReport {
  readonly name: string;
  readonly outcomes: readonly Outcome[];
  readonly faultAt: number;
  readonly backAt: number;
  readonly recoveredAt: number;
}

function breakdown(outcomes: readonly Outcome[], from: number, to: number): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) if (o.started >= from && o.started < to) counts.set(`${o.kind} ${o.status}${o.code === undefined ? '' : ` ${o.code}`}`, (counts.get(`${o.kind} ${o.status}${o.code === undefined ? '' : ` ${o.code}`}`) ?? 0) + 1);
  return [...counts].sort().map(([k, n]) => `${k}: ${n}`).join(', ');
}

function summarize({ name, outcomes, faultAt, backAt, recoveredAt }: DrillReport): string {
  const during = outcomes.filter((o) => o.started >= faultAt && o.started < backAt);
  const share = (list: readonly Outcome[]) => (list.length === 0 ? 'n/a' : `${((100 * list.filter((o) => o.status === 503).length) / list.length).toFixed(0)}%`);
  const writes = during.filter((o) => WRITES.includes(o.kind));
  const reads = during.filter((o) => !WRITES.includes(o.kind));
  const maxMs = (list: readonly Outcome[]) => Math.max(0, ...list.map((o) => o.ended - o.started)).toFixed(0);
  return (
    `[drill] ${name}: recovery ${(recoveredAt - backAt).toFixed(0)} ms after Redis returned; during the ${((backAt - faultAt) / 1000).toFixed(1)} s fault ` +
    `${during.length} requests, 503 share ${share(during)} (writes ${share(writes)} of ${writes.length}, max ${maxMs(writes)} ms; ` +
    `reads ${share(reads)} of ${reads.length}, max ${maxMs(reads)} ms, p50 ${percentile(reads, 0.5).toFixed(0)} ms); ` +
    `answers after Redis returned: ${breakdown(outcomes, backAt, Number.POSITIVE_INFINITY)}`
  );
}

function percentile(list: readonly Outcome[], p: number): number {
  const sorted = list.map((o) => o.ended - o.started).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

/** What both drills assert of the requests made during the fault and after it. */
function checkAnswers({ outcomes, faultAt, backAt, recoveredAt }: DrillReport): void {
  expect(outcomes.filter((o) => o.status >= 500 && o.status !== 503), 'no 500s').toEqual([]);
  const slowest = outcomes.reduce((a, o) => Math.max(a, o.ended - o.started), 0);
  expect(slowest, 'no request hangs').toBeLessThan(ANY_REQUEST_BOUND_MS);
  // Catalog reads: 200 all along.
  expect(outcomes.filter((o) => !WRITES.includes(o.kind) && o.status !== 200)).toEqual([]);
  // Writes sent while Redis was surely gone (not in the last command timeout before it returned): 503 within about 1 s.
  const surelyDown = outcomes.filter((o) => WRITES.includes(o.kind) && o.started >= faultAt && o.started < backAt - COMMAND_TIMEOUT_MS - 200);
  expect(surelyDown.length).toBeGreaterThan(5);
  expect(surelyDown.filter((o) => o.status !== 503).map((o) => `${o.kind} ${o.status} ${o.code ?? ''}`)).toEqual([]);
  expect(Math.max(...surelyDown.map((o) => o.ended - o.started))).toBeLessThan(WRITE_BOUND_MS);
  expect(recoveredAt - backAt, 'full service within 2 s of Redis returning').toBeLessThan(RECOVERY_BOUND_MS);
}

/** Runs the load, makes the fault, ends it, and waits for the first charge 200 sent after Redis returned. */
async function drill(app: DrillApp, fault: { start: () => Promise<void> | void; end: () => Promise<void> | void }) {
  const chargers = await buyers(app, 4);
  const sellers = await buyers(app, 3);
  const load = startLoad(app, chargers, sellers);
  try {
    await until('a healthy start', 10_000, () => load.outcomes.filter((o) => o.status === 200 && o.kind === 'charge').length >= 5);
    await fault.start();
    // From here on Redis is gone: a stop has returned once the server exited.
    const faultAt = performance.now();
    await sleep(FAULT_MS); // the fault's length, part of the drill's definition
    await fault.end();
    const backAt = performance.now();
    const firstCharge = () => load.outcomes.find((o) => o.kind === 'charge' && o.started >= backAt && o.status === 200);
    await until('a charge answered 200 after Redis returned', 15_000, () => firstCharge() !== undefined);
    const recoveredAt = (firstCharge() as Outcome).ended;
    // A little more load after recovery, so that the checks below see the service settled.
    const settled = load.outcomes.length + 20;
    await until('load after recovery', 15_000, () => load.outcomes.length >= settled);
    return { outcomes: load.outcomes, charged: load.charged, answered: load.answered, sellers: sellers.map((b) => b.userId), faultAt, backAt, recoveredAt };
  } finally {
    await load.stop();
  }
}

describe('drill: Redis outage', () => {
  it('drill 1: Redis stopped for 5 s, then started empty: writes 503 fast, reads 200 from Postgres, a charge 200 within 2 s, nothing half-written', async () => {
    const app = await startDrillApp();
    const result = await drill(app, { start: () => app.redis.stop(), end: () => app.redis.start() });
    const report = { name: 'Redis stopped 5 s, started empty', ...result };
    console.log(summarize(report));
    checkAnswers(report);
    await checkNothingHalfWritten(app, result);
    // Redis came back empty: the queue with it, so everyone queues again (README: what is lost without persistence).
    const [fresh] = await buyers(app, 1);
    await checkSeatMapFresh(app, fresh as Buyer);
  }, 90_000);

  it('drill 2: Redis paused (SIGSTOP) for 5 s, then resumed: as drill 1, and reads stop paying the command timeout once the breaker is open', async () => {
    const app = await startDrillApp();
    const result = await drill(app, { start: () => app.redis.pause(), end: () => app.redis.resume() });
    const report = { name: 'Redis paused 5 s (SIGSTOP), resumed', ...result };
    console.log(summarize(report));
    checkAnswers(report);

    // Reads during the pause: the first ones pay the command timeout until the breaker opens; after that only its
    // probes do (one each time it has been open CACHE_BREAKER.openMs, plus that probe's own timeout).
    const reads = result.outcomes.filter((o) => (o.kind === 'seats' || o.kind === 'concerts') && o.started >= result.faultAt && o.started < result.backAt);
    const slow = reads.filter((o) => o.ended - o.started >= COMMAND_TIMEOUT_MS * 0.9);
    const probesAtMost = Math.ceil(FAULT_MS / CACHE_BREAKER.openMs) + 1;
    const concurrentReaders = 3;
    expect(slow.length, `reads that paid the timeout, of ${reads.length}`).toBeLessThanOrEqual(concurrentReaders + probesAtMost);
    const seatReads = reads.filter((o) => o.kind === 'seats');
    const afterTheFirst = seatReads.slice(concurrentReaders);
    expect(afterTheFirst.length).toBeGreaterThan(20);
    expect(percentile(afterTheFirst, 0.5), 'seat-map reads once the breaker is open, p50').toBeLessThan(QUICK_READ_MS);
    expect(afterTheFirst.filter((o) => o.ended - o.started < QUICK_READ_MS).length / afterTheFirst.length).toBeGreaterThan(0.8);

    const shortCircuits = await app.application.container.get(TOKENS.Metrics).getSingleMetric('cache_short_circuits_total')?.get();
    const shortCircuitedReads = shortCircuits?.values.find((v) => v.labels.operation === 'read')?.value ?? 0;
    expect(shortCircuitedReads, 'reads the open breaker sent straight to Postgres').toBeGreaterThan(20);

    await checkNothingHalfWritten(app, result);
    // Once Redis is back and the breaker closed, a new hold shows on the seat map at once.
    const [fresh] = await buyers(app, 1);
    await checkSeatMapFresh(app, fresh as Buyer);
  }, 90_000);
});
