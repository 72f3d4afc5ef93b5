/**
 * The small sell-out the suite runs (bench/sellout/), and what every run of
 * it must show whatever fault it had: shared by the plain sell-out test and
 * the fault sell-outs (one per row of DESIGN.md's "Failure model").
 */
import { expect, inject } from 'vitest';
import { HTTP_REQUEST_TIMEOUT_MS } from '../../app/time-bounds.js';
import type { SelloutOptions } from '../../bench/sellout/options.js';
import { runSellout } from '../../bench/sellout/run.js';
import type { SelloutResult } from '../../bench/sellout/summary.js';
import { renderSummary } from '../../bench/sellout/summary.js';

export const SMALL: Omit<SelloutOptions, 'redisUrl' | 'databaseUrl' | 'fault'> = {
  buyers: 300,
  schedules: 1,
  seatsPerSchedule: 50,
  instances: 3,
  concurrency: 300,
  walkAwayRate: 0.05,
  abandonRate: 0.1,
  holdSeconds: 4,
  // Far above the 10 to 20 s such a sale takes here, even with a 12 s fault and the suite's other files on the same cores: a run that reaches it has hung.
  maxSeconds: 45,
  faultAfterSeconds: undefined,
  faultDowntimeSeconds: 2,
  seed: 20_240_601,
  progress: 'off',
};

/**
 * Each run: start 3 instances, sell, stop, check: 20 to 40 s on 2 shared cores. The limit sits above the sum of the run's own
 * bounds (60 s for the instances to serve, --max-seconds for the sale, 15 s to stop), so that a slow machine fails on the
 * bound that says what was slow, not here.
 */
export const RUN_TIMEOUT_MS = 150_000;

export async function sellout(fault: SelloutOptions['fault'], overrides: Partial<SelloutOptions> = {}): Promise<SelloutResult> {
  const lines: string[] = [];
  const options: SelloutOptions = { ...SMALL, ...overrides, fault, redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') };
  try {
    return await runSellout(options, { log: (line) => lines.push(line) });
  } catch (error) {
    throw new Error(`sell-out failed: ${String(error)}\n${lines.join('\n')}`, { cause: error });
  }
}

/** Every invariant, every buyer accounted for, no request past the service's request bound, the run over because the buyers were. */
export function expectSound(result: SelloutResult): void {
  const summary = renderSummary(result);
  const buyers = result.settings.buyers;
  for (const check of result.invariants) expect(check, summary).toMatchObject({ ok: true, violations: 0 });
  expect(result.invariants.length).toBeGreaterThanOrEqual(9);
  // Every buyer accounted for: one outcome each, and the kinds add up.
  expect(result.outcomes.total).toBe(buyers);
  expect(Object.values(result.outcomes.byKind).reduce((sum, n) => sum + n, 0)).toBe(buyers);
  expect(result.accounted).toBe(true);
  // No request hung: the longest, answered or not, within the service's documented bound.
  expect(result.longestRequest, summary).toBeDefined();
  expect(result.longestRequest!.ms, summary).toBeLessThanOrEqual(HTTP_REQUEST_TIMEOUT_MS);
  expect(result.ok, summary).toBe(true);
  // The run ended because the buyers were done, not at its time bound.
  expect(result.timing.endedBy, summary).toBe('all buyers done');
  expect(result.database.seats.total).toBe(result.settings.seatsPerSchedule);
  if (result.soldOut) {
    expect(result.database.seats.sold).toBe(result.settings.seatsPerSchedule);
    expect(result.notSoldOutBecause).toBeUndefined();
  } else {
    expect(result.notSoldOutBecause, summary).toEqual(expect.any(String));
  }
  // Seats sold in the database were sold to buyers who paid for them: every payment they were told of is there, and none more.
  expect(result.client.acknowledgedPayments).toBeLessThanOrEqual(result.database.payments);
  expect(result.database.payments).toBe(result.database.seats.sold);
}
