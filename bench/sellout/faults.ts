/**
 * One fault in the middle of the sale (`--fault`): once half the seats are
 * sold (or `--fault-after` seconds in, if that comes first), the fault's action runs
 * (fault-actions.ts). What it reports: when, what exactly, how long until
 * the first sale write succeeded again, what the requests got from the
 * fault's start to WINDOW_AFTER_MS after its end (503s, other 5xx, no
 * answer), the longest of them beside the service's request bound, and the
 * fault's own promised time where it has one (a SIGTERMed instance's exit).
 */
import { HTTP_REQUEST_TIMEOUT_MS } from '../../app/time-bounds.js';
import type { FaultFact } from './fault-actions.js';
import { FAULT_ACTIONS } from './fault-actions.js';
import type { Fleet } from './fleet.js';
import type { FaultKind } from './options.js';
import type { ReplyEvent, Tally } from './tally.js';

/** The longest one request took, and which. */
export interface Longest {
  readonly ms: number;
  readonly route: string;
  /** `201`, `503 SERVICE_UNAVAILABLE`, `no answer ECONNRESET`. */
  readonly answer: string;
}

export interface FaultReport {
  readonly kind: FaultKind;
  readonly injected: boolean;
  /** What set it off: half the seats sold, or `--fault-after` seconds passing first. */
  readonly trigger: string;
  /** Seconds into the sale when it was injected. */
  readonly atS: number | undefined;
  /** Seconds into the sale when it was over (Redis answering, the stall released, the instance gone). */
  readonly endS: number | undefined;
  readonly detail: string;
  /** Seconds from the fault's end to the first sale write (reserve, pay, charge) answered 2xx after it. */
  readonly recoveryS: number | undefined;
  /** Every request answered, or not, from the fault's start to WINDOW_AFTER_MS after its end. */
  readonly requestsDuring: number;
  /** Of those: answered 503. */
  readonly unavailableDuring: number;
  /** Answered 409 LOCK_BUSY: a lock or a row lock waited for past its bound (a lost race too, outside a fault). */
  readonly lockBusyDuring: number;
  /** Answered 5xx (503 included) or not at all. */
  readonly failedDuring: number;
  /** Not answered at all (connection refused or reset, the client's timeout). */
  readonly unansweredDuring: number;
  /** The longest request that ended in the window; undefined with none. */
  readonly longestDuring: Longest | undefined;
  /** The bound every request is held to: the service's HTTP request timeout. */
  readonly requestBoundMs: number;
  /** The fault's own promised time, measured (sigterm-instance: its exit). */
  readonly fact: (FaultFact & { readonly ok: boolean }) | undefined;
}

/** The fault's window runs this long past its end: answers still in flight, retries, the first round of recovery. */
export const WINDOW_AFTER_MS = 5_000;

/** The writes recovery waits for: each needs the lock (Redis) and a transaction (Postgres). */
const SALE_WRITES = new Set(['POST /reservations', 'POST /reservations/{id}/payment', 'POST /users/me/points/charge']);

/** How often the trigger is checked: a fault lands within this of its moment. */
const CHECK_EVERY_MS = 50;

type Log = (message: string) => void;

export function longestOf(event: ReplyEvent | undefined): Longest | undefined {
  if (event === undefined) return undefined;
  const answer = event.status === undefined ? `no answer ${event.code ?? ''}` : `${event.status}${event.code === undefined ? '' : ` ${event.code}`}`;
  return { ms: event.latencyMs, route: event.route, answer: answer.trim() };
}

export class FaultInjector {
  private timer: NodeJS.Timeout | undefined;
  private injecting: Promise<void> | undefined;
  /** What set the fault off, once something did. */
  private trigger: string | undefined;
  private startedAtMs: number | undefined;
  private endedAtMs: number | undefined;
  private recoveredAtMs: number | undefined;
  private detail = 'not injected: the sale ended before its moment';
  private fact: FaultFact | undefined;
  private requests = 0;
  private unavailable = 0;
  private lockBusy = 0;
  private failed = 0;
  private unanswered = 0;
  private longest: ReplyEvent | undefined;
  private readonly unlisten: () => void;

