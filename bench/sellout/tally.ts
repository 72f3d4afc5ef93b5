/**
 * The sale as the buyers see it, counted while it runs: the live progress
 * line reads it, the fault injector listens to it, and the summary is made
 * from it at the end. Client-side only; the invariant check reads Postgres.
 */

/** One answer (or a request that got none), as the buyers' HTTP client saw it. */
export interface ReplyEvent {
  /** ms since the sale opened. */
  readonly atMs: number;
  /** The route's template, e.g. `POST /reservations`. */
  readonly route: string;
  /** undefined: no answer (connection refused or reset, client timeout). */
  readonly status: number | undefined;
  /** The error code of a non-2xx answer, or the network failure's code. */
  readonly code: string | undefined;
  readonly latencyMs: number;
}

/** A payment the client got a 201 or 200 for: the invariant check finds each one in Postgres. */
export interface AcknowledgedPayment {
  readonly paymentId: string;
  readonly reservationId: string;
  readonly userId: string;
}

/**
 * Codes a contended sale answers by design: a seat someone else got first.
 * Everything else that is not 2xx counts as an error on the live line (the
 * summary lists every code either way).
 */
const RACE_CODES = new Set(['SEAT_UNAVAILABLE', 'LOCK_BUSY']);

export function isRaceCode(code: string | undefined): boolean {
  return code !== undefined && RACE_CODES.has(code);
}

export class Tally {
  private openedAt = performance.now();
  /** Buyers started, finished. */
  started = 0;
  finished = 0;
  /** Buyers in line right now (took a token, not ACTIVE yet). */
  waiting = 0;
  /** Buyers who saw their token ACTIVE, ever. */
  admitted = 0;
  /** Seats held right now, as far as the buyers know (a hold made, not yet paid or seen to run out). */
  held = 0;
  /** Seats whose payment the buyers saw succeed. */
  sold = 0;
  /** Non-2xx answers other than a lost race, and requests that got no answer. */
  errors = 0;
  /** Tokens taken again after the line lost one (a Redis without persistence, a presence drop). */
  requeued = 0;
  /** Requests sent again to another instance after theirs gave no answer. */
  failovers = 0;
  /** When the buyers saw the last seat sold, ms after opening. */
  soldOutAtMs: number | undefined;
  /** When the buyers saw each seat sold, in order, ms after opening: how the sale went, not only when it ended. */
  readonly soldAtMs: number[] = [];
  readonly totalSeats: number;
  /** `<status> <code>` (or `no answer <code>`) → count. */
  readonly codes = new Map<string, number>();
  /** Route → latency of every answer, ms. */
  readonly latencies = new Map<string, number[]>();
  readonly acknowledged: AcknowledgedPayment[] = [];
  /** The longest any one request took, answered or not (a silence lasts until the client gave up): checked against the service's request bound. */
  longest: ReplyEvent | undefined;
  private readonly listeners = new Set<(event: ReplyEvent) => void>();

  constructor(totalSeats: number) {
    this.totalSeats = totalSeats;
  }

  /** The sale opens now: every time in the run is measured from here. */
  open(): void {
    this.openedAt = performance.now();
  }

  elapsedMs(): number {
    return performance.now() - this.openedAt;
  }

  listen(listener: (event: ReplyEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reply(route: string, status: number | undefined, code: string | undefined, latencyMs: number): void {
    const event: ReplyEvent = { atMs: this.elapsedMs(), route, status, code, latencyMs };
    if (this.longest === undefined || latencyMs > this.longest.latencyMs) this.longest = event;
    if (status !== undefined) {
      const samples = this.latencies.get(route) ?? [];
      samples.push(latencyMs);
      this.latencies.set(route, samples);
    }
    if (status === undefined || status >= 300) {
      const key = status === undefined ? `no answer ${code ?? 'UNKNOWN'}` : `${status} ${code ?? 'NO_CODE'}`;
      this.codes.set(key, (this.codes.get(key) ?? 0) + 1);
      if (!isRaceCode(code)) this.errors++;
    }
    for (const listener of this.listeners) listener(event);
  }

  paid(payment: AcknowledgedPayment): void {
    this.acknowledged.push(payment);
    this.held--;
    this.sold++;
    this.soldAtMs.push(this.elapsedMs());
    if (this.sold >= this.totalSeats && this.soldOutAtMs === undefined) this.soldOutAtMs = this.elapsedMs();
  }
}
