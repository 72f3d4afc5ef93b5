/**
 * One OS process of the multi-process admission test: an app instance's
 * admission use case on the real Redis queue. It waits at a barrier so that
 * every process starts at once, then runs `ROUNDS` admission rounds
 * concurrently and prints one JSON line with what each admitted and dropped.
 * Its clock stands still at NOW_MS: the test decides who is absent by then,
 * not the machine's speed.
 */
import { Redis } from 'ioredis';
import { createRedis } from '../../../adapters/redis/create-redis.js';
import { RedisQueue } from '../../../adapters/redis/redis-queue.js';
import { AdmissionRate } from '../../../core/usecases/queue/admission-rate.js';
import { AdmitWaiters } from '../../../core/usecases/queue/admit-waiters.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
}

const url = required('REDIS_URL');
const barrier = required('BARRIER_KEY');
const now = new Date(Number(required('NOW_MS')));
const redis = createRedis(url);
// BLPOP blocks: its own connection, without the app client's one-second command timeout.
const blocking = new Redis(url);
const admit = new AdmitWaiters(new RedisQueue(redis, { prefix: required('REDIS_PREFIX') }), { now: () => now }, new AdmissionRate(), {
  activeMax: Number(required('ACTIVE_MAX')),
  activeTtlMs: 600_000,
  presenceTimeoutMs: Number(required('PRESENCE_TIMEOUT_MS')),
});

await redis.incr(`${barrier}:ready`);
if ((await blocking.blpop(`${barrier}:go`, 30)) === null) throw new Error('the barrier never opened');
const results = await Promise.all(Array.from({ length: Number(required('ROUNDS')) }, () => admit.execute()));
process.stdout.write(`${JSON.stringify({ admitted: results.map((r) => r.admitted), dropped: results.map((r) => r.dropped) })}\n`);
blocking.disconnect();
redis.disconnect();
