/**
 * One simulated buyer, start to finish, as a person in a sell-out behaves:
 * look at the show (sold out: go home), take a place in line, keep asking
 * until admitted (or walk away for good), read the seat map, try to hold 1
 * to 4 AVAILABLE seats (others may get them first), top up points and pay,
 * or let the holds run out; leave the line when done. Every way this can
 * end is one Outcome.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BuyerApi, Payment, Reply, Reservation } from './api.js';
import type { Outcome, Phase } from './outcomes.js';
import type { Random } from './random.js';
import type { ServiceClient } from './service-client.js';
import { Deadline, GiveUp } from './service-client.js';
import type { Tally } from './tally.js';
import { isRaceCode } from './tally.js';

export interface BuyerRules {
  readonly walkAwayRate: number;
  readonly abandonRate: number;
  /** MAX_SEATS_PER_USER of the service: nobody tries for more. */
  readonly maxSeatsPerUser: number;
  readonly holdSeconds: number;
}

/** The concert on sale and its schedules (made through the admin API before the sale opens). */
export interface Sale {
  readonly concertId: string;
  readonly scheduleIds: readonly string[];
}

export interface BuyerContext {
  readonly client: ServiceClient;
  readonly tally: Tally;
  readonly sale: Sale;
  readonly rules: BuyerRules;
  /** Aborted when the run ends: the buyer stops where it is (timed out). */
  readonly signal: AbortSignal;
}

/** How often a waiter asks for its token: that is its presence, and it sees its admission within about this long. */
const POLL_MS = 1_000;
/** Every this many polls a waiter also looks at the seats (the waiting page's sold-out banner), and gives up on a sold-out show. */
const MAP_EVERY_POLLS = 3;
/**
 * Places in line a buyer may lose (dropped as absent after a long outage, a
 * Redis that came back empty, a token that expired while paying) before
 * giving up.
 */
const MAX_REQUEUES = 3;
/** A waiter who walks away asks this many times at most before they stop. */
const MAX_POLLS_BEFORE_WALKING = 2;
/** Pause before reading the map again after every seat tried was taken. */
const RETRY_MAP_MS = 500;
/**
 * After everything AVAILABLE is gone, a buyer keeps looking this much longer
 * than a hold lasts: long enough for an abandoned hold to end and its seat
 * to come back, which is how the last seats of a sale get sold.
 */
const LOOK_PAST_HOLD_MS = 2_000;
/** Reserve attempts per map read beyond the seats wanted: seats shown AVAILABLE may be taken by the time the request lands. */
const EXTRA_ATTEMPTS = 4;
/** The buyer's own reservations read back after a reserve whose answer was lost: more than the seat limit, so all live ones are there. */
const RECONCILE_LIMIT = 20;

export function runBuyer(context: BuyerContext, api: BuyerApi, rng: Random): Promise<Outcome> {
  return new Buyer(context, api, rng).run();
}

class Buyer {
  private phase: Phase = 'arriving';
  private token: string | undefined;
  /** Counted in tally.waiting right now. */
  private waiting = false;
  /** PENDING holds as this buyer knows them, by reservation id; each counted in tally.held. */
  private readonly holds = new Map<string, Reservation>();
  /** Some seat this buyer tried was taken by someone else. */
  private raced = false;
  /** Places in line lost so far, over the buyer's whole life (MAX_REQUEUES). */
  private requeues = 0;

  constructor(
    private readonly context: BuyerContext,
    private readonly api: BuyerApi,
    private readonly rng: Random,
  ) {}

  async run(): Promise<Outcome> {
    try {
      return await this.script();
    } catch (error) {
      if (error instanceof Deadline) return { kind: 'timed out', phase: this.phase };
      // Giving up: give the ACTIVE slot back to the next waiter, as a real client would on its way out.
      await this.leaveQuietly();
      if (error instanceof GiveUp) return { kind: 'errored', reason: error.reason };
      return { kind: 'errored', reason: `client: ${error instanceof Error ? error.message : String(error)}` };
    } finally {
      this.setWaiting(false);
      // Holds still open when the buyer is done end on their own; the live line counts the holds of buyers still going.
      this.context.tally.held -= this.holds.size;
      this.holds.clear();
    }
  }

