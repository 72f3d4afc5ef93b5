/**
 * Staleness as a reader sees it: the writers note each committed change
 * (the moment its 2xx arrived), and a prober on another instance polls the
 * seat map (or the schedules' availableSeats) every few ms. A probe sent
 * after a change's 2xx that still shows the old state is a stale read, a
 * fact: the change's staleness is the latest such probe's send time minus
 * the 2xx (0 when the first probe after it showed it already). The first
 * probe that shows it gives an upper bound; the two are a probe cycle
 * apart at most, so a slow probe (a busy machine) widens the gap but never
 * makes the witnessed figure larger than the truth. The 2xx arrives a
 * little after the commit, so both err low by that much.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { summarise } from '../support.js';

/** Seat states in the order a sale moves them: a probe showing a later one has seen the earlier one too. */
const RANK = { AVAILABLE: 0, HELD: 1, SOLD: 2 } as const;
export type SeatStatus = keyof typeof RANK;

export interface StalenessFigures {
  /** Changes sampled (every committed one of the window). */
  readonly samples: number;
  /** Seen by a probe: the figures are over these. */
  readonly seen: number;
  /** Witnessed staleness, ms: a probe sent this long after the 2xx still showed the old state. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Upper bound, ms: the first probe showing the change was sent this long after the 2xx. */
  readonly upperP99: number;
  readonly upperMax: number;
  /** Not seen by the end of the settle time (their staleness is at least that long). */
  readonly unseen: number;
  /** A probe cycle (gap + round trip), ms, p50: the figures' precision. */
  readonly probeCycleP50: number;
  /** A probe that showed an older state of a seat than an earlier probe did (the map went back in time). */
  readonly regressions: number;
}

interface Pending {
  readonly at: number;
  readonly test: (view: unknown) => boolean;
  /** Send time of the latest probe sent after `at` that did not show it. */
  staleSentAt: number | undefined;
}

/** One prober: polls `url`, and resolves each pending change when a probe sent after it shows it. */
class Prober {
  private readonly pending: Pending[] = [];
  private readonly delays: number[] = [];
  private readonly upper: number[] = [];
  private readonly cycles: number[] = [];
  private samples = 0;
  regressions = 0;

  constructor(
    private readonly url: string,
    private readonly parse: (body: unknown) => unknown,
    private readonly pollMs: number,
  ) {}

  expect(at: number, test: (view: unknown) => boolean): void {
    this.samples++;
    this.pending.push({ at, test, staleSentAt: undefined });
  }

  /** Polls until `stopAt`, then on until nothing is pending or `settleMs` more have passed. */
  async run(stopAt: () => number, settleMs: number, observe?: (view: unknown) => void): Promise<void> {
    let last = performance.now();
    for (;;) {
      const now = performance.now();
      if (now >= stopAt() && (this.pending.length === 0 || now >= stopAt() + settleMs)) return;
      const sentAt = performance.now();
      const response = await fetch(this.url);
      const body: unknown = await response.json();
      if (response.ok) {
        const view = this.parse(body);
        observe?.(view);
        for (let i = this.pending.length - 1; i >= 0; i--) {
          const change = this.pending[i]!;
          if (sentAt < change.at) continue;
          if (!change.test(view)) {
            change.staleSentAt = sentAt;
            continue;
          }
          this.delays.push(change.staleSentAt === undefined ? 0 : change.staleSentAt - change.at);
          this.upper.push(sentAt - change.at);
          this.pending.splice(i, 1);
        }
      }
      await sleep(this.pollMs); // the probe's own pace, not a wait for a condition
      this.cycles.push(performance.now() - last);
      last = performance.now();
    }
  }

  figures(): StalenessFigures {
    const latency = summarise(this.delays);
    const max = (xs: readonly number[]) => (xs.length === 0 ? Number.NaN : Math.max(...xs));
    return {
      samples: this.samples,
      seen: this.delays.length,
      p50: latency.p50,
      p99: latency.p99,
      max: max(this.delays),
      upperP99: summarise(this.upper).p99,
      upperMax: max(this.upper),
      unseen: this.pending.length,
      probeCycleP50: summarise(this.cycles).p50,
      regressions: this.regressions,
    };
  }
}

type SeatView = ReadonlyMap<number, number>;

/** The seat map's prober: a change is (seat, new status); a probe shows it when the seat is at that status or later. */
export class SeatMapProber {
  private readonly prober: Prober;
  private readonly highest = new Map<number, number>();

  constructor(url: string, pollMs: number) {
    this.prober = new Prober(
      url,
      (body) => new Map((body as { seats: { seatNo: number; status: SeatStatus }[] }).seats.map((seat) => [seat.seatNo, RANK[seat.status]])),
      pollMs,
    );
  }

  committed(at: number, seatNo: number, status: SeatStatus): void {
    this.prober.expect(at, (view) => ((view as SeatView).get(seatNo) ?? -1) >= RANK[status]);
  }

  run(stopAt: () => number, settleMs: number): Promise<void> {
    return this.prober.run(stopAt, settleMs, (view) => {
      for (const [seatNo, rank] of view as SeatView) {
        const before = this.highest.get(seatNo) ?? 0;
        if (rank < before) this.prober.regressions++;
        else this.highest.set(seatNo, rank);
      }
    });
  }

  figures(): StalenessFigures {
    return this.prober.figures();
  }
}

/**
 * The schedules' prober: after the k-th reserve of the window has been
 * answered 201, at least k seats fewer are available than at its start (a
 * payment leaves the count as it is), so a probe shows it when
 * availableSeats ≤ start − k.
 */
export class AvailabilityProber {
  private readonly prober: Prober;
  private reserves = 0;

  constructor(
    url: string,
    scheduleId: string,
    private readonly startAvailable: number,
    pollMs: number,
  ) {
    this.prober = new Prober(
      url,
      (body) => (body as { schedules: { id: string; availableSeats: number }[] }).schedules.find((s) => s.id === scheduleId)?.availableSeats ?? Number.NaN,
      pollMs,
    );
  }

  reserved(at: number): void {
    const atMost = this.startAvailable - ++this.reserves;
    this.prober.expect(at, (view) => (view as number) <= atMost);
  }

  run(stopAt: () => number, settleMs: number): Promise<void> {
    let lowest = Number.POSITIVE_INFINITY;
    return this.prober.run(stopAt, settleMs, (view) => {
      const available = view as number;
      if (available > lowest) this.prober.regressions++;
      else lowest = available;
    });
  }

  figures(): StalenessFigures {
    return this.prober.figures();
  }
}
