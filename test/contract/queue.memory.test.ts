import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import type { AdmissionRules } from '../../core/domain/queue.js';
import { describeQueueContract } from './queue.contract.js';

describeQueueContract('memory', async () => {
  const queue = new MemoryQueue();
  return { queue, remnants: async (token) => queue.remnantsOf(token), cleanup: async () => {} };
});

describe('MemoryQueue', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const at = (ms: number) => new Date(t0.getTime() + ms);
  const rules = (activeMax: number, activeTtlMs = 1_000, presenceTimeoutMs = 60_000): AdmissionRules => ({ activeMax, activeTtlMs, presenceTimeoutMs });

  it('forgets a spent token at the first round after its expiry: nothing outlives its token', async () => {
    const queue = new MemoryQueue();
    const { token } = await queue.issue('u1', 'token-0000000000000001', t0);
    await queue.admit(t0, rules(1));
    await queue.expire(token, at(100));
    expect(queue.snapshot().spent).toEqual([{ token, userId: 'u1', expiresAt: at(1_000).getTime() }]);
    await queue.admit(at(999), rules(1));
    expect(queue.snapshot().spent).toHaveLength(1);
    await queue.admit(at(1_000), rules(1));
    expect(queue.snapshot()).toEqual({ waiting: [], active: [], spent: [] });
  });

  it('keeps each waiter with its last sighting, and leaves nothing of a dropped one in its state', async () => {
    const queue = new MemoryQueue();
    const issued = [];
    for (let i = 1; i <= 4; i++) issued.push((await queue.issue(`u${i}`, `token-000000000000000${i}`, t0)).token);
    await queue.current('u3', at(500));
    await queue.issue('u4', 'token-never-used-000001', at(700));
    expect(queue.snapshot().waiting.map(({ userId, seenAt }) => [userId, seenAt - t0.getTime()])).toEqual([
      ['u1', 0],
      ['u2', 0],
      ['u3', 500],
      ['u4', 700],
    ]);
    await expect(queue.admit(at(100), rules(1, 1_000, 100))).resolves.toMatchObject({ admitted: 1, dropped: 2 });
    expect(queue.snapshot()).toEqual({
      waiting: [{ token: issued[3], userId: 'u4', seq: 4, seenAt: at(700).getTime() }],
      active: [{ token: issued[2], userId: 'u3', seq: 3, expiresAt: at(1_100).getTime() }],
      spent: [],
    });
    for (const token of [issued[0], issued[1], 'token-never-used-000001']) expect(queue.remnantsOf(token as string)).toEqual([]);
  });
});