  private async script(): Promise<Outcome> {
    const { rules, tally } = this.context;
    if (await this.soldOut()) return { kind: 'lost race', reason: 'sold out on arrival' };
    this.phase = 'in line';
    await this.takeToken();
    const walker = this.rng.chance(rules.walkAwayRate);
    const admitted = await this.waitInLine(walker ? this.rng.int(0, MAX_POLLS_BEFORE_WALKING) : Number.POSITIVE_INFINITY);
    if (admitted !== 'admitted') return admitted;
    tally.admitted++;
    this.phase = 'shopping';
    const empty = await this.shop();
    if (empty !== undefined) {
      await this.leave();
      return empty;
    }
    this.phase = 'paying';
    return this.rng.chance(rules.abandonRate) ? this.abandon() : this.pay();
  }

  private async takeToken(): Promise<void> {
    const reply = await this.api.issueToken();
    if (!reply.ok) throw new GiveUp(`POST /queue/tokens: ${reply.status} ${reply.code ?? ''}`);
    this.token = reply.value.token;
    this.setWaiting(true);
  }

  /**
   * Polls until ACTIVE. A walker stops after `pollsBeforeLeaving` polls
   * without a word (no DELETE): the line must drop them by itself, and an
   * ACTIVE slot they were given stays taken until it expires.
   */
  private async waitInLine(pollsBeforeLeaving: number): Promise<'admitted' | Outcome> {
    for (let poll = 0; ; poll++) {
      if (poll >= pollsBeforeLeaving) return { kind: 'walked away' };
      const reply = await this.api.currentToken();
      if (reply.ok) {
        this.token = reply.value.token;
        if (reply.value.status === 'ACTIVE') {
          this.setWaiting(false);
          if (Number.isFinite(pollsBeforeLeaving)) {
            this.context.tally.admitted++;
            return { kind: 'walked away' };
          }
          return 'admitted';
        }
      } else if (reply.status === 404) {
        // The line no longer knows this buyer's token: queue again, at the back.
        this.countRequeue();
        await this.takeToken();
        continue;
      } else {
        throw new GiveUp(`GET /queue/tokens/current: ${reply.status} ${reply.code ?? ''}`);
      }
      if (poll % MAP_EVERY_POLLS === MAP_EVERY_POLLS - 1 && (await this.soldOut())) {
        await this.leave();
        return { kind: 'lost race', reason: 'sold out while in line' };
      }
      await this.pause(this.rng.jitter(POLL_MS, 0.3));
    }
  }

  /** Holds 1..MAX_SEATS_PER_USER seats of one schedule; undefined once it holds any, else why it got none. */
  private async shop(): Promise<Outcome | undefined> {
    const want = this.rng.int(1, this.context.rules.maxSeatsPerUser);
    const lookUntil = performance.now() + this.context.rules.holdSeconds * 1_000 + LOOK_PAST_HOLD_MS;
    for (;;) {
      const sale = await this.lookAtSale();
      if (sale.open.length > 0) {
        const scheduleId = sale.open[this.rng.int(0, sale.open.length - 1)]!;
        const stopped = await this.tryReserve(scheduleId, want);
        // Sold out while back in line: every seat is SOLD, so any hold of this buyer's has ended.
        if (typeof stopped === 'object') return stopped;
        if (this.holds.size > 0) return undefined;
        if (stopped !== undefined) throw new GiveUp(stopped);
      } else if (sale.soldOut) {
        return { kind: 'lost race', reason: this.raced ? 'seat taken' : 'sold out when admitted' };
      }
      // Nothing AVAILABLE now, but not everything SOLD: held seats may come back when their holds end.
      if (performance.now() >= lookUntil) return { kind: 'lost race', reason: 'seat taken' };
      await this.pause(this.rng.jitter(RETRY_MAP_MS, 0.5));
    }
  }

