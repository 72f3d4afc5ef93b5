import type { Redis } from 'ioredis';
import { RedisLock } from '../adapters/redis/redis-lock.js';
import type { Latency } from './support.js';
import { summarise } from './support.js';

export interface LockFigures {
  /** The ceiling: one PING round trip. */
  readonly ping: Latency;
  readonly oneKey: Latency;
  readonly threeKeys: Latency;
}

/**
 * withLock of the real adapter, empty work, on keys no one else holds:
 * acquire (+ fencing token) and release, nothing else; beside the bare
 * round trip it is made of (PING). Sequential, so every sample is a latency.
 *
 * Interleaved call by call (PING, 1 key, every other time 3 keys) rather
 * than in blocks: on a VM a loopback round trip is bimodal (about 12 µs
 * when the idle vCPU is still polling, about 75 µs once it has halted), and
 * which mode dominates drifts within seconds. Measured in blocks, the ratio
 * swung from 0.7x to 4.3x between runs; interleaved, both sides see the
 * same conditions and it stays put.
 */
export async function lockAndRoundTrip(redis: Redis, prefix: string, n: number): Promise<LockFigures> {
  const lock = new RedisLock(redis, { prefix });
  const options = { wait: { kind: 'wait', maxWaitMs: 2_000 } } as const;
  const empty = async () => undefined;
  const time = async (samples: number[], call: () => Promise<unknown>) => {
    const start = performance.now();
    await call();
    samples.push(performance.now() - start);
  };
  const ping: number[] = [];
  const one: number[] = [];
  const three: number[] = [];
  for (let i = -200; i < n; i++) {
    // Negative i: warm-up (JIT, script cache on the server), not kept.
    const keep = i >= 0;
    await time(keep ? ping : [], () => redis.ping());
    await time(keep ? one : [], () => lock.withLock([`bench:one:${i}`], empty, options));
    // Three keys, as a seat reservation takes (seats + reservation): acquired one by one in sorted order, released together.
    if (i % 2 === 0) await time(keep ? three : [], () => lock.withLock([`bench:a:${i}`, `bench:b:${i}`, `bench:c:${i}`], empty, options));
  }
  return { ping: summarise(ping), oneKey: summarise(one), threeKeys: summarise(three) };
}
