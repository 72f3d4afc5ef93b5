/**
 * How many ended holds the instances' sweepers released, read from their
 * /metrics before they stop. Set beside the EXPIRED reservations in
 * Postgres: holds can also end by a reserve taking the seat of a hold that
 * ran out (it expires that hold in its own transaction), so a sweeper that
 * lags or stops shows as EXPIRED reservations it did not release. Not an
 * invariant (the design lets the sweep lag), a health figure.
 */
import { parseValue, scrape } from '../metrics.js';

export interface SweeperFigures {
  /** Holds released by the sweepers of the instances that answered. */
  readonly released: number;
  /** Instances that answered /metrics (a killed one does not, and its count is lost with it). */
  readonly instancesRead: number;
}

/** The metric the sweeper counts with (app/observability/reservation-metrics.ts). */
const RELEASED = 'reservation_holds_expired_total';
/** A scrape of a live instance takes milliseconds; this only stops a dead one from holding up the run. */
const SCRAPE_TIMEOUT_MS = 2_000;

export async function sweeperFigures(urls: readonly string[]): Promise<SweeperFigures> {
  const scraped = await Promise.allSettled(
    urls.map((url) =>
      Promise.race([
        scrape(url),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), SCRAPE_TIMEOUT_MS).unref()),
      ]),
    ),
  );
  let released = 0;
  let instancesRead = 0;
  for (const result of scraped) {
    if (result.status !== 'fulfilled') continue;
    const value = parseValue(result.value, RELEASED);
    if (Number.isNaN(value)) continue;
    released += value;
    instancesRead++;
  }
  return { released, instancesRead };
}
