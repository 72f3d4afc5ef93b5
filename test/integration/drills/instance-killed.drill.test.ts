/**
 * Drill 6 (DESIGN.md, "Failure model": an instance killed with SIGKILL
 * while holding locks): the others proceed once its leases end, and its
 * holds end on time.
 *
 * Three app instances, each an OS process wired as in production
 * (workers/drill-instance.ts), on a redis-server of the drill's own and a
 * database of its own. Two carry a steady load of charges, reserves and
 * payments of their own buyers, and run their hold sweepers. The third
 * (workers/killed-holder-worker.ts) makes three holds and starts paying two
 * of them: each payment does all its work, stops right before COMMIT, and
 * holds its keys in Redis (the Idempotency-Key's, the reservation's, the
 * seat's, the wallet's). Then it is killed with SIGKILL: no release, no
 * rollback of its own. Its leases are left to run out (at most 10 s), its
 * transactions to the server (which ends a session whose client is gone).
 *
 * The load instances then contend for what it held: charges of its two
 * wallets (a bounded wait: 409 LOCK_BUSY after 2 s each), reserves of its
 * two short holds' seats (fail-fast), and retries of its two payments with
 * their Idempotency-Keys (IDEMPOTENCY_IN_PROGRESS while its key stands).
 *
 * Checked:
 * - every request on its keys is refused (never 503, never a hang) until
 *   that key's lease has ended, and succeeds promptly after: recovery, from
 *   the kill to the first success on each key, within the lease + margin;
 * - the hold whose keys it no longer held (R3) ends on time, at its
 *   expiresAt, not when the leases end; the one under its keys (R2) ends
 *   too, once they are gone; the long one (R1) is paid by the retry, once;
 * - nothing of its transactions committed;
 * - the load went on throughout, and afterwards every invariant holds:
 *   balances = history, one live reservation per seat, payments only for
 *   CONFIRMED reservations (one each, at its price, before its hold's end),
 *   seats agree with reservations, every answered write is stored and no
 *   refused one, no hold left PENDING past its end.
 * One summary line gives the recovery times.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { KyselyTransactionManager } from '../../../adapters/kysely/kysely-transaction.js';
import { MemoryQueue } from '../../../adapters/memory/memory-queue.js';
import { LOCK_LEASE_MS, LOCK_WAIT_MS } from '../../../app/time-bounds.js';
import { lockKeys } from '../../../core/keys.js';
import { systemClock } from '../../../core/ports/clock.port.js';
import { ExpireToken } from '../../../core/usecases/queue/expire-token.js';
import { aSchedule } from '../../support/catalog-builders.js';
import type { DrillRedisServer } from '../../support/drill-redis-server.js';
import { startDrillRedisServer } from '../../support/drill-redis-server.js';
import type { LineWorker } from '../../support/line-worker.js';
import { startLineWorker } from '../../support/line-worker.js';
import type { MigratedDatabase } from '../../support/migrated-database.js';
import { createMigratedDatabase } from '../../support/migrated-database.js';
import { NoopLock } from '../../support/noop-lock.js';
import { salesUseCases } from '../../support/sales-use-cases.js';

const PREFIX = 'drill:';
const PRICE = 1_000;
const SEED_POINTS = 50_000;
/** The load's charges: another amount than the seeds, so that the history tells them apart. */
const CHARGE_AMOUNT = 700;
/** The load instances' holds; their sweepers run every quarter of it. */
const LOAD_HOLD_TTL_SECONDS = 3;
const SWEEP_INTERVAL_MS = (LOAD_HOLD_TTL_SECONDS * 1_000) / 4;
/** The killed instance's short holds end a few seconds after the kill, well inside its leases. */
const SHORT_HOLD_MS = 3_000;
/** Its long hold outlasts its leases: the retried payment can still pay it afterwards. */
const LONG_HOLD_MS = 60_000;
const PACE_MS = 40;
/** tsx loading an instance on a busy two-core machine. */
const START_DEADLINE_MS = 60_000;
/** From a lease's end to the first success on its key: a contender's next try (a paced loop, or a 10 ms retry while waiting), on shared cores. */
const PROMPT_MS = 1_000;
/** From the kill to the first success on every key it held: the lease, plus that. */
const RECOVERY_BOUND_MS = LOCK_LEASE_MS + PROMPT_MS + 500;
/** A hold ends on time: taken back this soon after its expiresAt (a contender's next try, or the sweeper's next round). */
const ON_TIME_MS = SWEEP_INTERVAL_MS + 500;
/** A fail-fast refusal, on shared cores. */
const FAIL_FAST_MS = 500;
/** No request of the drill may take longer (the longest legitimate one waits LOCK_WAIT_MS for a wallet). */
const ANY_REQUEST_BOUND_MS = LOCK_WAIT_MS + 2_000;
/** Redis and the test read one clock; a key expires when its millisecond is past. */
const CLOCK_SLACK_MS = 20;

