import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeriodicJob } from '../../app/jobs/periodic-job.js';
import { deferred } from '../support/deferred.js';

function aLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe('PeriodicJob', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('runs every interval, never two rounds at once, and stop waits for the round in flight', async () => {
    const { logger } = aLogger();
    let rounds = 0;
    let running = 0;
    let finish = deferred();
    const job = new PeriodicJob({
      name: 'test',
      intervalMs: 100,
      logger,
      run: async () => {
        rounds++;
        running++;
        await finish.promise;
        running--;
      },
    });
    job.start();
    job.start(); // twice is once
    await vi.advanceTimersByTimeAsync(99);
    expect(rounds).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(rounds).toBe(1);
    // A slow round: no second round starts behind it.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(rounds).toBe(1);
    finish.resolve();
    finish = deferred();
    await vi.advanceTimersByTimeAsync(100);
    expect(rounds).toBe(2);

    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish.resolve();
    await stopping;
    expect(running).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(rounds).toBe(2);
  });

  it('keeps going through failures, logging when they start and when they stop', async () => {
    const { logger, lines } = aLogger();
    let failing = true;
    let rounds = 0;
    const job = new PeriodicJob({
      name: 'flaky',
      intervalMs: 10,
      logger,
      run: async () => {
        rounds++;
        if (failing) throw new Error('redis down');
      },
    });
    job.start();
    await vi.advanceTimersByTimeAsync(50);
    expect(rounds).toBe(5);
    failing = false;
    await vi.advanceTimersByTimeAsync(20);
    await job.stop();
    expect(lines.map((line) => [line.msg, line.job])).toEqual([
      ['job failed; retrying every interval', 'flaky'],
      ['job recovered', 'flaky'],
    ]);
    expect(lines[0]).toMatchObject({ level: 40, err: { message: 'redis down' } });
  });

  it('does nothing once stopped, even if started again', async () => {
    const { logger } = aLogger();
    const run = vi.fn(async () => {});
    const job = new PeriodicJob({ name: 'never', intervalMs: 10, logger, run });
    await job.stop();
    job.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(run).not.toHaveBeenCalled();
  });
});
