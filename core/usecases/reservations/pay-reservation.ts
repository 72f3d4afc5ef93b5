import { ForbiddenError, NotFoundError, ReservationExpiredError, ReservationNotPendingError, TokenInvalidError } from '../../domain/errors.js';
import type { Reservation } from '../../domain/reservation.js';
import { requireId, requireIdempotencyKey } from '../../domain/validation.js';
import { lockKeys } from '../../keys.js';
import type { Clock } from '../../ports/clock.port.js';
import type { IdGenerator } from '../../ports/id-generator.port.js';
import type { LockPort } from '../../ports/lock.port.js';
import type { TransactionPort, UnitOfWork } from '../../ports/transaction.port.js';
import type { CatalogCache } from '../catalog/catalog-cache.js';
import type { IdempotentRequest } from '../idempotency.js';
import { claimOrReplay, guardInFlight, idempotentRequest } from '../idempotency.js';
import type { ExpireToken } from '../queue/expire-token.js';

export interface PayReservationInput {
  /** The user named by the caller's queue token (ACTIVE, or SPENT with `tokenSpent`). */
  readonly userId: string;
  /** That token: a buyer with nothing left to pay leaves the queue, freeing the slot for the next waiter. */
  readonly token: string;
  readonly reservationId: string;
  readonly idempotencyKey?: string;
  /**
   * The token was spent by an earlier payment (RequireActiveToken.executeForPayment).
   * Such a request may only replay: the stored answer of this Idempotency-Key
   * on this reservation, or TOKEN_INVALID. A spent token buys nothing new.
   */
  readonly tokenSpent?: boolean;
}

export interface PaymentReceipt {
  readonly paymentId: string;
  readonly reservationId: string;
  readonly amount: number;
  readonly status: 'CONFIRMED';
  /** The wallet's balance right after this payment. */
  readonly balance: number;
}

/** What became of the queue token a payment request carried. */
export type QueueTokenOutcome =
  /** This payment left its user no PENDING reservation: the token is spent, its slot free. */
  | 'SPENT'
  /** Left as it was: its user still has a hold to pay with it, or the answer is a replay (which never spends). */
  | 'KEPT'
  /** It was due to be spent, but the queue failed: it ends on its own expiry. The sale stands. */
  | 'NOT_SPENT';

export interface PayReservationOutput extends PaymentReceipt {
  /** True when this is the stored answer of an earlier request with the same Idempotency-Key. */
  readonly replayed: boolean;
  readonly queueToken: QueueTokenOutcome;
}

export interface PayReservationOptions {
  /** How long a payment waits for its keys (the user's own charges, a sweeper on the hold). */
  readonly lockWaitMs: number;
  /** Told when the token could not be expired after a committed sale; the sale stands. */
  readonly onTokenNotExpired?: (error: unknown) => void;
}

/**
 * Pays a PENDING reservation with points. Outside any lock: the reservation
 * exists (404), it is the caller's (403), and, for a clear answer, it is
 * still payable. Then the reservation's, the seat's and the wallet's keys
 * together (every writer of a resource takes its key; the lock sorts them),
 * and one transaction: claim the Idempotency-Key, confirm the reservation
 * only if still PENDING and unexpired, deduct the price in one guarded
 * statement, a USE history row, the seat SOLD, count the user's holds still
 * PENDING, and last, right before COMMIT, the payment, stamped and its hold
 * judged again at that instant (a hold that ended while the statements
 * waited is not sold). Any refusal rolls all of it back. After
 * commit, the seat's cached views are dropped, and the queue token is
 * expired (spent) if that count was 0: a buyer with several holds pays them
 * all with one token. Payments of one user's holds serialise on the
 * wallet's key (and, without the lock, on the wallet's row), so the last of
 * them counts the others CONFIRMED. A replayed answer never spends a token.
 *
 * With a spent token (`tokenSpent`), only a replay: a client whose answer was
 * lost retries with the token it had and the same Idempotency-Key, and gets
 * the stored payment. No reservation, seat or wallet lock: nothing is written.
 */
export class PayReservation {
  constructor(
    private readonly lock: LockPort,
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly expireToken: ExpireToken,
    private readonly cache: CatalogCache,
    private readonly options: PayReservationOptions = { lockWaitMs: 2_000 },
  ) {}