interface Outcome {
  readonly event: 'outcome';
  readonly worker: string;
  readonly kind: 'charge' | 'reserve' | 'pay';
  readonly target: string;
  readonly userId: string;
  readonly seatNo?: number;
  readonly reservationId?: string;
  readonly paymentId?: string;
  readonly replayed?: boolean;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly outcome: string;
}
interface Hold {
  readonly id: string;
  readonly seatNo: number;
  readonly userId: string;
  readonly expiresAt: number;
}
type LoadEvent = Outcome | { readonly event: 'ready' } | { readonly event: 'stopped' };
type HolderEvent = { readonly event: 'holding'; readonly r1: Hold; readonly r2: Hold; readonly r3: Hold };

/** Every code a request of this drill may answer besides `ok`; anything else (503 included) fails it. */
const EXPECTED_CODES = new Set(['LOCK_BUSY', 'IDEMPOTENCY_IN_PROGRESS', 'SEAT_UNAVAILABLE', 'RESERVATION_EXPIRED']);

describe('drill 6: an instance killed (SIGKILL) while holding seat and wallet locks, under load from two others', () => {
  let redisServer: DrillRedisServer | undefined;
  let database: MigratedDatabase | undefined;
  let observer: Redis | undefined;
  const workers: LineWorker<unknown>[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.kill('SIGKILL')));
    observer?.disconnect();
    await redisServer?.remove();
    await database?.drop();
  });

  it('the others get LOCK_BUSY or wait until its leases end, then proceed; its holds end on time; nothing of it commits; every invariant holds', async () => {
    redisServer = await startDrillRedisServer();
    database = await createMigratedDatabase(inject('databaseUrl'));
    observer = new Redis(redisServer.url);
    const schedule = await aSchedule(salesUseCases({ lock: new NoopLock(), tx: new KyselyTransactionManager(database.db), clock: systemClock, expireToken: new ExpireToken(new MemoryQueue(), systemClock) }), {
      seatCount: 810,
      price: PRICE,
    });
    const env = { DATABASE_URL: database.url, REDIS_URL: redisServer.url, REDIS_PREFIX: PREFIX, SCHEDULE_ID: schedule.id, SEED_POINTS: String(SEED_POINTS) };

    // The load: two instances, seats 11-410 and 411-810 of the schedule (more than they can sell during the drill).
    const load = ['load-1', 'load-2'].map((name, i) =>
      startLineWorker<LoadEvent>(new URL('../workers/steady-load-worker.ts', import.meta.url), {
        ...env,
        NAME: name,
        SEATS: `${11 + 400 * i}-${410 + 400 * i}`,
        CHARGE_AMOUNT: String(CHARGE_AMOUNT),
        PACE_MS: String(PACE_MS),
        HOLD_TTL_SECONDS: String(LOAD_HOLD_TTL_SECONDS),
      }),
    );
    workers.push(...load);
    await Promise.all(load.map((w) => w.next('ready', (e) => e.event === 'ready', START_DEADLINE_MS)));
    const outcomes = (): Outcome[] => load.flatMap((w) => w.events.filter((e): e is Outcome => e.event === 'outcome'));
    // Under way: the killed instance starts while the others are busy.
    await Promise.all(load.map((w) => w.next('the load under way', (e) => e.event === 'outcome' && e.outcome === 'ok' && e.kind === 'pay', START_DEADLINE_MS)));

    // The instance to be killed, on seats 1-3.
    const victims = { user1: `victim-${randomBytes(3).toString('hex')}`, user2: `victim-${randomBytes(3).toString('hex')}`, key1: 'retry-me-1', key2: 'retry-me-2' };
    const holder = startLineWorker<HolderEvent>(new URL('../workers/killed-holder-worker.ts', import.meta.url), {
      ...env,
      HOLD_TTL_SECONDS: String(LOAD_HOLD_TTL_SECONDS),
      USER_1: victims.user1,
      USER_2: victims.user2,
      SEAT_1: '1',
      SEAT_2: '2',
      SEAT_3: '3',
      KEY_1: victims.key1,
      KEY_2: victims.key2,
      SHORT_HOLD_MS: String(SHORT_HOLD_MS),
      LONG_HOLD_MS: String(LONG_HOLD_MS),
    });
    workers.push(holder as LineWorker<unknown>);
    const { r1, r2, r3 } = await holder.next('the payments holding their keys', (e) => e.event === 'holding', START_DEADLINE_MS);

    // What it holds, by the request that contends for it.
    const held = {
      wallet1: lockKeys.points(victims.user1),
      wallet2: lockKeys.points(victims.user2),
      seat1: lockKeys.seat(schedule.id, 1),
      seat2: lockKeys.seat(schedule.id, 2),
      reservation1: lockKeys.reservation(r1.id),
      reservation2: lockKeys.reservation(r2.id),
      payment1: lockKeys.idempotency(`pay:${r1.id}`, victims.key1),
      payment2: lockKeys.idempotency(`pay:${r2.id}`, victims.key2),
    };
    for (const worker of load) {
      worker.send({
        contend: {
          wallets: [victims.user1, victims.user2],
          seats: [r2.seatNo, r3.seatNo],
          payments: [
            { userId: victims.user1, reservationId: r1.id, idempotencyKey: victims.key1 },
            { userId: victims.user2, reservationId: r2.id, idempotencyKey: victims.key2 },
          ],
        },
      });
    }

    const killAt = Date.now();
    await holder.kill('SIGKILL');
    // When each of its keys ends in Redis: nobody can refresh them any more.
    const leaseEnds: Record<keyof typeof held, number> = {} as Record<keyof typeof held, number>;
    for (const [name, key] of Object.entries(held) as [keyof typeof held, string][]) {
      const askedAt = Date.now();
      const pttl = await observer.pttl(`${PREFIX}lock:${key}`);
      // Held at the kill, and ending within a lease: a key that no one can release must expire by itself.
      expect({ key, pttl, endsWithinALease: pttl > 0 && pttl <= LOCK_LEASE_MS }).toEqual({ key, pttl, endsWithinALease: true });
      leaseEnds[name] = askedAt + pttl;
    }

    // Recovery: a success on every contended target (the R2 retry's last word is RESERVATION_EXPIRED).
    const targets = {
      wallet1: `wallet:${victims.user1}`,
      wallet2: `wallet:${victims.user2}`,
      seat2: `seat:${r2.seatNo}`,
      seat3: `seat:${r3.seatNo}`,
      payment1: `payment:${r1.id}`,
      payment2: `payment:${r2.id}`,
    };
    const finalAnswer = (target: string, outcome: string) => (e: LoadEvent) => e.event === 'outcome' && e.target === target && e.outcome === outcome;
    const deadline = RECOVERY_BOUND_MS + 10_000;
    await Promise.all([
      ...[targets.wallet1, targets.wallet2, targets.seat2, targets.seat3, targets.payment1].map((target) =>
        Promise.any(load.map((w) => w.next(`a success on ${target}`, finalAnswer(target, 'ok'), deadline))),
      ),
      ...load.map((w) => w.next(`the last word on ${targets.payment2}`, finalAnswer(targets.payment2, 'RESERVATION_EXPIRED'), deadline)),
    ]);
    // A little more load after recovery, then stop everyone.
    const settledAt = outcomes().length + 40;
    await load[0]!.next('load after recovery', () => outcomes().length >= settledAt, 30_000);
    const stopAt = Date.now();
    for (const worker of load) worker.send({ stop: true });
    await Promise.all(load.map((w) => w.next('stopped', (e) => e.event === 'stopped', 30_000)));
    await Promise.all(load.map((w) => w.exited));

    const all = outcomes();
    const on = (target: string) => all.filter((o) => o.target === target && o.startedAt >= killAt).sort((a, b) => a.endedAt - b.endedAt);
    const firstOk = (target: string) => on(target).find((o) => o.outcome === 'ok');
    const describeAnswers = (list: readonly Outcome[]) => list.map((o) => `${o.outcome} ${o.startedAt - killAt}-${o.endedAt - killAt}`);

    // Nothing but the expected answers anywhere: no 503, no error, no hang.
    expect(all.filter((o) => o.outcome !== 'ok' && !EXPECTED_CODES.has(o.outcome)).map((o) => `${o.target} ${o.kind} ${o.outcome}`)).toEqual([]);
    const slowest = all.reduce((worst, o) => (o.endedAt - o.startedAt > worst.endedAt - worst.startedAt ? o : worst));
    expect(slowest.endedAt - slowest.startedAt, `slowest: ${slowest.kind} ${slowest.target} ${slowest.outcome}`).toBeLessThan(ANY_REQUEST_BOUND_MS);

    // The wallets: each charge waits its bounded 2 s and answers LOCK_BUSY, until the lease ends; then it goes through.
    const recovery: Record<string, number> = {};
    for (const [wallet, leaseEnd] of [
      [targets.wallet1, leaseEnds.wallet1],
      [targets.wallet2, leaseEnds.wallet2],
    ] as const) {
      const first = firstOk(wallet);
      expect(first, wallet).toBeDefined();
      const before = on(wallet).filter((o) => o.endedAt < (first as Outcome).endedAt);
      expect(before.length, `${wallet}: refused while the dead instance's lease stood`).toBeGreaterThan(0);
      expect(before.filter((o) => o.outcome !== 'LOCK_BUSY'), describeAnswers(before).join(', ')).toEqual([]);
      expect(before.filter((o) => o.endedAt - o.startedAt > LOCK_WAIT_MS + FAIL_FAST_MS)).toEqual([]);
      recovery[wallet === targets.wallet1 ? 'wallet 1 (charge 200)' : 'wallet 2 (charge 200)'] = checkRecovery(wallet, first as Outcome, leaseEnd);
    }

    // R2's seat: SEAT_UNAVAILABLE while R2's hold lasts, LOCK_BUSY at once from its end until the lease's, then taken.
    {
      const first = firstOk(targets.seat2) as Outcome;
      expect(first, targets.seat2).toBeDefined();
      const before = on(targets.seat2).filter((o) => o.endedAt < first.endedAt);
      // Answered before the hold's end: SEAT_UNAVAILABLE (the cheap read). Sent after it: LOCK_BUSY. Straddling it: either.
      const expected = (o: Outcome) => (o.endedAt <= r2.expiresAt ? ['SEAT_UNAVAILABLE'] : o.startedAt >= r2.expiresAt ? ['LOCK_BUSY'] : ['SEAT_UNAVAILABLE', 'LOCK_BUSY']);
      expect(before.filter((o) => !expected(o).includes(o.outcome)), describeAnswers(before).join(', ')).toEqual([]);
      const busy = before.filter((o) => o.outcome === 'LOCK_BUSY');
      expect(busy.length, 'reserves refused by the dead instance\'s seat key after the hold had ended').toBeGreaterThan(0);
      expect(busy.filter((o) => o.endedAt - o.startedAt > FAIL_FAST_MS), 'fail-fast').toEqual([]);
      recovery["R2's seat (reserve 201)"] = checkRecovery(targets.seat2, first, leaseEnds.seat2);
    }

    // R1's payment, retried with its Idempotency-Key: in progress while the dead instance's key stands, then paid once.
    {
      const answers = on(targets.payment1);
      const paid = answers.filter((o) => o.outcome === 'ok' && o.replayed === false);
      expect(paid.map((o) => o.worker), 'paid exactly once').toHaveLength(1);
      const first = paid[0] as Outcome;
      const before = answers.filter((o) => o.endedAt < first.endedAt);
      expect(before.filter((o) => o.outcome !== 'IDEMPOTENCY_IN_PROGRESS'), describeAnswers(before).join(', ')).toEqual([]);
      expect(answers.filter((o) => o.endedAt > first.endedAt && !(o.outcome === 'ok' && o.replayed === true) && o.outcome !== 'IDEMPOTENCY_IN_PROGRESS')).toEqual([]);
      recovery['R1 payment retried (201)'] = checkRecovery(targets.payment1, first, Math.max(leaseEnds.payment1, leaseEnds.reservation1, leaseEnds.seat1, leaseEnds.wallet1));
    }

    // R2's payment, retried: in progress until the lease ends, then judged afresh (its hold has ended), never paid.
    {
      const answers = on(targets.payment2);
      const last = answers.filter((o) => o.outcome === 'RESERVATION_EXPIRED');
      expect(last.length).toBeGreaterThan(0);
      expect(answers.filter((o) => o.outcome !== 'IDEMPOTENCY_IN_PROGRESS' && o.outcome !== 'RESERVATION_EXPIRED').map((o) => o.outcome)).toEqual([]);
      recovery['R2 payment retried (409 RESERVATION_EXPIRED)'] = checkRecovery(targets.payment2, last[0] as Outcome, leaseEnds.payment2);
    }

    // R3, whose keys it no longer held: its hold ends at its expiresAt, not when the dead instance's leases do.
    const r3TakenAt = (firstOk(targets.seat3) as Outcome).endedAt;
    expect(r3TakenAt, 'not before the hold ended').toBeGreaterThanOrEqual(r3.expiresAt);
    expect(r3TakenAt - r3.expiresAt, 'taken back on time').toBeLessThan(ON_TIME_MS);
    expect(r3TakenAt, 'without waiting for the dead instance').toBeLessThan(Math.min(...Object.values(leaseEnds)));

    // The others went on: their own charges, reserves and payments succeeded while the dead instance's leases stood.
    const whileLeased = all.filter((o) => o.target === 'load' && o.outcome === 'ok' && o.startedAt >= killAt && o.endedAt <= Math.min(...Object.values(leaseEnds)));
    const count = (kind: Outcome['kind']) => whileLeased.filter((o) => o.kind === kind).length;
    expect({ charges: count('charge') > 20, reserves: count('reserve') > 5, payments: count('pay') > 3 }).toEqual({ charges: true, reserves: true, payments: true });

    await checkInvariants(database.url, { all, victims, r1, r2, r3, stopAt });

    const leaseLeft = Object.values(leaseEnds).map((end) => end - killAt);
    const refused = (code: string, targetPrefix: string) => all.filter((o) => o.startedAt >= killAt && o.target.startsWith(targetPrefix) && o.outcome === code).length;
    console.log(
      `[drill] instance killed (SIGKILL) holding ${Object.keys(held).length} keys: its leases ended ${Math.min(...leaseLeft)}-${Math.max(...leaseLeft)} ms after the kill; ` +
        `first answer other than busy after the kill: ${Object.entries(recovery)
          .map(([what, ms]) => `${what} ${ms} ms`)
          .join(', ')}; ` +
        `refused meanwhile: ${refused('LOCK_BUSY', 'wallet:')} charges LOCK_BUSY (each after its ${LOCK_WAIT_MS} ms wait), ` +
        `${refused('LOCK_BUSY', 'seat:')} reserves LOCK_BUSY, ${refused('IDEMPOTENCY_IN_PROGRESS', 'payment:')} payment retries IDEMPOTENCY_IN_PROGRESS; ` +
        `hold R3 taken back ${r3TakenAt - r3.expiresAt} ms after its end (${r3TakenAt - killAt} ms after the kill); ` +
        `load while the leases stood: ${count('charge')} charges, ${count('reserve')} reserves, ${count('pay')} payments ok; ` +
        `${all.length} requests in all, 503 share ${((100 * all.filter((o) => o.outcome === 'SERVICE_UNAVAILABLE').length) / all.length).toFixed(0)}%`,
    );

    /** The first success on `target` came once its lease had ended, promptly, within the bound from the kill; answers the recovery time. */
    function checkRecovery(target: string, first: Outcome, leaseEnd: number): number {
      expect(first.endedAt, `${target}: not before the lease ended`).toBeGreaterThanOrEqual(leaseEnd - CLOCK_SLACK_MS);
      expect(first.endedAt - leaseEnd, `${target}: promptly after the lease ended`).toBeLessThan(PROMPT_MS);
      expect(first.endedAt - killAt, `${target}: recovery time`).toBeLessThan(RECOVERY_BOUND_MS);
      return first.endedAt - killAt;
    }
  }, 180_000);
});

