/**
 * The crowd: every buyer run to an outcome, at most `concurrency` at once
 * (the next arrives as soon as one is done), spread over the instances by
 * their number. Buyers the run never got to (it ended first) are counted
 * as timed out before they started, so the outcomes always add up.
 */
import { BuyerApi } from './api.js';
import type { BuyerContext } from './buyer.js';
import { runBuyer } from './buyer.js';
import type { Outcome } from './outcomes.js';
import type { Random } from './random.js';

export interface SignedBuyer {
  readonly userId: string;
  readonly accessToken: string;
}

export async function runCrowd(context: BuyerContext, buyers: readonly SignedBuyer[], concurrency: number, rng: Random): Promise<Outcome[]> {
  const outcomes: (Outcome | undefined)[] = new Array<Outcome | undefined>(buyers.length).fill(undefined);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < buyers.length && !context.signal.aborted) {
      const index = next++;
      const buyer = buyers[index]!;
      context.tally.started++;
      const api = new BuyerApi(context.client, buyer.userId, buyer.accessToken, index);
      outcomes[index] = await runBuyer(context, api, rng.fork(index));
      context.tally.finished++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, buyers.length) }, lane));
  return outcomes.map((outcome) => outcome ?? { kind: 'timed out', phase: 'not started' });
}
