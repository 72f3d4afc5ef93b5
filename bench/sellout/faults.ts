/**
 * One fault in the middle of the sale (`--fault`): once half the seats are
 * sold (or `--fault-after` seconds in), either Redis is shut down and
 * started again on its own folder (the sell-out's own server, AOF on), or
 * one instance is sent SIGKILL. What it reports: when, what exactly, how
 * long until the first write succeeded again, and how many requests failed
 * (5xx or no answer) in between.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fleet } from './fleet.js';
import type { FaultKind } from './options.js';
import type { ReplyEvent, Tally } from './tally.js';

export interface FaultReport {
  readonly kind: FaultKind;
  readonly injected: boolean;
  /** What set it off: half the seats sold, or a time. */
  readonly trigger: string;
  /** Seconds into the sale when it was injected. */
  readonly atS: number | undefined;
  readonly detail: string;
  /** Seconds from the fault's end (the instance killed; Redis answering again) to the first write answered 2xx after it. */
  readonly recoveryS: number | undefined;
  /** Requests answered 5xx or not at all, from the fault's start to WINDOW_AFTER_MS after its end. */
  readonly failedDuring: number;
  /** Every request answered, or not, in that window. */
  readonly requestsDuring: number;
}

/** The fault's window runs this long past its end: answers still in flight, retries, the first round of recovery. */
export const WINDOW_AFTER_MS = 5_000;

/** How often the trigger is checked: a fault lands within this of its moment. */
const CHECK_EVERY_MS = 50;

type Log = (message: string) => void;

export class FaultInjector {
  private timer: NodeJS.Timeout | undefined;
  private injecting: Promise<void> | undefined;
  private startedAtMs: number | undefined;
  private endedAtMs: number | undefined;
  private recoveredAtMs: number | undefined;
  private detail = 'not injected: the sale ended before its moment';
  private failed = 0;
  private requests = 0;
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

  get trigger(): string {
    return this.afterSeconds === undefined ? `half the seats sold (${Math.ceil(this.tally.totalSeats / 2)})` : `${this.afterSeconds} s into the sale`;
  }

  /** Starts watching for the fault's moment (call when the sale opens). */
  arm(): void {
    if (this.kind === 'none') return;
    this.timer = setInterval(() => {
      const due = this.afterSeconds === undefined ? this.tally.sold >= Math.ceil(this.tally.totalSeats / 2) : this.tally.elapsedMs() >= this.afterSeconds * 1_000;
      if (!due || this.injecting !== undefined) return;
      clearInterval(this.timer);
      this.injecting = this.inject().catch((error: unknown) => {
        this.detail = `injection failed: ${error instanceof Error ? error.message : String(error)}`;
      });
    }, CHECK_EVERY_MS);
  }

  /** Stops watching, waits for a fault in progress to finish (Redis back up), and reports. */
  async settle(): Promise<FaultReport> {
    clearInterval(this.timer);
    await this.injecting;
    this.unlisten();
    const start = this.startedAtMs;
    return {
      kind: this.kind,
      injected: start !== undefined,
      trigger: this.trigger,
      atS: start === undefined ? undefined : start / 1_000,
      detail: this.kind === 'none' ? 'none' : this.detail,
      recoveryS: this.recoveredAtMs === undefined || this.endedAtMs === undefined ? undefined : (this.recoveredAtMs - this.endedAtMs) / 1_000,
      failedDuring: this.failed,
      requestsDuring: this.requests,
    };
  }

  private async inject(): Promise<void> {
    this.startedAtMs = this.tally.elapsedMs();
    if (this.kind === 'kill-instance') {
      // The last instance: buyers are spread over all of them by number, so any one carries a third of the crowd.
      const victim = this.fleet.urls.length - 1;
      this.fleet.kill(victim);
      this.endedAtMs = this.tally.elapsedMs();
      this.detail = `SIGKILL to instance ${victim + 1} of ${this.fleet.urls.length} (${this.fleet.urls[victim]})`;
      this.log(`fault: ${this.detail} at ${(this.startedAtMs / 1_000).toFixed(1)} s`);
      return;
    }
    const redis = this.fleet.ownRedis;
    if (redis === undefined) throw new Error('redis-restart needs the sell-out’s own Redis');
    this.log(`fault: Redis shutdown at ${(this.startedAtMs / 1_000).toFixed(1)} s`);
    await redis.shutdown();
    await sleep(this.downtimeSeconds * 1_000);
    await redis.start();
    this.endedAtMs = this.tally.elapsedMs();
    this.detail = `redis-cli shutdown, started again on the same AOF folder after ${this.downtimeSeconds} s; down ${((this.endedAtMs - this.startedAtMs) / 1_000).toFixed(1)} s in all`;
    this.log(`fault: Redis answering again at ${(this.endedAtMs / 1_000).toFixed(1)} s`);
  }

  private observe(event: ReplyEvent): void {
    if (this.startedAtMs === undefined || event.atMs < this.startedAtMs) return;
    const ok = event.status !== undefined && event.status >= 200 && event.status < 300;
    if (this.recoveredAtMs === undefined && this.endedAtMs !== undefined && ok && !event.route.startsWith('GET ') && event.atMs >= this.endedAtMs) {
      this.recoveredAtMs = event.atMs;
    }
    if (this.endedAtMs !== undefined && event.atMs > this.endedAtMs + WINDOW_AFTER_MS) return;
    this.requests++;
    if (event.status === undefined || event.status >= 500) this.failed++;
  }
}