interface Facts {
  readonly all: readonly Outcome[];
  readonly victims: { readonly user1: string; readonly user2: string; readonly key1: string; readonly key2: string };
  readonly r1: Hold;
  readonly r2: Hold;
  readonly r3: Hold;
  readonly stopAt: number;
}

/** The database, on a session of its own: checked against itself and against what every client was told. */
async function checkInvariants(databaseUrl: string, { all, victims, r1, r2, r3, stopAt }: Facts): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const q = async (text: string, values: unknown[] = []) => (await client.query(text, values)).rows as Record<string, unknown>[];

    // Balance = history, for every wallet, and the other way round.
    expect(
      await q(`
        select coalesce(p.user_id, h.user_id) as user_id, p.balance, h.total
        from user_points p
        full join (select user_id, sum(case kind when 'CHARGE' then amount else -amount end)::int as total from point_history group by user_id) h
          on h.user_id = p.user_id
        where p.balance is distinct from h.total or p.balance < 0`),
    ).toEqual([]);
    // Every charge answered ok is in the history, and no other.
    const answeredCharges = new Map<string, number>();
    for (const o of all) if (o.kind === 'charge' && o.outcome === 'ok') answeredCharges.set(o.userId, (answeredCharges.get(o.userId) ?? 0) + 1);
    const storedCharges = new Map(
      (await q(`select user_id, count(*)::int as n from point_history where kind = 'CHARGE' and amount = $1 group by user_id`, [CHARGE_AMOUNT])).map((row) => [
        row.user_id as string,
        row.n as number,
      ]),
    );
    expect(storedCharges).toEqual(answeredCharges);

    // One live reservation per seat (CONFIRMED, or PENDING whose hold has not ended).
    expect(
      await q(`
        select schedule_id, seat_no from reservations
        where status = 'CONFIRMED' or (status = 'PENDING' and expires_at > now())
        group by schedule_id, seat_no having count(*) > 1`),
    ).toEqual([]);
    // Payments only for CONFIRMED reservations, exactly one each, of its price, by its buyer, before its hold's end; USE history matches.
    expect(
      await q(`
        select r.id, r.status, count(p.id)::int as payments from reservations r left join payments p on p.reservation_id = r.id
        group by r.id, r.status having (r.status = 'CONFIRMED') <> (count(p.id) = 1) or count(p.id) > 1`),
    ).toEqual([]);
    expect(
      await q(`
        select p.id from payments p join reservations r on r.id = p.reservation_id
        where p.amount <> r.price or p.user_id <> r.user_id or p.created_at >= r.expires_at`),
    ).toEqual([]);
    expect(
      await q(`
        select p.user_id from payments p group by p.user_id
        having sum(p.amount) <> coalesce((select sum(amount) from point_history h where h.user_id = p.user_id and h.kind = 'USE'), 0)`),
    ).toEqual([]);
    // Seats agree with reservations: SOLD by a CONFIRMED one, HELD by a PENDING one.
    expect(
      await q(`
        select s.seat_no, s.status from seats s
        where (s.status = 'SOLD') <> exists (select 1 from reservations r where r.schedule_id = s.schedule_id and r.seat_no = s.seat_no and r.status = 'CONFIRMED')
           or (s.status = 'HELD' and not exists (select 1 from reservations r where r.id = s.held_by and r.status = 'PENDING'))`),
    ).toEqual([]);
    // Every reservation and payment answered as made is stored, and nothing else: the load's, the contenders' and the three of the dead instance.
    const answeredReservations = new Set([...all.filter((o) => o.kind === 'reserve' && o.outcome === 'ok').map((o) => o.reservationId), r1.id, r2.id, r3.id]);
    expect(new Set((await q('select id from reservations')).map((row) => row.id))).toEqual(answeredReservations);
    const answeredPayments = new Set(all.filter((o) => o.kind === 'pay' && o.outcome === 'ok').map((o) => o.paymentId));
    expect(new Set((await q('select id from payments')).map((row) => row.id))).toEqual(answeredPayments);
    // No hold left PENDING past its end: the sweepers (or reserves of its seat) ended each on time.
    expect(await q(`select id, expires_at from reservations where status = 'PENDING' and expires_at < $1`, [new Date(stopAt - ON_TIME_MS)])).toEqual([]);

    // The dead instance committed nothing: R1 was paid once, by the retry; R2 was not, and its user was never debited; the holds ended.
    const [paidR1] = all.filter((o) => o.target === `payment:${r1.id}` && o.outcome === 'ok' && o.replayed === false);
    expect(await q('select id from payments where reservation_id = $1', [r1.id])).toEqual([{ id: paidR1?.paymentId }]);
    expect(await q(`select response->>'paymentId' as payment from idempotency_keys where scope = $1 and key = $2`, [`pay:${r1.id}`, victims.key1])).toEqual([
      { payment: paidR1?.paymentId },
    ]);
    expect(await q('select id from payments where reservation_id = $1', [r2.id])).toEqual([]);
    expect(await q('select key from idempotency_keys where scope = $1', [`pay:${r2.id}`])).toEqual([]);
    expect(await q(`select user_id, kind, count(*)::int as n from point_history where user_id = any($1) and kind = 'USE' group by user_id, kind order by kind`, [[victims.user1, victims.user2]])).toEqual([
      { user_id: victims.user1, kind: 'USE', n: 1 },
    ]);
    expect(await q('select id, status from reservations where id = any($1) order by id', [[r1.id, r2.id, r3.id]])).toEqual(
      [
        { id: r1.id, status: 'CONFIRMED' },
        { id: r2.id, status: 'EXPIRED' },
        { id: r3.id, status: 'EXPIRED' },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  } finally {
    await client.end();
  }
}
