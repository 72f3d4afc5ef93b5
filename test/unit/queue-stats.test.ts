import { describe, expect, it } from 'vitest';
import { GetQueueStats } from '../../core/usecases/queue/get-queue-stats.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';

describe('GetQueueStats: the line for a live view', () => {
  it('counts waiting and ACTIVE tokens, and gives the admission rate only once the line was backlogged', async () => {
    const clock = new ManualClock();
    const uc = queueUseCases(clock, { settings: { activeMax: 2, admitIntervalMs: 1_000 } });
    const stats = new GetQueueStats(uc.queue, clock, uc.rate);
    expect(await stats.execute()).toEqual({ waiting: 0, active: 0, admittedPerMinute: null });

    for (const userId of ['a', 'b', 'c', 'd']) await uc.issueToken.execute({ userId });
    expect(await stats.execute()).toEqual({ waiting: 4, active: 0, admittedPerMinute: null });

    await uc.admitWaiters.execute();
    // One round is no span yet: nothing to measure a rate over.
    expect(await stats.execute()).toEqual({ waiting: 2, active: 2, admittedPerMinute: null });

    await uc.leaveQueue.execute('a');
    clock.advance(1_000);
    await uc.admitWaiters.execute();
    // One admitted in the 1 s between two backlogged rounds: 60 a minute.
    expect(await stats.execute()).toEqual({ waiting: 1, active: 2, admittedPerMinute: 60 });
  });
});
