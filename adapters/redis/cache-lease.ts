import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LuaScript } from './lua-script.js';

/**
 * The cross-instance single-flight of the Redis cache. On a miss, one
 * reader in the cluster takes a short lease on the key (`SET NX PX`), loads
 * and stores; the others poll the value until it is there, the lease is
 * gone (released without a value, or expired with a holder that died), or
 * their wait bound has passed, and then load themselves.
 *
 * - `leaseMs` 1 s: a catalog load takes milliseconds; a holder that dies
 *   mid-load holds the others back this long at most.
 * - `waitMs` 1 s: a waiter never waits longer than a holder may hold; past
 *   it (a holder that hangs) it loads itself, as if there were no cache.
 * - `pollMs` 5 ms: a waiter's GET every 5 ms costs Redis microseconds and
 *   adds at most 5 ms to the wait; one waiter per key per instance polls
 *   (the in-process single-flight stands in front).
 */
export const CACHE_LEASE = { leaseMs: 1_000, waitMs: 1_000, pollMs: 5 } as const;

export interface CacheLeaseSettings {
  readonly leaseMs: number;
  readonly waitMs: number;
  readonly pollMs: number;
}

/**
 * Takes the lease if free, and reads the value and generation in the same
 * step: a holder that stored and released just before is then seen, and
 * its value used, instead of loading a second time.
 */
const ACQUIRE = new LuaScript(`
local acquired = redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return { acquired and 1 or 0, redis.call('get', KEYS[2]), redis.call('get', KEYS[3]) }
`);

/** Deletes the lease only if it is still this holder's (an expired one may be another's by now). */
const RELEASE = new LuaScript(`
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
`);

/**
 * A stale entry's refresh: a token from the key's bucket (REFRESH_BURST,
 * one back per refreshMs; core/support/cache-freshness.ts) and the lease,
 * both or neither, with the value and generation read in the same step.
 * Times come from the caller's clock; a bucket never runs backwards.
 */
const TAKE_REFRESH = new LuaScript(`
if redis.call('exists', KEYS[1]) == 1 then return { 0, false, false } end
local now, burst, refreshMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('hmget', KEYS[4], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now < at then now = at end
tokens = math.min(burst, tokens + (now - at) / refreshMs)
if tokens < 1 then
  redis.call('hset', KEYS[4], 'tokens', tostring(tokens), 'at', tostring(now))
  return { 0, false, false }
end
redis.call('hset', KEYS[4], 'tokens', tostring(tokens - 1), 'at', tostring(now))
redis.call('pexpire', KEYS[4], math.ceil(burst * refreshMs * 2))
redis.call('set', KEYS[1], ARGV[4], 'PX', ARGV[5])
return { 1, redis.call('get', KEYS[2]), redis.call('get', KEYS[3]) }
`);

export interface LeaseKeys {
  readonly lease: string;
  /** The refresh token bucket of the key. */
  readonly refreshBucket: string;
  readonly value: string;
  readonly generation: string;
}

export interface LeaseAttempt {
  readonly acquired: boolean;
  readonly value: string | null;
  readonly generation: string | null;
}

export async function tryLease(redis: Redis, keys: LeaseKeys, holder: string, leaseMs: number): Promise<LeaseAttempt> {
  const [acquired, value, generation] = (await ACQUIRE.run(redis, [keys.lease, keys.value, keys.generation], [holder, leaseMs])) as [
    number,
    string | null,
    string | null,
  ];
  return { acquired: acquired === 1, value, generation };
}

export interface RefreshSettings {
  readonly now: number;
  readonly burst: number;
  readonly refreshMs: number;
  readonly leaseMs: number;
}

export async function tryRefresh(redis: Redis, keys: LeaseKeys, holder: string, settings: RefreshSettings): Promise<LeaseAttempt> {
  const [acquired, value, generation] = (await TAKE_REFRESH.run(
    redis,
    [keys.lease, keys.value, keys.generation, keys.refreshBucket],
    [settings.now, settings.burst, settings.refreshMs, holder, settings.leaseMs],
  )) as [number, string | null, string | null];
  return { acquired: acquired === 1, value, generation };
}

export async function releaseLease(redis: Redis, leaseKey: string, holder: string): Promise<void> {
  await RELEASE.run(redis, [leaseKey], [holder]);
}

/** Unique per attempt: a holder tells its lease from a later holder's. */
export function leaseHolderId(): string {
  return `${process.pid}:${randomBytes(8).toString('hex')}`;
}
