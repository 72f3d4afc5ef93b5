import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { CacheObserver, CachePort, CacheRead } from '../../core/ports/cache.port.js';
import { REFRESH_BURST, freshness } from '../../core/support/cache-freshness.js';
import type { BreakerState } from '../../core/support/circuit-breaker.js';
import { CircuitBreaker, CircuitOpenError } from '../../core/support/circuit-breaker.js';
import { SingleFlight, jitter } from '../../core/support/single-flight.js';
import { STORE_ENTRY, decodeEntry, encodeEntry } from './cache-envelope.js';
import type { CacheLeaseSettings, LeaseKeys } from './cache-lease.js';
import { CACHE_LEASE, leaseHolderId, releaseLease, tryLease, tryRefresh } from './cache-lease.js';

/** What a Redis call of the cache was for: a read, the store after a load, or an invalidation. */
export type CacheOperation = 'read' | 'store' | 'invalidate';

/**
 * The breaker in front of the cache's Redis calls.
 *
 * - Two failures in a row open it. One failure alone is a blip (a reconnect,
 *   one slow reply) and costs a single read one timeout; two in a row with
 *   no success between them, on a Redis that answers in microseconds, is a
 *   Redis that is gone or hung. Opening is cheap to get wrong: reads go to
 *   the database, which is what failing open does anyway; opening late is
 *   not: every read pays the 1 s command timeout.
 * - One second open before a probe: the client reconnects at most once a
 *   second (create-redis.ts), so probing more often would not find Redis
 *   back sooner; while Redis stays hung, one read a second (plus the probe's
 *   own timeout) pays the timeout instead of all of them, and the cache is
 *   used again within about a second of Redis answering.
 */
export const CACHE_BREAKER = { failureThreshold: 2, openMs: 1_000 } as const;

/**
 * Invalidations not yet delivered are remembered up to this many keys (a
 * catalog's keys: its concert list, one availability per concert, one seat
 * map per schedule). Past it, a key is dropped and counted as an error, and
 * its staleness is bounded by its TTL alone, as before this list existed.
 */
/**
 * After a refused refresh, this share of `refreshMs` without asking again:
 * at most five script calls per key and interval from one instance instead
 * of one per stale read. The staleness bound does not move: an entry too old
 * to serve is a miss whatever this says.
 */
export const REFRESH_BACKOFF = 0.2;

const MAX_REFUSALS_REMEMBERED = 10_000;

export const MAX_UNDELIVERED_INVALIDATIONS = 10_000;

export interface RedisCacheOptions extends CacheObserver {
  /** Namespace: values at `<prefix>cache:v<version>:<key>`, generations at `<prefix>cache-gen:<key>`, leases at `<prefix>cache-lease:<key>`. */
  readonly prefix: string;
  /** A Redis call the open breaker did not make: a read or store that went without the cache, or an invalidation kept for later. */
  readonly onShortCircuit?: (operation: CacheOperation) => void;
  /** The breaker's settings (CACHE_BREAKER by default) and who is told when it changes state. */
  readonly breaker?: {
    readonly failureThreshold?: number;
    readonly openMs?: number;
    readonly now?: () => number;
    readonly onStateChange?: (state: BreakerState) => void;
  };
  /** The cross-instance single-flight (CACHE_LEASE by default); `false` leaves the in-process one alone (to show what the lease adds). */
  readonly lease?: Partial<CacheLeaseSettings> | false;
  /** The clock entries' load and stale times are judged on (epoch ms). */
  readonly now?: () => number;
}

interface Keys extends LeaseKeys {
  readonly key: string;
}

type Judged = { readonly state: 'fresh' | 'stale'; readonly value: unknown } | { readonly state: 'unusable' };

