/**
 * Every row of DESIGN.md's "Failure model" under a steady load from several
 * processes: a small sell-out (200 buyers, one schedule of 50 seats, 3
 * service processes on one Redis and one Postgres, holds of 4 s) with the
 * fault injected once half the seats are sold (10 s in at the latest). The drills in drills/ check
 * each promise precisely on single requests; here the same fault hits a
 * crowd, and afterwards, read from Postgres: every invariant holds, every
 * buyer has one outcome, no request outlived the service's request bound,
 * the sale wrote again within seconds of the fault's end, and the
 * fault was felt the way its row says. redis-restart and kill-instance run
 * in sellout.integration.test.ts and the bench.
 */
import { describe, expect, it } from 'vitest';
import { HTTP_REQUEST_TIMEOUT_MS, LOCK_LEASE_MS, SHUTDOWN_EXIT_MS } from '../../app/time-bounds.js';
import type { FaultKind } from '../../bench/sellout/options.js';
import type { SelloutResult } from '../../bench/sellout/summary.js';
import { renderSummary } from '../../bench/sellout/summary.js';
import { expectSound, RUN_TIMEOUT_MS, sellout } from './sellout-expectations.js';

/**
 * Fewer buyers than the plain sell-out: enough to keep 50 seats contended
 * through the fault, and five runs add less to the suite. The fault lands
 * once half the seats are sold, or 10 s in if that comes first: on cores
 * shared with other work a sale may sell half late or never, and a fault
 * that never came proves nothing.
 */
const SCALE = { buyers: 200, faultAfterSeconds: 10 } as const;

/**
 * From the fault's end (Redis answering, the stall released, the instance
 * gone) to the first reserve, payment or charge answered 2xx. DESIGN.md:
 * "recovers within seconds". The parts: ioredis reconnecting (its backoff
 * grows to 2 s), the buyers' own retry backoff (up to 1 s), and 2 cores
 * shared with the suite's other files. Quiet runs measure 0.0 to 1.0 s.
 * Redis restarted empty takes more by design: every token is gone, so no
 * reserve or payment can be sent before its buyer has queued again and
 * been admitted (an admission round a second, a poll a second); quiet runs
 * measure 1.0 s, a machine at load 15 on 2 cores 8 s.
 */
const RECOVERY_WITHIN_S: Partial<Record<FaultKind, number>> & { readonly default: number } = { default: 5, 'redis-restart-empty': 10 };

async function faultRun(fault: FaultKind): Promise<{ result: SelloutResult; summary: string }> {
  const result = await sellout(fault, SCALE);
  const summary = renderSummary(result);
  expect(result.fault, summary).toMatchObject({ kind: fault, injected: true, requestBoundMs: HTTP_REQUEST_TIMEOUT_MS });
  expectSound(result);
  // No buyer gave up on an error: every 503 and every silence was retried through, and every lost place in line taken again.
  expect(result.outcomes.byKind.errored, summary).toBe(0);
  expect(result.fault.recoveryS, summary).toBeDefined();
  expect(result.fault.recoveryS!, summary).toBeLessThanOrEqual(RECOVERY_WITHIN_S[fault] ?? RECOVERY_WITHIN_S.default);
  expect(result.fault.longestDuring!.ms, summary).toBeLessThanOrEqual(HTTP_REQUEST_TIMEOUT_MS);
  return { result, summary };
}

describe('sell-out across 3 instances, with a fault', () => {
  it(
    'redis-restart-empty: writes 503 while Redis is down; the line lost every token, and the buyers queue again',
    async () => {
      const { result, summary } = await faultRun('redis-restart-empty');
      expect(result.fault.unavailableDuring, summary).toBeGreaterThan(0);
      // The buyers in line, and those admitted, found their tokens gone and took new ones (none gave up: errored is 0 above).
      expect(result.client.requeued, summary).toBeGreaterThan(0);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'redis-pause: writes 503 while Redis hangs, each bounded; full service once it resumes',
    async () => {
      const { result, summary } = await faultRun('redis-pause');
      expect(result.fault.unavailableDuring, summary).toBeGreaterThan(0);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'postgres-terminate: transactions cut mid-sale roll back and the pools reconnect',
    async () => {
      const { result, summary } = await faultRun('postgres-terminate');
      const terminated = Number(/: (\d+) terminated/.exec(result.fault.detail)?.[1] ?? 0);
      expect(terminated, summary).toBeGreaterThan(0);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'row-lock-stall: payments on the locked rows end with 409 at their bound, before a lease could end, never waiting out the stall',
    async () => {
      const { result, summary } = await faultRun('row-lock-stall');
      // The stall was felt, and answered: a lock wait past lock_timeout is 409 LOCK_BUSY.
      expect(result.fault.lockBusyDuring, summary).toBeGreaterThan(0);
      // The stall outlasts a lease; no request waited for it (without the lock and statement timeouts, they would wait the whole stall).
      expect(result.fault.longestDuring!.ms, summary).toBeLessThan(LOCK_LEASE_MS);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'sigterm-instance: the instance exits within the shutdown bound; its buyers carry on elsewhere',
    async () => {
      const { result, summary } = await faultRun('sigterm-instance');
      expect(result.fault.fact, summary).toMatchObject({ name: 'exit after SIGTERM', boundMs: SHUTDOWN_EXIT_MS, ok: true });
      expect(result.fault.fact!.valueMs, summary).toBeLessThanOrEqual(SHUTDOWN_EXIT_MS);
      // Its own stop, not the hard bound's exit(1).
      expect(result.fault.detail, summary).toContain('exited with code 0');
    },
    RUN_TIMEOUT_MS,
  );
});
