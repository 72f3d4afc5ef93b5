import type { AdmissionResult } from '../../domain/queue.js';

interface Round {
  readonly atMs: number;
  readonly admittedTotal: number;
  /** Waiters were left after the round: it admitted as many as there was room for. */
  readonly backlogged: boolean;
}

/**
 * How fast the line moves, for a waiter's ETA: tokens admitted by every
 * instance (the queue's shared counter) per admission interval, over this
 * instance's recent rounds. Only spans that ended with waiters left count:
 * while nobody is left waiting, the rate says nothing about how fast a
 * waiter moves (whoever arrives then is admitted by the next round).
 * Waiters dropped for absence are not admissions: they leave the line
 * without moving anyone's slot, so they do not count towards the rate.
 */
export class AdmissionRate {
  private readonly rounds: Round[] = [];

  constructor(private readonly windowRounds = 30) {}

  record(result: AdmissionResult, at: Date): void {
    this.rounds.push({ atMs: at.getTime(), admittedTotal: result.admittedTotal, backlogged: result.waiting > 0 });
    if (this.rounds.length > this.windowRounds + 1) this.rounds.shift();
  }

  /** Tokens admitted per `intervalMs` while the line was backlogged, or undefined when the window has no such span. */
  perInterval(intervalMs: number): number | undefined {
    let admitted = 0;
    let spanMs = 0;
    for (let i = 1; i < this.rounds.length; i++) {
      const before = this.rounds[i - 1] as Round;
      const after = this.rounds[i] as Round;
      if (!after.backlogged || after.atMs <= before.atMs) continue;
      // A counter that went back (the store was emptied) counts as no progress, not as negative progress.
      admitted += Math.max(0, after.admittedTotal - before.admittedTotal);
      spanMs += after.atMs - before.atMs;
    }
    return spanMs > 0 ? (admitted / spanMs) * intervalMs : undefined;
  }
}
