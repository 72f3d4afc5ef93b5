/**
 * Runs a prepared workload with a fixed number of concurrent callers, in
 * this process, calling the use cases directly (no HTTP: the figures are
 * the lock's and the database's, not the web stack's). Every request is
 * timed and its outcome kept: OK, or the error's code (LOCK_BUSY,
 * SEAT_UNAVAILABLE, …).
 */
import { DomainError } from '../../core/domain/errors.js';
import type { Latency } from '../support.js';
import { summarise } from '../support.js';
import type { Prepared, UseCases } from './workloads.js';

export interface Driven {
  readonly requests: number;
  readonly outcomes: ReadonlyMap<string, number>;
  readonly latency: Latency;
  readonly elapsedS: number;
  /** Successes per round (the hot seat: exactly 1 each when nothing double-books). */
  readonly okPerRound: readonly number[];
  readonly expectedBalances: ReadonlyMap<string, number>;
  /** The first unexpected error (not a DomainError), to print. */
  readonly firstError?: unknown;
}

export const OK = 'OK';

function outcomeOf(error: unknown): string {
  if (error instanceof DomainError) return error.code;
  return `ERROR ${error instanceof Error ? error.name : typeof error}`;
}

/** Every task of every round, `callers` at a time; a round starts when the one before it has ended. Stops taking tasks after `capS`. */
export async function drive(prepared: Prepared, useCases: UseCases, callers: number, capS: number): Promise<Driven> {
  const outcomes = new Map<string, number>();
  const samples: number[] = [];
  const okPerRound: number[] = [];
  const expected = new Map(prepared.initialBalances);
  let firstError: unknown;
  const started = performance.now();
  const stopAt = started + capS * 1000;
  for (const round of prepared.rounds) {
    if (performance.now() > stopAt) break;
    let next = 0;
    let ok = 0;
    const caller = async () => {
      while (next < round.length && performance.now() <= stopAt) {
        const task = round[next++]!;
        const sent = performance.now();
        let outcome = OK;
        try {
          const change = await task(useCases);
          if (change !== undefined) expected.set(change.userId, (expected.get(change.userId) ?? 0) + change.delta);
          ok++;
        } catch (error) {
          outcome = outcomeOf(error);
          if (!(error instanceof DomainError)) firstError ??= error;
        }
        samples.push(performance.now() - sent);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: callers }, caller));
    okPerRound.push(ok);
  }
  const elapsedS = (performance.now() - started) / 1000;
  return { requests: samples.length, outcomes, latency: summarise(samples), elapsedS, okPerRound, expectedBalances: expected, firstError };
}
