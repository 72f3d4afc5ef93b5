/**
 * What became of each buyer: exactly one outcome per buyer, so that the
 * outcomes of a run add up to its buyers (checked by the summary).
 */

/** Where a buyer was when the run ended. */
export type Phase = 'not started' | 'arriving' | 'in line' | 'shopping' | 'paying';

export type Outcome =
  /** Paid at least one seat. `ranOut`: holds of theirs that ended before their payment went through. */
  | { readonly kind: 'bought'; readonly seats: number; readonly ranOut: number }
  /** Got no seat because others had them: every seat tried was taken, or the map was sold out. */
  | { readonly kind: 'lost race'; readonly reason: 'seat taken' | 'sold out on arrival' | 'sold out while in line' | 'sold out when admitted' }
  /** Held seats and paid none: by choice (abandoned), or every payment came too late. */
  | { readonly kind: 'hold ran out'; readonly reason: 'abandoned' | 'paid too late'; readonly seats: number }
  /** Stopped polling the line and never came back. */
  | { readonly kind: 'walked away' }
  /** The run ended (--max-seconds) before this buyer was done, or before they started. */
  | { readonly kind: 'timed out'; readonly phase: Phase }
  /** A request that got no usable answer within its retry budget, or an answer the buyer could not act on. */
  | { readonly kind: 'errored'; readonly reason: string };

export type OutcomeKind = Outcome['kind'];
export const OUTCOME_KINDS: readonly OutcomeKind[] = ['bought', 'lost race', 'hold ran out', 'walked away', 'timed out', 'errored'];

export interface OutcomeCounts {
  /** Buyers per outcome kind; every kind present, 0 when none. */
  readonly byKind: Readonly<Record<OutcomeKind, number>>;
  /** Buyers per kind and detail (reason, phase or seats bought), e.g. `bought: 2 seats`. */
  readonly byDetail: Readonly<Record<string, number>>;
  /** Seats paid by the buyers who bought, as they saw it. */
  readonly seatsBought: number;
  readonly total: number;
}

function detail(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'bought':
      return `${outcome.seats} seat${outcome.seats === 1 ? '' : 's'}${outcome.ranOut > 0 ? ` (+${outcome.ranOut} ran out)` : ''}`;
    case 'lost race':
      return outcome.reason;
    case 'hold ran out':
      return `${outcome.reason}, ${outcome.seats} seat${outcome.seats === 1 ? '' : 's'}`;
    case 'walked away':
      return 'left the line';
    case 'timed out':
      return outcome.phase;
    case 'errored':
      return outcome.reason;
  }
}

export function countOutcomes(outcomes: readonly Outcome[]): OutcomeCounts {
  const byKind = Object.fromEntries(OUTCOME_KINDS.map((kind) => [kind, 0])) as Record<OutcomeKind, number>;
  const byDetail: Record<string, number> = {};
  let seatsBought = 0;
  for (const outcome of outcomes) {
    byKind[outcome.kind]++;
    const key = `${outcome.kind}: ${detail(outcome)}`;
    byDetail[key] = (byDetail[key] ?? 0) + 1;
    if (outcome.kind === 'bought') seatsBought += outcome.seats;
  }
  return { byKind, byDetail, seatsBought, total: outcomes.length };
}