  /**
   * One pass over a fresh seat map; returns what stopped it if that was not
   * a lost race: trouble to give up on, or the outcome of a buyer who lost
   * their place in line and found the show sold out when queueing again.
   */
  private async tryReserve(scheduleId: string, want: number): Promise<string | Outcome | undefined> {
    const map = await this.api.seatMap(scheduleId);
    if (!map.ok) throw new GiveUp(`GET /schedules/{id}/seats: ${map.status} ${map.code ?? ''}`);
    const free = this.rng.shuffled(map.value.seats.filter((seat) => seat.status === 'AVAILABLE'));
    let attempts = 0;
    let ambiguous = false;
    let trouble: string | undefined;
    for (const seat of free) {
      if (this.holds.size >= want || attempts >= want + EXTRA_ATTEMPTS) break;
      attempts++;
      const reply = await this.api.reserve(this.activeToken(), scheduleId, seat.seatNo);
      ambiguous ||= reply.ambiguous;
      if (reply.ok) {
        this.addHold(reply.value);
        continue;
      }
      if (isRaceCode(reply.code)) {
        this.raced = true;
        continue;
      }
      if (reply.code === 'TOKEN_INVALID') {
        // The line lost the token (a Redis that came back empty, or it expired): queue again, then a fresh map.
        if (!(await this.rejoin())) return { kind: 'lost race', reason: 'sold out while in line' };
        break;
      }
      // At the limit with fewer holds than that known: a reserve whose answer was lost did hold a seat.
      if (reply.code === 'SEAT_LIMIT_REACHED') ambiguous = true;
      trouble = `POST /reservations: ${reply.status} ${reply.code ?? ''}`;
      break;
    }
    if (ambiguous) await this.reconcile(scheduleId);
    return trouble;
  }

  /** Adopts the PENDING holds the buyer has but never got an answer for (a reserve retried on another instance). */
  private async reconcile(scheduleId: string): Promise<void> {
    const list = await this.api.myReservations(RECONCILE_LIMIT);
    if (!list.ok) return;
    for (const reservation of list.value.items) {
      if (reservation.status === 'PENDING' && reservation.scheduleId === scheduleId && !this.holds.has(reservation.reservationId)) this.addHold(reservation);
    }
  }

  /** Tops up exactly what the holds cost, then pays each with its own Idempotency-Key (a retry replays, never pays twice). */
  private async pay(): Promise<Outcome> {
    const holds = [...this.holds.values()];
    const amount = holds.reduce((sum, hold) => sum + hold.price, 0);
    if (amount > 0) {
      const charged = await this.api.charge(amount, `charge-${this.api.userId}`);
      if (!charged.ok) throw new GiveUp(`POST /users/me/points/charge: ${charged.status} ${charged.code ?? ''}`);
    }
    let bought = 0;
    let ranOut = 0;
    let failure: string | undefined;
    // Sold out while this buyer queued again: every seat is SOLD, so the holds not yet paid have ended.
    let soldOutMeanwhile = false;
    for (const hold of holds) {
      this.holds.delete(hold.reservationId);
      const paid = soldOutMeanwhile ? undefined : await this.payOne(hold);
      if (paid === undefined) {
        soldOutMeanwhile = true;
        this.context.tally.held--;
        ranOut++;
        continue;
      }
      if (paid.ok) {
        bought++;
        this.context.tally.paid({ paymentId: paid.value.paymentId, reservationId: hold.reservationId, userId: this.api.userId });
        continue;
      }
      this.context.tally.held--;
      if (paid.code === 'RESERVATION_EXPIRED') ranOut++;
      else failure ??= `POST /reservations/{id}/payment: ${paid.status} ${paid.code ?? ''}`;
    }
    // Paying the last PENDING hold spends the token; with anything left unpaid it is still ours to give back.
    if (bought < holds.length && !soldOutMeanwhile) await this.leave();
    if (bought > 0) return { kind: 'bought', seats: bought, ranOut };
    if (failure === undefined) return { kind: 'hold ran out', reason: 'paid too late', seats: ranOut };
    return { kind: 'errored', reason: failure };
  }

  /** Never pays: waits until the holds have ended, checks that the service agrees, and leaves. */
  private async abandon(): Promise<Outcome> {
    const holds = [...this.holds.values()];
    const lastEnd = Math.max(...holds.map((hold) => Date.parse(hold.expiresAt)));
    // The service's clock is this machine's: a little past the end, the holds have ended by its reckoning too.
    await this.pause(Math.max(0, lastEnd - Date.now()) + 250);
    for (const hold of holds) {
      const seen = await this.api.reservation(hold.reservationId);
      if (seen.ok && seen.value.status === 'CONFIRMED') throw new GiveUp('a hold its buyer never paid was CONFIRMED');
      this.holds.delete(hold.reservationId);
      this.context.tally.held--;
    }
    await this.leave();
    return { kind: 'hold ran out', reason: 'abandoned', seats: holds.length };
  }

