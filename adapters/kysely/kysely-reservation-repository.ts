import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import type { Positioned } from '../../core/domain/cursor.js';
import { NotFoundError, ReservationExpiredError, ReservationNotPendingError, SeatLimitReachedError, SeatUnavailableError } from '../../core/domain/errors.js';
import type { Payment, Reservation } from '../../core/domain/reservation.js';
import type { ReservationRepository } from '../../core/ports/reservation.repository.js';
import type { Database, ReservationsTable } from './schema.js';

const RESERVATION_COLUMNS = ['id', 'user_id', 'schedule_id', 'seat_no', 'price', 'status', 'expires_at'] as const;

/**
 * Status changes are conditional updates; uniqueness is the database's. The
 * inserts use ON CONFLICT DO NOTHING on the unique index they must not break:
 * a concurrent inserter of the same key waits for the first to end, a
 * conflict becomes the port's error, and the transaction stays usable (a
 * raised 23505 would abort it). The seat limit is a counter row per user
 * and schedule, moved by the insert (guarded) and by expiry.
 */
export class KyselyReservationRepository implements ReservationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(reservation: Reservation, maxPerUser: number): Promise<void> {
    const inserted = await this.db
      .insertInto('reservations')
      .values({
        id: reservation.id,
        user_id: reservation.userId,
        schedule_id: reservation.scheduleId,
        seat_no: reservation.seatNo,
        price: reservation.price,
        status: reservation.status,
        expires_at: reservation.expiresAt,
      })
      // The partial unique index reservations_live_seat_key; its predicate is spelled as literals so Postgres can match it.
      .onConflict((oc) => oc.columns(['schedule_id', 'seat_no']).where(sql<boolean>`status in ('PENDING', 'CONFIRMED')`).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted === undefined) throw new SeatUnavailableError(reservation.scheduleId, reservation.seatNo);
    if (!(await this.countSeat(reservation.userId, reservation.scheduleId, maxPerUser))) {
      // Refused after the row went in: take it back, so that the transaction stays usable and writes nothing of it.
      await this.db.deleteFrom('reservations').where('id', '=', reservation.id).execute();
      throw new SeatLimitReachedError(reservation.scheduleId, maxPerUser);
    }
  }

  /**
   * One more seat for the user, only while below the limit. The conflicting
   * row is locked and the WHERE judged on its latest committed version, so a
   * concurrent reserve of the same user waits for this transaction, then
   * re-checks on what it left (as the wallet's credit does).
   */
  private async countSeat(userId: string, scheduleId: string, maxPerUser: number): Promise<boolean> {
    // A first seat inserts exactly 1 whatever runs concurrently (a racing insert turns ours into the guarded update).
    if (maxPerUser < 1) return false;
    const row = await this.db
      .insertInto('user_schedule_seats')
      .values({ user_id: userId, schedule_id: scheduleId, seats: 1 })
      .onConflict((oc) =>
        oc
          .columns(['user_id', 'schedule_id'])
          .doUpdateSet({ seats: sql`user_schedule_seats.seats + 1` })
          .where(sql`user_schedule_seats.seats`, '<', maxPerUser),
      )
      .returning('seats')
      .executeTakeFirst();
    return row !== undefined;
  }

  async liveOf(userId: string, scheduleId: string): Promise<Reservation[]> {
    const rows = await this.db
      .selectFrom('reservations')
      .select(RESERVATION_COLUMNS)
      .where('user_id', '=', userId)
      .where('schedule_id', '=', scheduleId)
      .where('status', 'in', ['PENDING', 'CONFIRMED'])
      .orderBy('position')
      .execute();
    return rows.map(toReservation);
  }

  async countPending(userId: string, now: Date): Promise<number> {
    const row = await this.db
      .selectFrom('reservations')
      .select((eb) => eb.fn.countAll().as('pending'))
      .where('user_id', '=', userId)
      .where('status', '=', 'PENDING')
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    return Number(row.pending);
  }

  async listOfUser(userId: string, limit: number, before?: number): Promise<Positioned<Reservation>[]> {
    let query = this.db
      .selectFrom('reservations')
      .select([...RESERVATION_COLUMNS, 'position'])
      .where('user_id', '=', userId)
      .orderBy('position', 'desc')
      .limit(limit);
    // Passed as text: pg sends int8 parameters as strings anyway, and no position is rounded on the way.
    if (before !== undefined) query = query.where('position', '<', String(before));
    const rows = await query.execute();
    return rows.map((row) => ({ ...toReservation(row), position: Number(row.position) }));
  }

  async find(reservationId: string): Promise<Reservation | undefined> {
    const row = await this.db.selectFrom('reservations').select(RESERVATION_COLUMNS).where('id', '=', reservationId).executeTakeFirst();
    return row === undefined ? undefined : toReservation(row);
  }

  async confirm(reservationId: string, now: Date): Promise<Reservation> {
    const row = await this.db
      .updateTable('reservations')
      .set({ status: 'CONFIRMED', updated_at: sql`now()` })
      .where('id', '=', reservationId)
      .where('status', '=', 'PENDING')
      .where('expires_at', '>', now)
      .returning(RESERVATION_COLUMNS)
      .executeTakeFirst();
    if (row !== undefined) return toReservation(row);
    // Refused: read why (statuses only move forward, so what is read now is why).
    const current = await this.db.selectFrom('reservations').select('status').where('id', '=', reservationId).executeTakeFirst();
    if (current === undefined) throw new NotFoundError(`reservation ${reservationId} not found`);
    if (current.status === 'CONFIRMED') throw new ReservationNotPendingError(reservationId, current.status);
    throw new ReservationExpiredError(reservationId);
  }

  async expire(reservationId: string, now: Date): Promise<boolean> {
    // One statement: the reservation stops counting against its user's seat limit in the same breath as it ends.
    const row = await this.db
      .with('expired', (db) =>
        db
          .updateTable('reservations')
          .set({ status: 'EXPIRED', updated_at: sql`now()` })
          .where('id', '=', (eb) =>
            eb
              .selectFrom('reservations')
              .select('id')
              .where('id', '=', reservationId)
              .where('status', '=', 'PENDING')
              .where('expires_at', '<=', now)
              // A transaction holding the row (a payment, another sweeper) is deciding it: skip, never wait.
              .forNoKeyUpdate()
              .skipLocked(),
          )
          .where('status', '=', 'PENDING')
          .returning(['id', 'user_id', 'schedule_id']),
      )
      // Not read below: Postgres runs a data-modifying WITH to completion all the same.
      .with('uncounted', (db) =>
        db
          .updateTable('user_schedule_seats')
          .set({ seats: sql`user_schedule_seats.seats - 1` })
          .from('expired')
          .whereRef('user_schedule_seats.user_id', '=', 'expired.user_id')
          .whereRef('user_schedule_seats.schedule_id', '=', 'expired.schedule_id')
          .returning('user_schedule_seats.seats'),
      )
      .selectFrom('expired')
      .select('expired.id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async findEnded(now: Date, limit: number): Promise<Reservation[]> {
    const rows = await this.db
      .selectFrom('reservations')
      .select(RESERVATION_COLUMNS)
      .where('status', '=', 'PENDING')
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .orderBy(sql`id collate "C"`)
      .limit(limit)
      .execute();
    return rows.map(toReservation);
  }

  async insertPayment(payment: Payment): Promise<void> {
    const inserted = await this.db
      .insertInto('payments')
      .values({
        id: payment.id,
        reservation_id: payment.reservationId,
        user_id: payment.userId,
        amount: payment.amount,
        created_at: payment.at,
      })
      .onConflict((oc) => oc.column('reservation_id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted === undefined) throw new ReservationNotPendingError(payment.reservationId, 'CONFIRMED');
  }

  async findPaymentByReservation(reservationId: string): Promise<Payment | undefined> {
    const row = await this.db
      .selectFrom('payments')
      .select(['id', 'reservation_id', 'user_id', 'amount', 'created_at'])
      .where('reservation_id', '=', reservationId)
      .executeTakeFirst();
    return row === undefined
      ? undefined
      : { id: row.id, reservationId: row.reservation_id, userId: row.user_id, amount: row.amount, at: row.created_at };
  }
}

function toReservation(row: Pick<Selectable<ReservationsTable>, (typeof RESERVATION_COLUMNS)[number]>): Reservation {
  return {
    id: row.id,
    userId: row.user_id,
    scheduleId: row.schedule_id,
    seatNo: row.seat_no,
    price: row.price,
    status: row.status,
    expiresAt: row.expires_at,
  };
}
