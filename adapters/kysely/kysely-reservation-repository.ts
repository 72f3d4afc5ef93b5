import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import { NotFoundError, ReservationExpiredError, ReservationNotPendingError, SeatUnavailableError } from '../../core/domain/errors.js';
import type { Payment, Reservation } from '../../core/domain/reservation.js';
import type { ReservationRepository } from '../../core/ports/reservation.repository.js';
import type { Database, ReservationsTable } from './schema.js';

const RESERVATION_COLUMNS = ['id', 'user_id', 'schedule_id', 'seat_no', 'price', 'status', 'expires_at'] as const;

/**
 * Status changes are conditional updates; uniqueness is the database's. The
 * inserts use ON CONFLICT DO NOTHING on the unique index they must not break:
 * a concurrent inserter of the same key waits for the first to end, a
 * conflict becomes the port's error, and the transaction stays usable (a
 * raised 23505 would abort it).
 */
export class KyselyReservationRepository implements ReservationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(reservation: Reservation): Promise<void> {
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
    const row = await this.db
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
      .returning('id')
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
