import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { describeQueueContract } from './queue.contract.js';

describeQueueContract('memory', async () => ({ queue: new MemoryQueue(), cleanup: async () => {} }));

describe('MemoryQueue', () => {
  it('forgets a spent token at the first round after its expiry: nothing outlives its token', async () => {
    const queue = new MemoryQueue();
    const t0 = new Date('2026-01-01T00:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const { token } = await queue.issue('u1', 'token-0000000000000001', t0);
    await queue.admit(t0, 1, 1_000);
    await queue.expire(token, at(100));
    expect(queue.snapshot().spent).toEqual([{ token, userId: 'u1', expiresAt: at(1_000).getTime() }]);
    await queue.admit(at(999), 1, 1_000);
    expect(queue.snapshot().spent).toHaveLength(1);
    await queue.admit(at(1_000), 1, 1_000);
    expect(queue.snapshot()).toEqual({ waiting: [], active: [], spent: [] });
  });
});
