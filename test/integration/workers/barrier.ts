/**
 * A start line for worker processes: each says it is ready, then blocks
 * until the test opens the barrier for all of them at once, so that their
 * requests really race instead of following each process's start-up time.
 */
import { Redis } from 'ioredis';

/** Worker side: resolves when the test opens the barrier `key` (fails after 30 s). */
export async function waitAtBarrier(url: string, key: string): Promise<void> {
  // BLPOP blocks: a connection of its own, without the app client's one-second command timeout.
  const blocking = new Redis(url);
  try {
    await blocking.incr(`${key}:ready`);
    if ((await blocking.blpop(`${key}:go`, 30)) === null) throw new Error('the barrier never opened');
  } finally {
    blocking.disconnect();
  }
}

/**
 * Test side: waits until `count` workers are at the barrier, runs
 * `beforeGo` (the last set-up that must be fresh when the race starts),
 * then lets them all go.
 */
export async function openBarrier(redis: Redis, key: string, count: number, beforeGo: () => Promise<void> = async () => {}): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Number(await redis.get(`${key}:ready`)) < count) {
    if (Date.now() > deadline) throw new Error(`only ${await redis.get(`${key}:ready`)} of ${count} workers reached the barrier`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await beforeGo();
  await redis.rpush(`${key}:go`, ...Array<string>(count).fill('go'));
}
