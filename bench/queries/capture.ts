/**
 * Every statement each user action sends: the real use cases, wired by the
 * app's own container (app/container.ts) with the cache off, on a pool that
 * records what it sends (recording-pool.ts) and turns every COMMIT into a
 * ROLLBACK, so the big database is the same after the capture as before it
 * and the statements can be replayed under EXPLAIN ANALYZE on the state they
 * met.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../../adapters/kysely/schema.js';
import { loadConfig } from '../../app/config.js';
import { buildContainer } from '../../app/container.js';
import { TOKENS } from '../../app/tokens.js';
import { IDEMPOTENCY_PURGE, PurgeIdempotencyKeys } from '../../core/usecases/purge-idempotency-keys.js';
import type { DatasetSizes } from './dataset.js';
import { liveUserOf, seatOf, SEAT_RULES, LARGE_VENUE_CONCERT } from './dataset.js';
import type { SentStatement } from './recording-pool.js';
import { RecordingPool } from './recording-pool.js';

export interface CapturedAction {
  /** Short name, used to find the action's statements again (heavy.ts). */
  readonly name: string;
  /** The route or job, and on what (an ordinary buyer, the heaviest one). */
  readonly what: string;
  readonly statements: readonly SentStatement[];
  /** Wall time of the whole action as the use case ran it, ms (the cache off; the lock in-process). */
  readonly ms: number;
  /** The use case threw: its statements are still what it sent. */
  readonly error?: string;
}

/** Seats the actions work on, chosen by the dataset's rules so that each is in the state its action needs. */
function fixtures(sizes: DatasetSizes) {
  const find = (from: number, ok: (g: number) => boolean) => {
    for (let g = from; ; g++) if (ok(g)) return g;
  };
  const available = (g: number) => !SEAT_RULES.isSold(g) && !SEAT_RULES.isHeld(g);
  const liveHold = (g: number) => SEAT_RULES.isHeld(g) && !SEAT_RULES.isEndedHold(g);
  const reserveSeat = find(100, available);
  const heavyReserveSeat = find(reserveSeat + 1, available);
  const paySeat = find(100, (g) => liveHold(g) && !SEAT_RULES.isHeavy(g));
  const heavyPaySeat = find(100, (g) => liveHold(g) && SEAT_RULES.isHeavy(g));
  return {
    ordinaryUser: 'user-3',
    heavyUser: liveUserOf(heavyPaySeat, sizes),
    reserve: seatOf(reserveSeat, sizes),
    heavyReserve: seatOf(heavyReserveSeat, sizes),
    pay: { reservationId: `res-live-${paySeat}`, userId: liveUserOf(paySeat, sizes) },
    heavyPay: { reservationId: `res-live-${heavyPaySeat}`, userId: liveUserOf(heavyPaySeat, sizes) },
  };
}

