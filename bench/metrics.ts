import { setTimeout as sleep } from 'node:timers/promises';

/** Cumulative bucket counts of one Prometheus histogram, summed over the series that match. */
export interface Buckets {
  /** Upper bounds in seconds, ascending, +Inf last. */
  readonly le: readonly number[];
  readonly counts: readonly number[];
}

/**
 * Reads `<name>_bucket{...}` lines of the text exposition format, keeping
 * the series whose labels include every pair of `match`, and adds them up
 * per bound (e.g. lock waits of every outcome, or of `acquired` only).
 */
export function parseHistogram(text: string, name: string, match: Readonly<Record<string, string>> = {}): Buckets {
  const byLe = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue;
    const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  const le = [...byLe.keys()].sort((a, b) => a - b);
  return { le, counts: le.map((bound) => byLe.get(bound) ?? 0) };
}

/** What was observed between two scrapes: the warm-up is left out this way. */
export function diff(after: Buckets, before: Buckets): Buckets {
  return { le: after.le, counts: after.counts.map((count, i) => count - (before.le[i] === after.le[i] ? (before.counts[i] ?? 0) : 0)) };
}

export function total(buckets: Buckets): number {
  return buckets.counts.at(-1) ?? 0;
}

/**
 * Estimates a quantile the way PromQL's histogram_quantile does: find the
 * bucket holding it and interpolate linearly inside it. Only as fine as the
 * buckets (0.5, 1, 2.5, 5, 10 ms ...): an estimate, reported as one.
 * Answers seconds, NaN with no observations.
 */
export function quantile(buckets: Buckets, q: number): number {
  const n = total(buckets);
  if (n === 0) return Number.NaN;
  const rank = q * n;
  for (let i = 0; i < buckets.le.length; i++) {
    const count = buckets.counts[i] ?? 0;
    if (count < rank) continue;
    const upper = buckets.le[i] ?? Number.POSITIVE_INFINITY;
    const lower = i === 0 ? 0 : (buckets.le[i - 1] ?? 0);
    if (!Number.isFinite(upper)) return lower; // beyond the last bound: all that can be said is "at least"
    const below = i === 0 ? 0 : (buckets.counts[i - 1] ?? 0);
    return lower + ((upper - lower) * (rank - below)) / Math.max(1, count - below);
  }
  return Number.NaN;
}

/** The value of an unlabelled counter or gauge (`process_cpu_seconds_total 12.3`), NaN when absent. */
export function parseValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

export function scrape(serviceUrl: string): Promise<string> {
  return fetch(`${serviceUrl}/metrics`).then((response) => response.text());
}

/**
 * Scrapes once the requests autocannon left behind have finished: no new
 * lock observation (of the families that `match` selects; all by default)
 * for 250 ms, at most 5 s. On a hot wallet leftovers wait up to 2 s for the
 * lock and would otherwise land in the next window (as LOCK_BUSY).
 */
export async function settled(serviceUrl: string, match: Readonly<Record<string, string>> = {}): Promise<string> {
  const count = (text: string) => total(parseHistogram(text, 'lock_wait_seconds', match)) + total(parseHistogram(text, 'lock_hold_seconds', match));
  const giveUpAt = Date.now() + 5_000;
  let text = await scrape(serviceUrl);
  for (;;) {
    await sleep(250);
    const next = await scrape(serviceUrl);
    if (count(next) === count(text) || Date.now() > giveUpAt) return next;
    text = next;
  }
}
