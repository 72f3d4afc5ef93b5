import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CachePort } from '../../core/ports/cache.port.js';
import { deferred } from '../support/deferred.js';

export interface CacheFixture {
  readonly cache: CachePort;
  /** Lets `ms` pass for the cache's TTLs (memory: the clock moves; Redis: real time). */
  pass(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

const TTL_MS = 150;

/** What every CachePort promises; run against each adapter. */
export function describeCacheContract(name: string, createFixture: () => Promise<CacheFixture>): void {
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
      await expect(cache.getOrLoad('k', 60_000, loader(value))).resolves.toEqual(value);
      await expect(cache.getOrLoad('k', 60_000, loader({ other: true }))).resolves.toEqual(value);
      expect(loads).toBe(1);
    });

    it('makes one load for concurrent misses of one key (single-flight)', async () => {
      const gate = deferred<string>();
      const load = async () => {
        loads++;
        return gate.promise;
      };
      const readers = Array.from({ length: 10 }, () => cache.getOrLoad('hot', 60_000, load));
      gate.resolve('v');
      await expect(Promise.all(readers)).resolves.toEqual(Array(10).fill('v'));
      expect(loads).toBe(1);
    });

    it('loads again once the TTL has passed', async () => {
      await cache.getOrLoad('k', TTL_MS, loader(1));
      await fixture.pass(TTL_MS + 50);
      await expect(cache.getOrLoad('k', TTL_MS, loader(2))).resolves.toBe(2);
      expect(loads).toBe(2);
    });

    it('loads again after an invalidation, and leaves other keys alone', async () => {
      await cache.getOrLoad('a', 60_000, loader('a1'));
      await cache.getOrLoad('b', 60_000, loader('b1'));
      await cache.invalidate('a');
      await expect(cache.getOrLoad('a', 60_000, loader('a2'))).resolves.toBe('a2');
      await expect(cache.getOrLoad('b', 60_000, loader('b2'))).resolves.toBe('b1');
    });

    it('does not store a load that an invalidation overtook (it may be stale)', async () => {
      const gate = deferred<string>();
      const reader = cache.getOrLoad('k', 60_000, async () => {
        loads++;
        return gate.promise;
      });
      await cache.invalidate('k');
      gate.resolve('read before the write');
      await expect(reader).resolves.toBe('read before the write');
      await expect(cache.getOrLoad('k', 60_000, loader('fresh'))).resolves.toBe('fresh');
    });

    it('passes a failed load on and caches nothing', async () => {
      const boom = new Error('db down');
      await expect(cache.getOrLoad('k', 60_000, () => Promise.reject(boom))).rejects.toBe(boom);
      await expect(cache.getOrLoad('k', 60_000, loader('ok'))).resolves.toBe('ok');
    });

    it('drops every key of one invalidation, and accepts keys it never held and no keys at all', async () => {
      await cache.getOrLoad('a', 60_000, loader('a1'));
      await cache.getOrLoad('b', 60_000, loader('b1'));
      await expect(cache.invalidate('a', 'never-stored', 'b')).resolves.toBeUndefined();
      await expect(cache.invalidate()).resolves.toBeUndefined();
      await expect(cache.getOrLoad('a', 60_000, loader('a2'))).resolves.toBe('a2');
      await expect(cache.getOrLoad('b', 60_000, loader('b2'))).resolves.toBe('b2');
    });

    it('keeps serving what it holds after loads fail: a failing database is not a failing cache', async () => {
      await cache.getOrLoad('kept', 60_000, loader('cached'));
      // Together, so that the failures come in a row, as in a database outage.
      const failing = Array.from({ length: 5 }, (_, i) => cache.getOrLoad(`missing-${i}`, 60_000, () => Promise.reject(new Error('db down'))));
      for (const read of failing) await expect(read).rejects.toThrow('db down');
      await expect(cache.getOrLoad('kept', 60_000, loader('from the database'))).resolves.toBe('cached');
      expect(loads).toBe(1);
    });

    it('answers ping while it is up', async () => {
      await expect(cache.ping()).resolves.toBeUndefined();
    });
  });
}
