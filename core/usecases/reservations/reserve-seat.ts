import { MAX_SEATS_PER_SCHEDULE } from '../../domain/catalog.js';
import { NotFoundError, SeatUnavailableError } from '../../domain/errors.js';
import type { Reservation } from '../../domain/reservation.js';
import { requireId, requireIntegerInRange } from '../../domain/validation.js';
import { lockKeys } from '../../keys.js';
import type { Clock } from '../../ports/clock.port.js';
import type { IdGenerator } from '../../ports/id-generator.port.js';
import type { LockPort } from '../../ports/lock.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';
import type { CatalogCache } from '../catalog/catalog-cache.js';

export interface ReserveSeatInput {
  /** The user named by the caller's ACTIVE queue token (the HTTP guard checked it). */
  readonly userId: string;
  readonly scheduleId: string;
  readonly seatNo: number;
}

export interface ReserveSeatOptions {
  /** How long a reservation holds its seat (HOLD_TTL_SECONDS). */
  readonly holdTtlMs: number;
}

/**
 * Holds a seat for a user. Cheap reads first, outside any lock: an unknown
 * seat is 404 and a seat a buyer would see as taken is 409 at once (most of
 * a hot seat's crowd ends here). Then the seat's lock, fail-fast (another
 * buyer is on it: 409 LOCK_BUSY, never a queue on a contended seat), and one
 * transaction: the seat's conditional hold (AVAILABLE, or held by a hold
 * that has ended), the replaced hold's reservation EXPIRED, the new
 * reservation PENDING until now + the hold's TTL. After commit and release,
 * the seat's cached views are dropped.
 */
export class ReserveSeat {
  constructor(
    private readonly lock: LockPort,
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly cache: CatalogCache,
    private readonly options: ReserveSeatOptions,
  ) {}

  async execute(input: ReserveSeatInput): Promise<Reservation> {
    const { userId, scheduleId, seatNo } = input;
    requireId('userId', userId);
    requireId('scheduleId', scheduleId);
    requireIntegerInRange('seatNo', seatNo, 1, MAX_SEATS_PER_SCHEDULE);

    const seat = await this.tx.read((uow) => uow.catalog.findSeat(scheduleId, seatNo, this.clock.now()));
    if (seat === undefined) throw await this.notFound(scheduleId, seatNo);
    // The seat as a buyer sees it now: HELD means a live hold, SOLD is final. Both would fail below anyway.
    if (seat.status !== 'AVAILABLE') throw new SeatUnavailableError(scheduleId, seatNo);

    const reservation = await this.lock.withLock(
      [lockKeys.seat(scheduleId, seatNo)],
      (lease) =>
        this.tx.run(
          async (uow) => {
            // Read under the lock: the hold's end and the replaced hold's end are judged at the same instant.
            const now = this.clock.now();
            const reservationId = this.ids.next();
            const expiresAt = new Date(now.getTime() + this.options.holdTtlMs);
            const { price, replaced } = await uow.seats.hold(scheduleId, seatNo, reservationId, expiresAt, now);
            // The old holder is being decided by another transaction (a payment racing its end): leave the seat to it.
            if (replaced !== undefined && !(await uow.reservations.expire(replaced, now))) throw new SeatUnavailableError(scheduleId, seatNo);
            const reservation: Reservation = { id: reservationId, userId, scheduleId, seatNo, price, status: 'PENDING', expiresAt };
            await uow.reservations.insert(reservation);
            return reservation;
          },
          { signal: lease.signal },
        ),
      { wait: { kind: 'fail-fast' } },
    );
    await this.cache.seatChanged(scheduleId);
    return reservation;
  }

  /** Names what is missing: the schedule, or only that seat number. */
  private async notFound(scheduleId: string, seatNo: number): Promise<NotFoundError> {
    const schedule = await this.tx.read((uow) => uow.catalog.findSchedule(scheduleId));
    return schedule === undefined ? new NotFoundError(`no schedule ${scheduleId}`) : new NotFoundError(`schedule ${scheduleId} has no seat ${seatNo}`);
  }
}
