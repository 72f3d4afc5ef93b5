import type { Positioned } from '../../core/domain/cursor.js';
import { NotFoundError, ReservationExpiredError, ReservationNotPendingError, SeatLimitReachedError, SeatUnavailableError } from '../../core/domain/errors.js';
import type { Payment, Reservation } from '../../core/domain/reservation.js';
import type { ReservationRepository } from '../../core/ports/reservation.repository.js';
import { compareText } from './memory-catalog-repository.js';
import type { MemoryTransaction } from './memory-database.js';
import type { Tick } from './tick.js';

const RESERVATIONS = 'reservations';
const PAYMENTS = 'payments';
/** Rows that stand for index entries: locking one serialises the inserters of one key, as a unique index does. */
const LIVE_SEAT = 'reservations_live_seat';
const PAYMENT_OF = 'payments_reservation_id';
/** Rows that stand for Postgres's user_schedule_seats counter: whoever changes a user's count of a schedule holds it to commit. */
const USER_SEATS = 'user_schedule_seats';

/** A reservation as stored, with the order it was inserted in (Postgres: an identity column). */
type ReservationRow = Positioned<Reservation>;

function userSeatsKey(userId: string, scheduleId: string): string {
  return JSON.stringify([userId, scheduleId]);
}

function isLive(reservation: Reservation): boolean {
  return reservation.status === 'PENDING' || reservation.status === 'CONFIRMED';
}

/**
 * With `guarded` (the default) it keeps the database's guards: one PENDING or
 * CONFIRMED reservation per seat and one payment per reservation (as unique
 * indexes do: a second inserter waits for the first to end, then sees what
 * it committed), the seat limit (as the counter row does: an inserter or an
 * expiry of a user's seats holds the user's counter row to commit, so the
 * next inserter waits, then counts what they committed), and status changes
 * that lock the row and check it on the latest committed version. Without
 * it, no uniqueness, no seat limit, and status changes check a row read
 * before a tick: kept only so property tests can show that they catch what
 * breaks.
 */
export class MemoryReservationRepository implements ReservationRepository {
  constructor(
    private readonly tx: MemoryTransaction,
    private readonly tick: Tick,
    private readonly guarded: boolean,
  ) {}

  async insert(reservation: Reservation, maxPerUser: number): Promise<void> {
    await this.tick();
    if (this.guarded) {
      await this.tx.lockRow(LIVE_SEAT, JSON.stringify([reservation.scheduleId, reservation.seatNo]));
      for (;;) {
        const live = this.tx
          .rows<ReservationRow>(RESERVATIONS)
          .find((other) => other.scheduleId === reservation.scheduleId && other.seatNo === reservation.seatNo && isLive(other));
        if (live === undefined) break;
        // Another transaction is changing that reservation: its fate decides ours, as the index entry's would.
        if (!(await this.tx.waitForRow(RESERVATIONS, live.id))) throw new SeatUnavailableError(reservation.scheduleId, reservation.seatNo);
      }
      // Holding the counter row, no other transaction has an uncommitted change to this count: the rows are the count.
      await this.tx.lockRow(USER_SEATS, userSeatsKey(reservation.userId, reservation.scheduleId));
      const seats = this.liveRows(reservation.userId, reservation.scheduleId).length;
      if (seats >= maxPerUser) throw new SeatLimitReachedError(reservation.scheduleId, maxPerUser);
    }
    await this.tx.lockRow(RESERVATIONS, reservation.id);
    if (this.tx.read(RESERVATIONS, reservation.id) !== undefined) throw new Error(`duplicate key: reservation ${reservation.id}`);
    this.tx.write(RESERVATIONS, reservation.id, { ...copy(reservation), position: this.tx.nextSequence() } satisfies ReservationRow);
  }

  async liveOf(userId: string, scheduleId: string): Promise<Reservation[]> {
    await this.tick();
    return this.liveRows(userId, scheduleId)
      .sort((a, b) => a.position - b.position)
      .map(copy);
  }

  async countPending(userId: string, now: Date): Promise<number> {
    await this.tick();
    return this.tx
      .rows<ReservationRow>(RESERVATIONS)
      .filter((row) => row.userId === userId && row.status === 'PENDING' && row.expiresAt.getTime() > now.getTime()).length;
  }

  async listOfUser(userId: string, limit: number, before?: number): Promise<Positioned<Reservation>[]> {
    await this.tick();
    return this.tx
      .rows<ReservationRow>(RESERVATIONS)
      .filter((row) => row.userId === userId && (before === undefined || row.position < before))
      .sort((a, b) => b.position - a.position)
      .slice(0, limit)
      .map((row) => ({ ...copy(row), position: row.position }));
  }

