/**
 * The relations the shutdown bounds in app/time-bounds.ts promise: a
 * transaction running at the signal ends by its own bounds, Redis's QUIT
 * fits the close step, and the whole stop fits Docker's grace period.
 */
import { describe, expect, it } from 'vitest';
import { DB_TRANSACTION_MAX_MS, REDIS_COMMAND_TIMEOUT_MS, SHUTDOWN_CLOSE_MS, SHUTDOWN_DRAIN_MS, SHUTDOWN_EXIT_MS } from '../../app/time-bounds.js';

/** `docker stop`'s default: SIGKILL this long after SIGTERM. */
const DOCKER_STOP_GRACE_MS = 10_000;

describe('shutdown bounds', () => {
  it('lets a transaction running at the signal end by its own bounds before the drain ends', () => {
    expect(SHUTDOWN_DRAIN_MS).toBeGreaterThanOrEqual(DB_TRANSACTION_MAX_MS);
  });

  it("gives Redis's QUIT its whole command timeout in the close step", () => {
    expect(SHUTDOWN_CLOSE_MS).toBeGreaterThan(REDIS_COMMAND_TIMEOUT_MS);
  });

  it('ends drain and close before the hard exit, and the hard exit within docker stop\'s grace period', () => {
    expect(SHUTDOWN_DRAIN_MS + SHUTDOWN_CLOSE_MS).toBeLessThan(SHUTDOWN_EXIT_MS);
    expect(SHUTDOWN_EXIT_MS).toBeLessThanOrEqual(DOCKER_STOP_GRACE_MS);
  });
});