/**
 * Cache-aside on Redis, shared by every instance (DESIGN.md, "Cache").
 *
 * - Each entry carries a stamp (cache-envelope.ts): the key's generation
 *   when its load began, when it began, and when it stops being true by
 *   itself. An invalidation bumps the generation and leaves the value: a
 *   read that accepts stale entries (`refreshMs`) is served it while one
 *   reader in the cluster reloads it (a token bucket per key: a few at
 *   once, then one per `refreshMs`); any other read takes it for a miss
 *   (core/support/cache-freshness.ts). A refused refresh is not asked for
 *   again from this instance for REFRESH_BACKOFF of `refreshMs`: under a
 *   sale most reads are stale, and each would otherwise cost a script call.
 * - The shape version is part of the value's key: an entry of another
 *   version is never read.
 * - A miss is single-flight in this instance (SingleFlight) and across
 *   instances (a lease, cache-lease.ts): a cold key costs the cluster one load.
 * - TTLs are jittered; when Redis fails, reads go to the database and are
 *   counted (fail open).
 *
 * A circuit breaker (CACHE_BREAKER) stands in front of every Redis call, so
 * that a hung Redis costs a few reads the command timeout, not every read:
 * once open, reads go straight to the loader and stores are skipped.
 *
 * No invalidation is lost to a failing or short-circuited Redis. Its keys
 * wait in `undelivered`, and every Redis call of this cache delivers them
 * (and waits for a delivery already on its way) before it does its own
 * work. So, in this instance, nothing is read from Redis while an
 * invalidation it owes is undelivered: when the breaker closes, the probe
 * that closes it is the call that delivers them. Other instances may read
 * such a key as fresh until this one delivers it or its TTL ends,
 * whichever comes first.
 */