  private liveRows(userId: string, scheduleId: string): ReservationRow[] {
    return this.tx.rows<ReservationRow>(RESERVATIONS).filter((row) => row.userId === userId && row.scheduleId === scheduleId && isLive(row));
  }

  async find(reservationId: string): Promise<Reservation | undefined> {
    await this.tick();
    const row = this.tx.read<Reservation>(RESERVATIONS, reservationId);
    return row === undefined ? undefined : copy(row);
  }

  async confirm(reservationId: string, now: Date): Promise<Reservation> {
    await this.tick();
    // A conditional UPDATE: a row that fails the rule as last committed is passed over (no lock, no
    // wait); one that passes is locked (waiting for a writer to end) and judged again.
    let row = this.confirmable(reservationId, now);
    if (this.guarded) {
      await this.tx.lockRow(RESERVATIONS, reservationId);
      row = this.confirmable(reservationId, now);
    }
    const confirmed: Reservation = { ...row, status: 'CONFIRMED' };
    if (!this.guarded) {
      await this.tick();
      await this.tx.lockRow(RESERVATIONS, reservationId);
    }
    this.tx.write(RESERVATIONS, reservationId, confirmed);
    return copy(confirmed);
  }

  /** The reservation if it may be confirmed at `now`; else the error that says why not. */
  private confirmable(reservationId: string, now: Date): Reservation {
    const row = this.tx.read<Reservation>(RESERVATIONS, reservationId);
    if (row === undefined) throw new NotFoundError(`reservation ${reservationId} not found`);
    if (row.status === 'CONFIRMED') throw new ReservationNotPendingError(reservationId, row.status);
    if (row.status === 'EXPIRED' || row.expiresAt.getTime() <= now.getTime()) throw new ReservationExpiredError(reservationId);
    return row;
  }

  async expire(reservationId: string, now: Date): Promise<boolean> {
    await this.tick();
    const ended = (row: ReservationRow | undefined) => row?.status === 'PENDING' && row.expiresAt.getTime() <= now.getTime();
    const row = this.tx.read<ReservationRow>(RESERVATIONS, reservationId);
    if (row === undefined || !ended(row)) return false;
    if (this.guarded) {
      // SKIP LOCKED: a transaction holding the row is deciding this reservation; leave it to that one.
      if (!this.tx.tryLockRow(RESERVATIONS, reservationId)) return false;
      // Nothing was awaited since the read, and no one else holds the row: it is still the latest version.
    } else {
      await this.tick();
      await this.tx.lockRow(RESERVATIONS, reservationId);
    }
    this.tx.write(RESERVATIONS, reservationId, { ...row, status: 'EXPIRED' } satisfies ReservationRow);
    // The counter's decrement, in the same statement in Postgres: it waits for a reserve of the same user in flight.
    if (this.guarded) await this.tx.lockRow(USER_SEATS, userSeatsKey(row.userId, row.scheduleId));
    return true;
  }

  async findEnded(now: Date, limit: number): Promise<Reservation[]> {
    await this.tick();
    return this.tx
      .rows<Reservation>(RESERVATIONS)
      .filter((row) => row.status === 'PENDING' && row.expiresAt.getTime() <= now.getTime())
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || compareText(a.id, b.id))
      .slice(0, limit)
      .map(copy);
  }

  async insertPayment(payment: Payment): Promise<void> {
    await this.tick();
    if (this.guarded) {
      await this.tx.lockRow(PAYMENT_OF, payment.reservationId);
      if (this.paymentOf(payment.reservationId) !== undefined) throw new ReservationNotPendingError(payment.reservationId, 'CONFIRMED');
    }
    await this.tx.lockRow(PAYMENTS, payment.id);
    if (this.tx.read(PAYMENTS, payment.id) !== undefined) throw new Error(`duplicate key: payment ${payment.id}`);
    this.tx.write(PAYMENTS, payment.id, { ...payment } satisfies Payment);
  }

  async findPaymentByReservation(reservationId: string): Promise<Payment | undefined> {
    await this.tick();
    const payment = this.paymentOf(reservationId);
    return payment === undefined ? undefined : { ...payment };
  }

  private paymentOf(reservationId: string): Payment | undefined {
    return this.tx.rows<Payment>(PAYMENTS).find((payment) => payment.reservationId === reservationId);
  }
}

/** The reservation alone, without what only the store keeps (its position). */
function copy(row: Reservation): Reservation {
  return {
    id: row.id,
    userId: row.userId,
    scheduleId: row.scheduleId,
    seatNo: row.seatNo,
    price: row.price,
    status: row.status,
    expiresAt: row.expiresAt,
  };
}
