/**
 * The repositories with their guards switched off, for the wrong orders:
 * each write reads the row, decides in the application on what it read,
 * then writes unconditionally (read-modify-write, as an ORM's load, change,
 * save would); selling a seat writes without re-checking the hold. The schema's own guards
 * (balance CHECK, one live reservation per seat, one payment per
 * reservation) are dropped from the bench database before these run
 * (bench.ts, dropGuards), so nothing but the lock stands between two
 * writers. Bench-only: nothing in the service writes this way.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { BalanceLimitExceededError, InsufficientPointsError, NotFoundError, ReservationExpiredError, ReservationNotPendingError, SeatUnavailableError } from '../../../core/domain/errors.js';
import type { Payment, Reservation } from '../../../core/domain/reservation.js';
import type { UnitOfWork } from '../../../core/ports/transaction.port.js';
import { KyselyPointsRepository } from '../../../adapters/kysely/kysely-points-repository.js';
import { KyselyReservationRepository } from '../../../adapters/kysely/kysely-reservation-repository.js';
import { KyselySeatRepository } from '../../../adapters/kysely/kysely-seat-repository.js';
import type { Database } from '../../../adapters/kysely/schema.js';
import { guardedUnitOfWork } from './bench-transaction.js';

async function readBalance(db: Kysely<Database>, userId: string): Promise<number> {
  const row = await db.selectFrom('user_points').select('balance').where('user_id', '=', userId).executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`no wallet ${userId} (the bench creates every wallet first)`);
  return row.balance;
}

class UnguardedPoints extends KyselyPointsRepository {
  constructor(private readonly trx: Kysely<Database>) {
    super(trx);
  }

  override async credit(userId: string, amount: number, limit: number): Promise<number> {
    const balance = (await readBalance(this.trx, userId)) + amount;
    if (balance > limit) throw new BalanceLimitExceededError(limit);
    await this.trx.updateTable('user_points').set({ balance }).where('user_id', '=', userId).execute();
    return balance;
  }

  override async debit(userId: string, amount: number): Promise<number> {
    const read = await readBalance(this.trx, userId);
    if (read < amount) throw new InsufficientPointsError(read, amount);
    const balance = read - amount;
    await this.trx.updateTable('user_points').set({ balance }).where('user_id', '=', userId).execute();
    return balance;
  }
}

class UnguardedSeats extends KyselySeatRepository {
  constructor(private readonly trx: Kysely<Database>) {
    super(trx);
  }

  override async hold(scheduleId: string, seatNo: number, reservationId: string, until: Date, now: Date): Promise<{ price: number; replaced: string | undefined }> {
    const seat = await this.trx
      .selectFrom('seats')
      .select(['price', 'status', 'held_by', 'held_until'])
      .where('schedule_id', '=', scheduleId)
      .where('seat_no', '=', seatNo)
      .executeTakeFirst();
    if (seat === undefined) throw new NotFoundError(`seat ${seatNo} of schedule ${scheduleId} not found`);
    const ended = seat.status === 'HELD' && seat.held_until !== null && seat.held_until.getTime() <= now.getTime();
    if (seat.status !== 'AVAILABLE' && !ended) throw new SeatUnavailableError(scheduleId, seatNo);
    await this.trx
      .updateTable('seats')
      .set({ status: 'HELD', held_by: reservationId, held_until: until })
      .where('schedule_id', '=', scheduleId)
      .where('seat_no', '=', seatNo)
      .execute();
    return { price: seat.price, replaced: ended ? (seat.held_by ?? undefined) : undefined };
  }

  /** The guard (`status = 'HELD' and held_by = $reservation`) removed: the payment decided, on what confirm read, that the hold is its own. */
  override async sell(scheduleId: string, seatNo: number): Promise<void> {
    await this.trx.updateTable('seats').set({ status: 'SOLD', held_by: null, held_until: null }).where('schedule_id', '=', scheduleId).where('seat_no', '=', seatNo).execute();
  }
}

class UnguardedReservations extends KyselyReservationRepository {
  constructor(private readonly trx: Kysely<Database>) {
    super(trx);
  }

  /** A plain insert: no unique index to conflict with, and the seat-limit counter is not kept (every buyer of these workloads is a different user). */
  override async insert(reservation: Reservation): Promise<void> {
    await this.trx
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
      .execute();
  }

  override async confirm(reservationId: string, now: Date): Promise<Reservation> {
    const found = await this.find(reservationId);
    if (found === undefined) throw new NotFoundError(`reservation ${reservationId} not found`);
    if (found.status === 'CONFIRMED') throw new ReservationNotPendingError(reservationId, found.status);
    if (found.status !== 'PENDING' || found.expiresAt.getTime() <= now.getTime()) throw new ReservationExpiredError(reservationId);
    await this.trx.updateTable('reservations').set({ status: 'CONFIRMED', updated_at: sql`now()` }).where('id', '=', reservationId).execute();
    return { ...found, status: 'CONFIRMED' };
  }

  override async insertPayment(payment: Payment): Promise<void> {
    await this.trx
      .insertInto('payments')
      .values({ id: payment.id, reservation_id: payment.reservationId, user_id: payment.userId, amount: payment.amount, created_at: payment.at })
      .execute();
  }
}

export function unguardedUnitOfWork(db: Kysely<Database>): UnitOfWork {
  return {
    ...guardedUnitOfWork(db),
    points: new UnguardedPoints(db),
    seats: new UnguardedSeats(db),
    reservations: new UnguardedReservations(db),
  };
}