  /**
   * Pays one hold; when the line has lost the token, queues again and pays
   * with the new one (the same Idempotency-Key: never twice). Undefined when
   * the show sold out while the buyer was back in line.
   */
  private async payOne(hold: Reservation): Promise<Reply<Payment> | undefined> {
    const pay = () => this.api.pay(this.activeToken(), hold.reservationId, `pay-${hold.reservationId}`);
    let paid = await pay();
    while (!paid.ok && paid.code === 'TOKEN_INVALID') {
      if (!(await this.rejoin())) return undefined;
      paid = await pay();
    }
    return paid;
  }

  /**
   * The line no longer knows this buyer's token (401 TOKEN_INVALID while
   * shopping or paying): take a new one at the back and wait to be admitted
   * again, as a person sent back to the queue page would. False when the
   * show sold out meanwhile (the buyer has then left the line).
   */
  private async rejoin(): Promise<boolean> {
    this.countRequeue();
    const phase = this.phase;
    this.phase = 'in line';
    await this.takeToken();
    const admitted = await this.waitInLine(Number.POSITIVE_INFINITY);
    this.phase = phase;
    return admitted === 'admitted';
  }

  private countRequeue(): void {
    if (++this.requeues > MAX_REQUEUES) throw new GiveUp(`lost the place in line more than ${MAX_REQUEUES} times`);
    this.context.tally.requeued++;
  }

  private async soldOut(): Promise<boolean> {
    return (await this.lookAtSale()).soldOut;
  }

  /**
   * What a buyer can see of the sale: the schedules with AVAILABLE seats,
   * and whether every seat is SOLD. The schedule list settles most looks in
   * one read. When it shows nothing AVAILABLE, the seat maps decide: the
   * list's availability is cached for long and changes only with a write,
   * so a hold that ended on its own (not yet released by a sweeper) shows
   * there as taken, while the map (cached seconds, and judging the hold's
   * end when loaded) shows its seat AVAILABLE, and reserving takes it.
   */
  private async lookAtSale(): Promise<{ readonly open: readonly string[]; readonly soldOut: boolean }> {
    const list = await this.api.schedules(this.context.sale.concertId);
    if (!list.ok) throw new GiveUp(`GET /concerts/{id}/schedules: ${list.status} ${list.code ?? ''}`);
    const listed = list.value.schedules.filter((schedule) => schedule.availableSeats > 0).map((schedule) => schedule.id);
    if (listed.length > 0) return { open: listed, soldOut: false };
    const open: string[] = [];
    let soldOut = true;
    for (const schedule of list.value.schedules) {
      const map = await this.api.seatMap(schedule.id);
      if (!map.ok) throw new GiveUp(`GET /schedules/{id}/seats: ${map.status} ${map.code ?? ''}`);
      if (map.value.seats.some((seat) => seat.status === 'AVAILABLE')) open.push(schedule.id);
      if (map.value.seats.some((seat) => seat.status !== 'SOLD')) soldOut = false;
    }
    return { open, soldOut };
  }

  /** DELETE /queue/tokens/current: 204, or 404 when the token is already gone (spent, expired): both mean out of line. */
  private async leave(): Promise<void> {
    this.setWaiting(false);
    if (this.token === undefined) return;
    const reply = await this.api.leaveLine();
    if (!reply.ok && reply.status !== 404) throw new GiveUp(`DELETE /queue/tokens/current: ${reply.status} ${reply.code ?? ''}`);
    this.token = undefined;
  }

  private async leaveQuietly(): Promise<void> {
    try {
      await this.leave();
    } catch {
      // On the way out after a failure already counted: the token ends on its own expiry.
    }
  }

  private activeToken(): string {
    if (this.token === undefined) throw new Error('no queue token');
    return this.token;
  }

  private addHold(reservation: Reservation): void {
    if (this.holds.has(reservation.reservationId)) return;
    this.holds.set(reservation.reservationId, reservation);
    this.context.tally.held++;
  }

  private setWaiting(waiting: boolean): void {
    if (waiting === this.waiting) return;
    this.waiting = waiting;
    this.context.tally.waiting += waiting ? 1 : -1;
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.context.signal });
    } catch {
      throw new Deadline();
    }
  }
}