export async function captureActions(databaseUrl: string, sizes: DatasetSizes): Promise<CapturedAction[]> {
  const f = fixtures(sizes);
  // One connection: the actions run one at a time, and their statements come back in the order they were sent.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const recording = new RecordingPool(pool, true);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: recording }) });
  // Embedded mode (in-process lock and queue) with the cache off: what reaches the database is the same as in distributed mode.
  const config = loadConfig({ CACHE_ENABLED: 'false', LOG_LEVEL: 'silent', SEED_DEMO: 'false' });
  const container = await buildContainer(config);
  (await container.rebind(TOKENS.Kysely)).toConstantValue(db);
  try {
    const deepCursor = await middleCursor(pool, f.heavyUser);
    const listConcerts = await container.getAsync(TOKENS.ListConcerts);
    const listSchedules = await container.getAsync(TOKENS.ListSchedules);
    const getSeatMap = await container.getAsync(TOKENS.GetSeatMap);
    const chargePoints = await container.getAsync(TOKENS.ChargePoints);
    const getBalance = await container.getAsync(TOKENS.GetBalance);
    const getPointHistory = await container.getAsync(TOKENS.GetPointHistory);
    const reserveSeat = await container.getAsync(TOKENS.ReserveSeat);
    const payReservation = await container.getAsync(TOKENS.PayReservation);
    const listUserReservations = await container.getAsync(TOKENS.ListUserReservations);
    const expireHolds = await container.getAsync(TOKENS.ExpireHolds);
    const purge = new PurgeIdempotencyKeys(await container.getAsync(TOKENS.Transaction), {
      retentionMs: config.idempotencyRetentionHours * 3_600_000,
      batchSize: IDEMPOTENCY_PURGE.batchSize,
      maxBatchesPerRound: IDEMPOTENCY_PURGE.maxBatchesPerRound,
    });
    const token = { token: 'bench-queue-token', tokenExpiresAt: new Date(Date.now() + 3_600_000) };
    const actions: [string, string, () => Promise<unknown>][] = [
      ['browse', 'GET /concerts (every concert)', () => listConcerts.execute()],
      ['schedules', 'GET /concerts/{id}/schedules, 10 schedules × 50 seats', () => listSchedules.execute('con-0')],
      ['schedules (large venue)', `GET /concerts/{id}/schedules, 10 schedules × ${sizes.largeVenueSeats} seats`, () => listSchedules.execute(LARGE_VENUE_CONCERT)],
      ['seat map', 'GET /schedules/{id}/seats', () => getSeatMap.execute('sch-0')],
      ['charge', 'POST /users/me/points/charge with an Idempotency-Key', () => chargePoints.execute({ userId: f.ordinaryUser, amount: 5_000, idempotencyKey: 'bench-charge-1' })],
      ['balance', 'GET /users/me/points', () => getBalance.execute(f.ordinaryUser)],
      ['history', 'GET /users/me/points/history, first page, ordinary buyer', () => getPointHistory.execute({ userId: f.ordinaryUser })],
      ['history (heavy buyer)', 'GET /users/me/points/history, first page, heaviest buyer', () => getPointHistory.execute({ userId: f.heavyUser })],
      ['history (heavy buyer, deep page)', 'GET /users/me/points/history?cursor= halfway down, heaviest buyer', () => getPointHistory.execute({ userId: f.heavyUser, cursor: deepCursor })],
      ['reserve', 'POST /reservations, ordinary buyer, AVAILABLE seat', () => reserveSeat.execute({ userId: f.ordinaryUser, ...token, ...f.reserve })],
      ['reserve (heavy buyer)', 'POST /reservations, heaviest buyer, AVAILABLE seat', () => reserveSeat.execute({ userId: f.heavyUser, ...token, ...f.heavyReserve })],
      ['pay', 'POST /reservations/{id}/payment with an Idempotency-Key, ordinary buyer', () => payReservation.execute({ ...f.pay, token: token.token, idempotencyKey: 'bench-pay-1' })],
      ['pay (heavy buyer)', 'POST /reservations/{id}/payment with an Idempotency-Key, heaviest buyer', () => payReservation.execute({ ...f.heavyPay, token: token.token, idempotencyKey: 'bench-pay-2' })],
      ['reservations', 'GET /users/me/reservations, first page, ordinary buyer', () => listUserReservations.execute({ userId: f.ordinaryUser })],
      ['reservations (heavy buyer)', 'GET /users/me/reservations, first page, heaviest buyer', () => listUserReservations.execute({ userId: f.heavyUser })],
      ['expiry sweep', 'hold sweeper, one round (every instance, every 5 s), on the backlog of ended holds', () => expireHolds.execute()],
      ['idempotency purge', 'Idempotency-Key purge, one round (every instance, every minute)', () => purge.execute()],
    ];
    const captured: CapturedAction[] = [];
    recording.take();
    for (const [name, what, run] of actions) {
      const started = performance.now();
      let error: string | undefined;
      try {
        await run();
      } catch (thrown) {
        error = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
      }
      captured.push({ name, what, statements: recording.take(), ms: performance.now() - started, ...(error === undefined ? {} : { error }) });
    }
    return captured;
  } finally {
    await container.unbindAll().catch(() => undefined);
    await db.destroy();
  }
}

/** A history cursor halfway down the heaviest buyer's history: a page a client reaches by following nextCursor. */
async function middleCursor(pool: pg.Pool, userId: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `select id from point_history where user_id = $1 order by id desc offset (select count(*) / 2 from point_history where user_id = $1) limit 1`,
    [userId],
  );
  return `c1.${Number(rows[0]?.id ?? 1).toString(36)}`;
}