  async execute(input: PayReservationInput): Promise<PayReservationOutput> {
    const { userId, reservationId } = input;
    requireId('userId', userId);
    requireId('reservationId', reservationId);
    if (input.idempotencyKey !== undefined) requireIdempotencyKey(input.idempotencyKey);
    const request = idempotentRequest(`pay:${reservationId}`, input.idempotencyKey, { reservationId });
    if (input.tokenSpent === true) return this.replayOnly(userId, reservationId, request);

    const reservation = await this.tx.read((uow) => uow.reservations.find(reservationId));
    if (reservation === undefined) throw new NotFoundError(`no reservation ${reservationId}`);
    if (reservation.userId !== userId) throw new ForbiddenError('this reservation is not yours');
    // A repeat with a key must reach its stored answer, so only a keyless request is refused here; the transaction re-checks anyway.
    if (request === undefined) requirePayable(reservation, this.clock.now());

    const receipt = await guardInFlight(this.lock, request, () =>
      this.lock.withLock(
        [lockKeys.reservation(reservationId), lockKeys.seat(reservation.scheduleId, reservation.seatNo), lockKeys.points(userId)],
        (lease) =>
          this.tx.run(
            async (uow) => {
              const stored = await claimOrReplay<PaymentReceipt>(uow, request);
              if (stored !== undefined) return { ...stored, replayed: true, lastToPay: false };

              const now = this.clock.now();
              const confirmed = await uow.reservations.confirm(reservationId, now);
              const amount = confirmed.price;
              let balance: number;
              if (amount > 0) {
                balance = await uow.points.debit(userId, amount);
                await uow.points.appendHistory({ userId, kind: 'USE', amount, balanceAfter: balance, at: now });
              } else {
                // A free seat moves no points: no history row (history amounts are positive).
                balance = await uow.points.balanceOf(userId);
              }
              // The payment row itself goes in last, at commit (recordAtCommit below).
              const paymentId = this.ids.next();
              await uow.seats.sell(confirmed.scheduleId, confirmed.seatNo, reservationId);

              const answer: PaymentReceipt = { paymentId, reservationId, amount, status: 'CONFIRMED', balance };
              if (request !== undefined) await uow.idempotency.complete(request.scope, request.key, answer);
              // Counted after this one is confirmed, in the same transaction: only the payment that leaves nothing to pay spends.
              const lastToPay = (await uow.reservations.countPending(userId, now)) === 0;
              return { ...answer, replayed: false, lastToPay };
            },
            {
              signal: lease.signal,
              beforeCommit: async (uow, outcome) => {
                if (!outcome.replayed) await this.recordAtCommit(uow, { ...outcome, userId, expiresAt: reservation.expiresAt });
              },
            },
          ),
        { wait: { kind: 'wait', maxWaitMs: this.options.lockWaitMs } },
      ),
    );

    const { lastToPay, ...output } = receipt;
    if (!output.replayed) await this.cache.seatChanged(reservation.scheduleId);
    return { ...output, queueToken: lastToPay ? await this.leaveQueue(input.token) : 'KEPT' };
  }

  /**
   * A spent token's request: the stored receipt of its key, or TOKEN_INVALID
   * for anything else (no key, a key never used here, someone else's or an
   * unknown reservation), so that it learns nothing it could not before.
   * The key's own lock still applies: a request with that key in flight
   * answers IDEMPOTENCY_IN_PROGRESS. A key never used is claimed and at once
   * rolled back with the refusal.
   */
  private async replayOnly(userId: string, reservationId: string, request: IdempotentRequest | undefined): Promise<PayReservationOutput> {
    if (request === undefined) throw new TokenInvalidError();
    const reservation = await this.tx.read((uow) => uow.reservations.find(reservationId));
    if (reservation === undefined || reservation.userId !== userId) throw new TokenInvalidError();
    const stored = await guardInFlight(this.lock, request, () =>
      this.tx.run(async (uow) => {
        const answer = await claimOrReplay<PaymentReceipt>(uow, request);
        if (answer === undefined) throw new TokenInvalidError();
        return answer;
      }),
    );
    // The token is spent already, and a replay never spends one.
    return { ...stored, replayed: true, queueToken: 'KEPT' };
  }

  /**
   * The last step before COMMIT: the payment row, stamped with the instant
   * the transaction commits at, and the hold judged at that instant. The
   * confirm statement already refused an ended hold, but the statements after
   * it may wait (a wallet row locked elsewhere, a slow server), and the
   * promise is "unexpired at commit". The clock is read again after the
   * insert, so that no statement lies between the judgement and COMMIT.
   *
   * Judged on the injected Clock, not the database's clock_timestamp(): the
   * hold's end (`expiresAt`) was computed from that Clock when the seat was
   * reserved, and that Clock is what reserving (an ended hold is free to
   * take) and the sweeper judge the end by. With the database's clock a
   * payment and a new reserve of the same seat could disagree on whether the
   * hold had ended, by the skew between the hosts. Tests move a ManualClock
   * across a hold's end, and the memory adapters, which have no clock of
   * their own, judge exactly as Postgres does in the property tests.
   */
  private async recordAtCommit(
    uow: UnitOfWork,
    payment: { readonly paymentId: string; readonly reservationId: string; readonly userId: string; readonly amount: number; readonly expiresAt: Date },
  ): Promise<void> {
    const { paymentId, reservationId, userId, amount, expiresAt } = payment;
    await uow.reservations.insertPayment({ id: paymentId, reservationId, userId, amount, at: this.clock.now() });
    if (this.clock.now().getTime() >= expiresAt.getTime()) throw new ReservationExpiredError(reservationId);
  }

  /** The sale has committed: a token that cannot be expired now (queue down) must not turn it into an error. */
  private async leaveQueue(token: string): Promise<QueueTokenOutcome> {
    try {
      await this.expireToken.execute(token);
      return 'SPENT';
    } catch (error) {
      this.options.onTokenNotExpired?.(error);
      return 'NOT_SPENT';
    }
  }
}

/** The answers a client can act on, given before any lock is taken. */
function requirePayable(reservation: Reservation, now: Date): void {
  if (reservation.status === 'CONFIRMED') throw new ReservationNotPendingError(reservation.id, reservation.status);
  if (reservation.status === 'EXPIRED' || reservation.expiresAt.getTime() <= now.getTime()) throw new ReservationExpiredError(reservation.id);
}
