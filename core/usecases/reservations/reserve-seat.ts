import { MAX_SEATS_PER_SCHEDULE } from '../../domain/catalog.js';
import { NotFoundError, SeatLimitReachedError, SeatUnavailableError } from '../../domain/errors.js';
import type { Reservation } from '../../domain/reservation.js';
import { hasEnded } from '../../domain/reservation.js';
import { requireId, requireIntegerInRange } from '../../domain/validation.js';
import { lockKeys } from '../../keys.js';
import type { Clock } from '../../ports/clock.port.js';
import type { IdGenerator } from '../../ports/id-generator.port.js';
import type { LockPort } from '../../ports/lock.port.js';
import type { TransactionPort, UnitOfWork } from '../../ports/transaction.port.js';
import type { CatalogCache } from '../catalog/catalog-cache.js';
import type { ExtendToken } from '../queue/extend-token.js';

export interface ReserveSeatInput {
  /** The user named by the caller's ACTIVE queue token (the HTTP guard checked it). */
  readonly userId: string;
  /** That token: kept alive until the new hold ends, so that the hold can be paid. */
  readonly token: string;
  /** When that token stops being ACTIVE, as the guard read it. */
  readonly tokenExpiresAt: Date;
  readonly scheduleId: string;
  readonly seatNo: number;
}

export interface ReserveSeatOptions {
  /** How long a reservation holds its seat (HOLD_TTL_SECONDS). */
  readonly holdTtlMs: number;
  /** Seats of one schedule a user may hold or have bought at once (MAX_SEATS_PER_USER). */
  readonly maxSeatsPerUser: number;
  /** How long a reserve waits behind the same user's other reserves of that schedule. */
  readonly userLockWaitMs: number;
  /** Told when the token could not be extended after a committed hold; the hold stands. */
  readonly onTokenNotExtended?: (error: unknown) => void;
}

/**
 * Holds a seat for a user, at most `maxSeatsPerUser` seats of a schedule.
 *
 * Cheap reads first, outside any lock: an unknown seat is 404, a seat a
 * buyer would see as taken is 409 at once (most of a hot seat's crowd ends
 * here), and so is a user who already holds the limit in live holds.
 *
 * Then two locks, nested. The user's seats of the schedule, with a bounded
 * wait: a user's own reserves queue up and each counts what the one before
 * it committed. Inside it, fail-fast (another buyer is on it: 409 LOCK_BUSY,
 * never a queue on a contended seat), the seat's key and the keys of the
 * seats of the user's own holds that had ended at the cheap read: this
 * request releases those, and every writer of a seat takes its key.
 *
 * One transaction, rolled back if either lease is lost: the user's own ended
 * holds EXPIRED and their seats released (conditionally, as a replaced hold
 * is), then the limit checked on what is still live (the lock's check), the
 * seat's conditional hold (AVAILABLE, or held by a hold that has ended), a
 * replaced hold's reservation EXPIRED, and the new reservation PENDING until
 * now + the hold's TTL, inserted by the repository's own guarded count (the
 * database's check, which holds without the lock). After commit and
 * release, the schedule's cached views are dropped, and the queue token is
 * extended to the hold's end if it would end first.
 */
export class ReserveSeat {
  constructor(
    private readonly lock: LockPort,
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly cache: CatalogCache,
    private readonly extendToken: ExtendToken,
    private readonly options: ReserveSeatOptions,
  ) {}