export class RedisCache implements CachePort {
  private readonly flights = new SingleFlight();
  /** Per key, until when this instance serves the stale entry without asking for a refresh (it was just refused). */
  private readonly refusedUntil = new Map<string, number>();
  private readonly breaker: CircuitBreaker;
  private readonly lease: CacheLeaseSettings | undefined;
  private readonly now: () => number;
  /** Keys whose invalidation has not reached Redis yet. */
  private readonly undelivered = new Set<string>();
  /** Deliveries on their way: a call waits for all of them before its own work. */
  private readonly deliveries = new Set<Promise<void>>();

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisCacheOptions,
  ) {
    this.lease = options.lease === false ? undefined : { ...CACHE_LEASE, ...options.lease };
    this.now = options.now ?? Date.now;
    this.breaker = new CircuitBreaker({
      failureThreshold: options.breaker?.failureThreshold ?? CACHE_BREAKER.failureThreshold,
      openMs: options.breaker?.openMs ?? CACHE_BREAKER.openMs,
      ...(options.breaker?.now === undefined ? {} : { now: options.breaker.now }),
      ...(options.breaker?.onStateChange === undefined ? {} : { onStateChange: options.breaker.onStateChange }),
    });
  }

  /** Invalidations kept for later (a gauge reads it). */
  get undeliveredInvalidations(): number {
    return this.undelivered.size;
  }

  async getOrLoad<T>(key: string, read: CacheRead<T>, load: () => Promise<T>): Promise<T> {
    const keys = this.keysOf(key, read.version);
    let cached: [string | null, string | null];
    try {
      cached = (await this.call(() => this.redis.mget(keys.value, keys.generation))) as [string | null, string | null];
    } catch (error) {
      this.failed('read', error, key);
      return this.flights.run(key, () => this.loadOnly(key, load));
    }
    const judged = this.judge(cached[0], cached[1], read);
    if (judged.state === 'fresh') {
      this.options.onEvent?.('hit', key);
      return judged.value as T;
    }
    if (judged.state === 'stale') return this.refreshOrStale(keys, read, load, judged.value as T);
    this.options.onEvent?.('miss', key);
    const lease = this.lease;
    return this.flights.run(key, () => (lease === undefined ? this.loadAndStore(keys, read, load, cached[1]) : this.loadShared(keys, lease, read, load)));
  }

  /**
   * A miss, with the cluster: take the lease and load, or wait for the
   * holder's value. A lease found free again (its holder released it
   * without a value, or died and it expired) is tried again, so that still
   * one waiter loads; past the wait bound, the waiter loads itself.
   */
  private async loadShared<T>(keys: Keys, lease: CacheLeaseSettings, read: CacheRead<T>, load: () => Promise<T>): Promise<T> {
    const deadline = this.now() + lease.waitMs;
    const holder = leaseHolderId();
    for (;;) {
      let attempt;
      try {
        attempt = await this.call(() => tryLease(this.redis, keys, holder, lease.leaseMs));
      } catch (error) {
        this.failed('read', error, keys.key);
        return this.loadOnly(keys.key, load);
      }
      const judged = this.judge(attempt.value, attempt.generation, read);
      if (judged.state !== 'unusable') {
        // A holder stored it just before: no second load.
        if (attempt.acquired) await this.release(keys, holder);
        return judged.value as T;
      }
      if (attempt.acquired) return this.holdAndLoad(keys, holder, read, load, attempt.generation);
      let waited;
      try {
        waited = await this.waitForHolder(keys, read, deadline, lease.pollMs);
      } catch (error) {
        this.failed('read', error, keys.key);
        return this.loadOnly(keys.key, load);
      }
      if (waited.state !== 'unusable') return waited.value as T;
      // The wait bound passed with the holder still loading (or hung): load as if there were no lease.
      if (!waited.leaseFree) return this.loadAndStore(keys, read, load, waited.generation);
    }
  }

  private async holdAndLoad<T>(keys: Keys, holder: string, read: CacheRead<T>, load: () => Promise<T>, generation: string | null): Promise<T> {
    try {
      return await this.loadAndStore(keys, read, load, generation);
    } finally {
      await this.release(keys, holder);
    }
  }

  /** Polls the value until it can be served, the lease is free, or the deadline; answers what the last poll saw. */
  private async waitForHolder(
    keys: Keys,
    read: Pick<CacheRead<unknown>, 'refreshMs'>,
    deadline: number,
    pollMs: number,
  ): Promise<(Judged & { readonly state: 'fresh' | 'stale' }) | { readonly state: 'unusable'; readonly leaseFree: boolean; readonly generation: string | null }> {
    for (;;) {
      await sleep(pollMs);
      const [value, generation, leaseHolder] = (await this.call(() => this.redis.mget(keys.value, keys.generation, keys.lease))) as [
        string | null,
        string | null,
        string | null,
      ];
      const judged = this.judge(value, generation, read);
      if (judged.state !== 'unusable') return judged;
      if (leaseHolder === null || this.now() >= deadline) return { state: 'unusable', leaseFree: leaseHolder === null, generation };
    }
  }

  /**
   * A stale entry: the reader that gets a refresh token and the key's lease
   * (cache-lease.ts) reloads it and is answered the new value; every other
   * reader meanwhile, in any instance, is served the stale one. So reloads
   * of a key follow the token bucket, whatever the read rate.
   */
  private async refreshOrStale<T>(keys: Keys, read: CacheRead<T>, load: () => Promise<T>, stale: T): Promise<T> {
    const served = () => {
      this.options.onEvent?.('stale', keys.key);
      return stale;
    };
    if (this.flights.running(keys.key) || this.now() < (this.refusedUntil.get(keys.key) ?? 0)) return served();
    const holder = leaseHolderId();
    let attempt;
    try {
      const settings = { now: this.now(), burst: REFRESH_BURST, refreshMs: read.refreshMs ?? 0, leaseMs: this.lease?.leaseMs ?? CACHE_LEASE.leaseMs };
      attempt = await this.call(() => tryRefresh(this.redis, keys, holder, settings));
    } catch (error) {
      this.failed('read', error, keys.key);
      return served();
    }
    if (!attempt.acquired) {
      this.refusedFor(keys.key, (read.refreshMs ?? 0) * REFRESH_BACKOFF);
      return served();
    }
    const judged = this.judge(attempt.value, attempt.generation, read);
    if (judged.state === 'fresh') {
      // Another instance refreshed it just before.
      await this.release(keys, holder);
      this.options.onEvent?.('hit', keys.key);
      return judged.value as T;
    }
    this.options.onEvent?.('miss', keys.key);
    return this.flights.run(keys.key, () => this.holdAndLoad(keys, holder, read, load, attempt.generation));
  }

  private refusedFor(key: string, ms: number): void {
    // Catalog keys are few (a list, a key per concert and per schedule); the memo only saves calls, so a full one starts again.
    if (this.refusedUntil.size >= MAX_REFUSALS_REMEMBERED) this.refusedUntil.clear();
    this.refusedUntil.set(key, this.now() + ms);
  }

  /**
   * Loads and stores under the generation read before the load began: an
   * invalidation during the load leaves the entry stale, never fresh.
   */
  private async loadAndStore<T>(keys: Keys, read: CacheRead<T>, load: () => Promise<T>, generation: string | null): Promise<T> {
    const loadedAt = this.now();
    const value = await this.loadOnly(keys.key, load);
    const stamp = { generation: Number(generation ?? 0), loadedAt, staleAt: read.staleAt?.(value) };
    try {
      await this.call(() => STORE_ENTRY.run(this.redis, [keys.value], [stamp.generation, encodeEntry(stamp, value), jitter(read.ttlMs)]));
    } catch (error) {
      this.failed('store', error, keys.key);
    }
    return value;
  }

  /** A load the cache runs, counted. */
  private loadOnly<T>(key: string, load: () => Promise<T>): Promise<T> {
    this.options.onLoad?.(key);
    return load();
  }

  private async release(keys: Keys, holder: string): Promise<void> {
    try {
      await this.call(() => releaseLease(this.redis, keys.lease, holder));
    } catch (error) {
      // The lease ends on its own within leaseMs.
      this.failed('store', error, keys.key);
    }
  }

  private judge(raw: string | null, generation: string | null, read: Pick<CacheRead<unknown>, 'refreshMs'>): Judged {
    const entry = decodeEntry(raw);
    if (entry === undefined) return { state: 'unusable' };
    const state = freshness(entry, Number(generation ?? 0), this.now(), read);
    return state === 'unusable' ? { state } : { state, value: entry.value };
  }

  async invalidate(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) {
      this.owe(key);
      // This instance's own write: its next read may refresh at once (a buyer sees their own hold).
      this.refusedUntil.delete(key);
    }
    // Nothing to send (the list was full): no call, lest a call that sends nothing pass for a probe that reached Redis.
    if (this.undelivered.size === 0 && this.deliveries.size === 0) return;
    try {
      // Delivering is the whole call: `call` delivers what is owed before its work.
      await this.call(async () => {});
    } catch (error) {
      for (const key of keys) this.failed('invalidate', error, key);
    }
  }

  /** The health check asks Redis itself, past the breaker: it reports what is true now. */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /**
   * One Redis call through the breaker, after the invalidations this
   * instance owes. With none owed, `work` is sent at once, in the caller's
   * turn: a read's generation is then read before any invalidation called
   * after it, as the store's check expects.
   */
  private call<T>(work: () => Promise<T>): Promise<T> {
    return this.breaker.run(() => (this.deliveries.size === 0 && this.undelivered.size === 0 ? work() : this.deliverOwed().then(work)));
  }

  private owe(key: string): void {
    if (this.undelivered.size >= MAX_UNDELIVERED_INVALIDATIONS && !this.undelivered.has(key)) {
      this.options.onEvent?.('error', key);
      return;
    }
    this.undelivered.add(key);
  }

  /**
   * Delivers every invalidation owed when it was called: sends those not on
   * their way yet, and waits for them together with the deliveries already
   * on their way (other callers' keys). In parallel, so that the wait is one
   * command timeout at most, however many there are; deletes in any order
   * come to the same. Fails if any of them does (its keys are owed again).
   */
  private async deliverOwed(): Promise<void> {
    if (this.undelivered.size > 0) this.send([...this.undelivered]);
    await Promise.all(this.deliveries);
  }

  private send(keys: readonly string[]): void {
    this.undelivered.clear();
    const pipeline = this.redis.pipeline();
    // The generation only: the value stays, stale, for reads that accept stale entries while one reloads.
    for (const key of keys) pipeline.incr(this.generationKey(key));
    const delivery = (async () => {
      const results = await pipeline.exec();
      const failure = results?.find(([error]) => error !== null)?.[0];
      if (failure !== undefined) throw failure;
    })().catch((error: unknown) => {
      // Not delivered (or not known to be): owed again; deleting twice is harmless.
      for (const key of keys) this.owe(key);
      throw error;
    });
    this.deliveries.add(delivery);
    // Its callers see its outcome through deliverOwed; this chain only forgets it.
    delivery.finally(() => this.deliveries.delete(delivery)).catch(() => undefined);
  }

  private failed(operation: CacheOperation, error: unknown, key: string): void {
    if (error instanceof CircuitOpenError) this.options.onShortCircuit?.(operation);
    else this.options.onEvent?.('error', key);
  }

  private keysOf(key: string, version: number): Keys {
    return {
      key,
      value: `${this.options.prefix}cache:v${version}:${key}`,
      generation: this.generationKey(key),
      lease: `${this.options.prefix}cache-lease:${key}`,
      refreshBucket: `${this.options.prefix}cache-refresh:${key}`,
    };
  }

  private generationKey(key: string): string {
    return `${this.options.prefix}cache-gen:${key}`;
  }
}
