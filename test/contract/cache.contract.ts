import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheEvent, CacheObserver, CachePort, CacheRead } from '../../core/ports/cache.port.js';
import { REFRESH_BURST, staleLimitMs } from '../../core/support/cache-freshness.js';
import { deferred } from '../support/deferred.js';

export interface CacheFixture {
  readonly cache: CachePort;
  /** What the cache reported, in order. */
  readonly events: CacheEvent[];
  /** The cache's clock (epoch ms). */
  now(): number;
  /** Lets `ms` pass for the cache's TTLs (memory: the clock moves; Redis: real time). */
  pass(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

const TTL_MS = 150;
const LONG: CacheRead<unknown> = { ttlMs: 60_000, version: 1 };
const SHORT: CacheRead<unknown> = { ttlMs: TTL_MS, version: 1 };
const REFRESH_MS = 100;
const REFRESHING: CacheRead<unknown> = { ttlMs: 60_000, version: 1, refreshMs: REFRESH_MS };

/** An observer that records into `events`, for the fixtures. */
export function recording(events: CacheEvent[]): CacheObserver {
  return { onEvent: (event) => events.push(event) };
}

/** What every CachePort promises; run against each adapter. */
export function describeCacheContract(name: string, createFixture: () => Promise<CacheFixture>): void {
  describeRefreshContract(name, createFixture);
  describe(`CachePort contract: ${name}`, () => {
    let fixture: CacheFixture;
    let cache: CachePort;
    let loads: number;
    const loader =
      <T>(value: T) =>
      async () => {
        loads++;
        return value;
      };

    beforeEach(async () => {
      fixture = await createFixture();
      cache = fixture.cache;
      loads = 0;
    });
    afterEach(async () => fixture.cleanup());

    it('loads on a miss, then answers from the cache', async () => {
      const value = { concerts: [{ id: 'c1', title: 'Night', venue: 'Hall' }] };
      await expect(cache.getOrLoad('k', LONG, loader(value))).resolves.toEqual(value);
      await expect(cache.getOrLoad('k', LONG, loader({ other: true }))).resolves.toEqual(value);
      expect(loads).toBe(1);
    });

    it('makes one load for concurrent misses of one key (single-flight)', async () => {
      const gate = deferred<string>();
      const load = async () => {
        loads++;
        return gate.promise;
      };
      const readers = Array.from({ length: 10 }, () => cache.getOrLoad('hot', LONG, load));
      gate.resolve('v');
      await expect(Promise.all(readers)).resolves.toEqual(Array(10).fill('v'));
      expect(loads).toBe(1);
    });

    it('loads again once the TTL has passed', async () => {
      await cache.getOrLoad('k', SHORT, loader(1));
      await fixture.pass(TTL_MS + 50);
      await expect(cache.getOrLoad('k', SHORT, loader(2))).resolves.toBe(2);
      expect(loads).toBe(2);
    });

    it('loads again after an invalidation, and leaves other keys alone', async () => {
      await cache.getOrLoad('a', LONG, loader('a1'));
      await cache.getOrLoad('b', LONG, loader('b1'));
      await cache.invalidate('a');
      await expect(cache.getOrLoad('a', LONG, loader('a2'))).resolves.toBe('a2');
      await expect(cache.getOrLoad('b', LONG, loader('b2'))).resolves.toBe('b1');
    });

    it('does not keep as current a load that an invalidation overtook (it may be stale)', async () => {
      const gate = deferred<string>();
      const loading = deferred<void>();
      const reader = cache.getOrLoad('k', LONG, async () => {
        loads++;
        loading.resolve();
        return gate.promise;
      });
      // The load has begun (it may have read the row already) when the writer's invalidation comes.
      await loading.promise;
      await cache.invalidate('k');
      gate.resolve('read before the write');
      await expect(reader).resolves.toBe('read before the write');
      await expect(cache.getOrLoad('k', LONG, loader('fresh'))).resolves.toBe('fresh');
    });

    it('passes a failed load on and caches nothing', async () => {
      const boom = new Error('db down');
      await expect(cache.getOrLoad('k', LONG, () => Promise.reject(boom))).rejects.toBe(boom);
      await expect(cache.getOrLoad('k', LONG, loader('ok'))).resolves.toBe('ok');
    });

    it('drops every key of one invalidation, and accepts keys it never held and no keys at all', async () => {
      await cache.getOrLoad('a', LONG, loader('a1'));
      await cache.getOrLoad('b', LONG, loader('b1'));
      await expect(cache.invalidate('a', 'never-stored', 'b')).resolves.toBeUndefined();
      await expect(cache.invalidate()).resolves.toBeUndefined();
      await expect(cache.getOrLoad('a', LONG, loader('a2'))).resolves.toBe('a2');
      await expect(cache.getOrLoad('b', LONG, loader('b2'))).resolves.toBe('b2');
    });

    it('keeps serving what it holds after loads fail: a failing database is not a failing cache', async () => {
      await cache.getOrLoad('kept', LONG, loader('cached'));
      // Together, so that the failures come in a row, as in a database outage.
      const failing = Array.from({ length: 5 }, (_, i) => cache.getOrLoad(`missing-${i}`, LONG, () => Promise.reject(new Error('db down'))));
      for (const read of failing) await expect(read).rejects.toThrow('db down');
      await expect(cache.getOrLoad('kept', LONG, loader('from the database'))).resolves.toBe('cached');
      expect(loads).toBe(1);
    });

    it('answers ping while it is up', async () => {
      await expect(cache.ping()).resolves.toBeUndefined();
    });
  });
}

/** Versions, stale times, and stale-while-revalidate (`refreshMs`). */
function describeRefreshContract(name: string, createFixture: () => Promise<CacheFixture>): void {
  describe(`CachePort contract, versions and staleness: ${name}`, () => {
    let fixture: CacheFixture;
    let cache: CachePort;
    let loads: number;
    const loader =
      <T>(value: T) =>
      async () => {
        loads++;
        return value;
      };

    beforeEach(async () => {
      fixture = await createFixture();
      cache = fixture.cache;
      loads = 0;
    });
    afterEach(async () => fixture.cleanup());

    it('never reads an entry stored under another shape version as current', async () => {
      await cache.getOrLoad('k', { ttlMs: 60_000, version: 1 }, loader('shape 1'));
      await expect(cache.getOrLoad('k', { ttlMs: 60_000, version: 2 }, loader('shape 2'))).resolves.toBe('shape 2');
      await expect(cache.getOrLoad('k', { ttlMs: 60_000, version: 2 }, loader('again'))).resolves.toBe('shape 2');
      expect(loads).toBe(2);
    });

    it('takes an entry for a miss once its stale time has passed (a hold it shows ended), long before its TTL', async () => {
      const read: CacheRead<string> = { ttlMs: 60_000, version: 1, staleAt: () => fixture.now() + 100 };
      await cache.getOrLoad('k', read, loader('held'));
      await expect(cache.getOrLoad('k', read, loader('not yet'))).resolves.toBe('held');
      await fixture.pass(150);
      await expect(cache.getOrLoad('k', read, loader('ended'))).resolves.toBe('ended');
      expect(loads).toBe(2);
    });

    it('with refreshMs, serves a stale entry to the others while the reader with the token reloads it', async () => {
      await cache.getOrLoad('k', REFRESHING, loader('before'));
      await cache.invalidate('k');
      const gate = deferred<string>();
      const reloading = cache.getOrLoad('k', REFRESHING, async () => {
        loads++;
        return gate.promise;
      });
      await expect(cache.getOrLoad('k', REFRESHING, loader('second reload'))).resolves.toBe('before');
      gate.resolve('after');
      await expect(reloading).resolves.toBe('after');
      await expect(cache.getOrLoad('k', REFRESHING, loader('third'))).resolves.toBe('after');
      expect(loads).toBe(2);
      expect(fixture.events).toContain('stale');
      expect(fixture.events.at(-1)).toBe('hit');
    });

    it(`with refreshMs, reloads a key at most ${REFRESH_BURST} + 1 per interval times under a stream of invalidations, serving the rest stale`, async () => {
      await cache.getOrLoad('k', REFRESHING, loader(0));
      const started = fixture.now();
      const rounds = 30;
      for (let i = 1; i <= rounds; i++) {
        await cache.invalidate('k');
        await cache.getOrLoad('k', REFRESHING, loader(i));
      }
      const intervals = Math.floor((fixture.now() - started) / REFRESH_MS);
      // Without the bucket, every read after an invalidation would reload: rounds + 1 loads.
      expect(loads - 1).toBeGreaterThanOrEqual(REFRESH_BURST);
      expect(loads - 1).toBeLessThanOrEqual(REFRESH_BURST + intervals + 1);
      expect(fixture.events.filter((event) => event === 'stale').length).toBeGreaterThanOrEqual(rounds - REFRESH_BURST - intervals - 1);
    });

    it('with refreshMs, shows a change once the stale limit has passed, even with no token left', async () => {
      await cache.getOrLoad('k', REFRESHING, loader('v0'));
      for (let i = 1; i <= REFRESH_BURST + 3; i++) {
        await cache.invalidate('k');
        await cache.getOrLoad('k', REFRESHING, loader(`v${i}`));
      }
      await cache.invalidate('k');
      await fixture.pass(staleLimitMs(REFRESH_MS) + 20);
      await expect(cache.getOrLoad('k', REFRESHING, loader('the last write'))).resolves.toBe('the last write');
    });

    it('without refreshMs, never serves an entry an invalidation made stale', async () => {
      await cache.getOrLoad('k', LONG, loader('before'));
      for (let i = 0; i < REFRESH_BURST + 3; i++) {
        await cache.invalidate('k');
        await expect(cache.getOrLoad('k', LONG, loader(`write ${i}`))).resolves.toBe(`write ${i}`);
      }
      expect(fixture.events).not.toContain('stale');
    });
  });
}