  async execute(input: ReserveSeatInput): Promise<Reservation> {
    const { userId, scheduleId, seatNo } = input;
    requireId('userId', userId);
    requireId('scheduleId', scheduleId);
    requireIntegerInRange('seatNo', seatNo, 1, MAX_SEATS_PER_SCHEDULE);
    const max = this.options.maxSeatsPerUser;

    const readAt = this.clock.now();
    const seat = await this.tx.read((uow) => uow.catalog.findSeat(scheduleId, seatNo, readAt));
    if (seat === undefined) throw await this.notFound(scheduleId, seatNo);
    // The seat as a buyer sees it now: HELD means a live hold, SOLD is final. Both would fail below anyway.
    if (seat.status !== 'AVAILABLE') throw new SeatUnavailableError(scheduleId, seatNo);
    // Only for a seat that may be taken: a hot seat's crowd ends above, on one read.
    const mine = await this.tx.read((uow) => uow.reservations.liveOf(userId, scheduleId));
    const endedAtRead = mine.filter((reservation) => hasEnded(reservation, readAt));
    if (mine.length - endedAtRead.length >= max) throw new SeatLimitReachedError(scheduleId, max);
    const seatsToFree = new Set([seatNo, ...endedAtRead.map((reservation) => reservation.seatNo)]);

    const reservation = await this.lock.withLock(
      [lockKeys.userSeats(scheduleId, userId)],
      (userLease) =>
        this.lock.withLock(
          [...seatsToFree].map((no) => lockKeys.seat(scheduleId, no)),
          (seatLease) =>
            this.tx.run((uow) => this.hold(uow, input, seatsToFree), { signal: AbortSignal.any([userLease.signal, seatLease.signal]) }),
          { wait: { kind: 'fail-fast' } },
        ),
      { wait: { kind: 'wait', maxWaitMs: this.options.userLockWaitMs } },
    );
    // Every seat this request changed is of this one schedule: the new hold's and those of the user's ended holds.
    await this.cache.seatChanged(scheduleId);
    if (reservation.expiresAt.getTime() > input.tokenExpiresAt.getTime()) await this.keepTokenUntil(input.token, reservation.expiresAt);
    return reservation;
  }

  /** The transaction's work, under both locks; `lockedSeats` are the seats whose keys this request holds. */
  private async hold(uow: UnitOfWork, input: ReserveSeatInput, lockedSeats: ReadonlySet<number>): Promise<Reservation> {
    const { userId, scheduleId, seatNo } = input;
    const max = this.options.maxSeatsPerUser;
    // Read under the lock: the hold's end and every ended hold are judged at the same instant.
    const now = this.clock.now();
    let stillLive = 0;
    for (const mine of await uow.reservations.liveOf(userId, scheduleId)) {
      // A hold that ended after the cheap read, on a seat whose key this request lacks, is left to the sweeper and still counts.
      const freed = hasEnded(mine, now) && lockedSeats.has(mine.seatNo) && (await uow.reservations.expire(mine.id, now));
      if (freed) await uow.seats.release(mine.scheduleId, mine.seatNo, mine.id);
      else stillLive++;
    }
    if (stillLive >= max) throw new SeatLimitReachedError(scheduleId, max);

    const reservationId = this.ids.next();
    const expiresAt = new Date(now.getTime() + this.options.holdTtlMs);
    const { price, replaced } = await uow.seats.hold(scheduleId, seatNo, reservationId, expiresAt, now);
    // The old holder is being decided by another transaction (a payment racing its end): leave the seat to it.
    if (replaced !== undefined && !(await uow.reservations.expire(replaced, now))) throw new SeatUnavailableError(scheduleId, seatNo);
    const reservation: Reservation = { id: reservationId, userId, scheduleId, seatNo, price, status: 'PENDING', expiresAt };
    await uow.reservations.insert(reservation, max);
    return reservation;
  }

  /** The hold has committed: a token that cannot be extended now (queue down) must not turn it into an error. */
  private async keepTokenUntil(token: string, until: Date): Promise<void> {
    try {
      // False means the token is no longer ACTIVE (spent by a payment racing this request, or expired): nothing to keep alive.
      await this.extendToken.execute(token, until);
    } catch (error) {
      this.options.onTokenNotExtended?.(error);
    }
  }

  /** Names what is missing: the schedule, or only that seat number. */
  private async notFound(scheduleId: string, seatNo: number): Promise<NotFoundError> {
    const schedule = await this.tx.read((uow) => uow.catalog.findSchedule(scheduleId));
    return schedule === undefined ? new NotFoundError(`no schedule ${scheduleId}`) : new NotFoundError(`schedule ${scheduleId} has no seat ${seatNo}`);
  }
}
