import type { Redis } from 'ioredis';
import { RedisLock } from '../adapters/redis/redis-lock.js';
import type { Latency } from './support.js';
import { summarise } from './support.js';

export interface LockFigures {
  /** The ceiling: one PING round trip. */
  readonly ping: Latency;
  readonly oneKey: Latency;
  readonly threeKeys: Latency;
  /** A contended key passing from one instance to another (lockHandOver), n/5 samples. */
  readonly handOver: HandOverFigures;
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
  return { ping: summarise(ping), oneKey: summarise(one), threeKeys: summarise(three), handOver: await lockHandOver(redis, prefix, Math.ceil(n / 5)) };
}

export interface HandOverFigures {
  /** The ceiling: one PING round trip, interleaved with the hand-overs. */
  readonly ping: Latency;
  /** From the holder's release answered (its withLock resolved) to the waiter holding the key. */
  readonly gap: Latency;
  /** From the holder's release sent (its work returned) to the waiter holding the key: the gap plus the release's own round trip. */
  readonly gapFromSend: Latency;
}

/**
 * The hand-over of a contended key between two service instances: two
 * RedisLocks on clients of their own (each with its own subscriber), one
 * holding the key, the other waiting for it. Per sample: A takes the key;
 * B asks for it and has been refused once (a PING on B's connection answers
 * after B's first attempt has); A's work ends; the gap runs to B's work
 * starting. Polling, that gap was up to the poll interval (10 ms); woken by
 * the release, it is the waiter's one acquire round trip.
 */
export async function lockHandOver(redis: Redis, prefix: string, n: number): Promise<HandOverFigures> {
  // Connected before use: a copy of the app's client queues nothing while it connects (createRedis).
  const other = redis.duplicate({ lazyConnect: true });
  try {
    await other.connect();
    const holder = new RedisLock(redis, { prefix });
    const waiter = new RedisLock(other, { prefix });
    const ping: number[] = [];
    const gap: number[] = [];
    const fromSend: number[] = [];
    const key = 'bench:hand-over';
    for (let i = -100; i < n; i++) {
      // Negative i: warm-up (JIT, scripts, the waiter's subscription), not kept.
      const keep = i >= 0;
      const pingStart = performance.now();
      await redis.ping();
      if (keep) ping.push(performance.now() - pingStart);
      let release = (): void => undefined;
      let sentAt = 0;
      let held: Promise<void> = Promise.resolve();
      await new Promise<void>((entered) => {
        held = holder.withLock([key], async () => {
          entered();
          await new Promise<void>((resolve) => (release = resolve));
          sentAt = performance.now();
        }, { wait: { kind: 'fail-fast' } });
      });
      let heldAt = 0;
      const waited = waiter.withLock([key], async () => void (heldAt = performance.now()), { wait: { kind: 'wait', maxWaitMs: 2_000 } });
      await other.ping();
      release();
      await held;
      const answeredAt = performance.now();
      await waited;
      if (keep) {
        gap.push(Math.max(0, heldAt - answeredAt));
        fromSend.push(heldAt - sentAt);
      }
    }
    return { ping: summarise(ping), gap: summarise(gap), gapFromSend: summarise(fromSend) };
  } finally {
    other.disconnect();
  }
}