  constructor(
    private readonly kind: FaultKind,
    private readonly fleet: Fleet,
    private readonly tally: Tally,
    private readonly afterSeconds: number | undefined,
    private readonly downtimeSeconds: number,
    private readonly log: Log,
  ) {
    this.unlisten = tally.listen((event) => this.observe(event));
  }

  private get half(): number {
    return Math.ceil(this.tally.totalSeats / 2);
  }

  /** Starts watching for the fault's moment (call when the sale opens). */
  arm(): void {
    if (this.kind === 'none') return;
    this.timer = setInterval(() => {
      // Half the seats sold, or --fault-after seconds first: on busy cores a small sale may never sell half.
      if (this.tally.sold >= this.half) this.trigger = `half the seats sold (${this.half})`;
      else if (this.afterSeconds !== undefined && this.tally.elapsedMs() >= this.afterSeconds * 1_000) this.trigger = `${this.afterSeconds} s in, before half the seats sold`;
      if (this.trigger === undefined || this.injecting !== undefined) return;
      clearInterval(this.timer);
      this.injecting = this.inject().catch((error: unknown) => {
        this.detail = `injection failed: ${error instanceof Error ? error.message : String(error)}`;
      });
    }, CHECK_EVERY_MS);
  }

  /** Stops watching, waits for a fault in progress to finish (Redis back up, the stall released), and reports. */
  async settle(): Promise<FaultReport> {
    clearInterval(this.timer);
    await this.injecting;
    this.unlisten();
    const start = this.startedAtMs;
    const end = this.endedAtMs;
    const fact = this.fact === undefined ? undefined : { ...this.fact, ok: this.fact.valueMs <= this.fact.boundMs };
    return {
      kind: this.kind,
      // Started and over: an injection that failed half-way is not a fault the run went through.
      injected: start !== undefined && end !== undefined,
      trigger: this.trigger ?? `half the seats sold (${this.half})${this.afterSeconds === undefined ? '' : ` or ${this.afterSeconds} s in`}, neither reached`,
      atS: start === undefined ? undefined : start / 1_000,
      endS: end === undefined ? undefined : end / 1_000,
      detail: this.kind === 'none' ? 'none' : this.detail,
      recoveryS: this.recoveredAtMs === undefined || end === undefined ? undefined : (this.recoveredAtMs - end) / 1_000,
      requestsDuring: this.requests,
      unavailableDuring: this.unavailable,
      lockBusyDuring: this.lockBusy,
      failedDuring: this.failed,
      unansweredDuring: this.unanswered,
      longestDuring: longestOf(this.longest),
      requestBoundMs: HTTP_REQUEST_TIMEOUT_MS,
      fact,
    };
  }

  private async inject(): Promise<void> {
    if (this.kind === 'none') return;
    this.startedAtMs = this.tally.elapsedMs();
    this.log(`fault ${this.kind} at ${(this.startedAtMs / 1_000).toFixed(1)} s`);
    const injected = await FAULT_ACTIONS[this.kind](this.fleet, this.downtimeSeconds * 1_000);
    this.endedAtMs = this.tally.elapsedMs();
    this.detail = injected.detail;
    this.fact = injected.fact;
    this.log(`fault ${this.kind} over at ${(this.endedAtMs / 1_000).toFixed(1)} s: ${injected.detail}`);
  }

  private observe(event: ReplyEvent): void {
    if (this.startedAtMs === undefined || event.atMs < this.startedAtMs) return;
    const ok = event.status !== undefined && event.status >= 200 && event.status < 300;
    if (this.recoveredAtMs === undefined && this.endedAtMs !== undefined && ok && SALE_WRITES.has(event.route) && event.atMs >= this.endedAtMs) {
      this.recoveredAtMs = event.atMs;
    }
    if (this.endedAtMs !== undefined && event.atMs > this.endedAtMs + WINDOW_AFTER_MS) return;
    this.requests++;
    if (event.status === 503) this.unavailable++;
    if (event.code === 'LOCK_BUSY') this.lockBusy++;
    if (event.status === undefined) this.unanswered++;
    if (event.status === undefined || event.status >= 500) this.failed++;
    if (this.longest === undefined || event.latencyMs > this.longest.latencyMs) this.longest = event;
  }
}
