/**
 * Lock and cache keys are built from user-supplied ids (which may contain
 * `:`) and Idempotency-Keys (any visible ASCII). Distinct inputs must give
 * distinct keys, within one builder and across builders: two requests that
 * share a key would exclude each other for no reason, or worse, one cache
 * entry would answer for another resource.
 *
 * Random independent inputs almost never collide even under a broken
 * encoding, so the inputs are built to be near misses: from a few strings
 * over an alphabet rich in `:` and `%`, every way of splitting them at a
 * `:` and of writing a `:` as a literal `%3A` or `%253A`. Every builder is
 * applied to every such string (and pair), and no two inputs may share a
 * key. Joining raw parts fails at once (`idem:a:b:c`); escaping `:` but not
 * `%` fails too (`a:` and `a%3A` would both become `a%3A`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cacheKeys, lockKeys } from '../../core/keys.js';

const atom = fc.string({ unit: fc.constantFrom('a', ':', '%', '3', 'A', '-'), maxLength: 4 });
/** What a real id or Idempotency-Key may be: the ID_PATTERN alphabet, and visible ASCII. */
const idLike = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/);
const idempotencyKeyLike = fc.stringMatching(/^[\x21-\x7e]{1,128}$/);

/** Near misses of x, y, z: what a naive join or a naive escape would confuse. */
function nearMisses(x: string, y: string, z: string): string[] {
  const glue = [':', '%3A', '%253A', '%', '%25', ''];
  const strings = new Set<string>([x, y, z]);
  for (const a of glue) {
    strings.add(x + a + y);
    for (const b of glue) strings.add(x + a + y + b + z);
  }
  return [...strings];
}

/** Every builder applied to every string (and pair of strings), each labelled with what it was built from. */
function everyKey(strings: readonly string[], seatNos: readonly number[]): { key: string; input: string }[] {
  const out: { key: string; input: string }[] = [];
  const add = (key: string, ...input: unknown[]) => out.push({ key, input: JSON.stringify(input) });
  add(lockKeys.demoSeed(), 'demoSeed');
  add(cacheKeys.concerts(), 'concerts');
  for (const s of strings) {
    add(lockKeys.points(s), 'points', s);
    add(lockKeys.reservation(s), 'reservation', s);
    add(cacheKeys.schedules(s), 'schedules', s);
    add(cacheKeys.seats(s), 'seats', s);
    for (const n of seatNos) add(lockKeys.seat(s, n), 'seat', s, n);
    for (const t of strings) {
      add(lockKeys.userSeats(s, t), 'userSeats', s, t);
      add(lockKeys.idempotency(s, t), 'idempotency', s, t);
    }
  }
  return out;
}

function expectNoSharedKey(keys: readonly { key: string; input: string }[]): void {
  const owner = new Map<string, string>();
  for (const { key, input } of keys) {
    const before = owner.get(key);
    if (before !== undefined) expect(before, `two inputs share the key ${JSON.stringify(key)}`).toBe(input);
    owner.set(key, input);
  }
}

/** The format core/keys.ts documents: split on `:`, then read each `%XX` back. A left inverse is proof of injectivity. */
function decode(key: string): string[] {
  return key.split(':').map((part) => part.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
}

describe('lock and cache keys', () => {
  it('never give one key to two different inputs, within a builder or across builders', () => {
    fc.assert(
      fc.property(atom, atom, atom, fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 3 }), (x, y, z, seatNos) => {
        expectNoSharedKey(everyKey(nearMisses(x, y, z), seatNos));
      }),
      { numRuns: 150 },
    );
  });

  it('can be read back into their family and parts, for any id or Idempotency-Key', () => {
    const text = fc.oneof(atom, idLike, idempotencyKeyLike);
    fc.assert(
      fc.property(text, text, fc.nat(1_000), (s, k, n) => {
        expect(decode(lockKeys.idempotency(s, k))).toEqual(['idem', s, k]);
        expect(decode(lockKeys.userSeats(s, k))).toEqual(['user-seats', s, k]);
        expect(decode(lockKeys.seat(s, n))).toEqual(['seat', s, String(n)]);
        expect(decode(lockKeys.points(s))).toEqual(['point', s]);
        expect(decode(lockKeys.reservation(s))).toEqual(['reservation', s]);
        expect(decode(cacheKeys.schedules(s))).toEqual(['concert', s, 'schedules']);
        expect(decode(cacheKeys.seats(s))).toEqual(['schedule', s, 'seats']);
      }),
      { numRuns: 2_000 },
    );
  });

  it('tells apart the example of the issue, and keeps ordinary ids readable', () => {
    expect(lockKeys.idempotency('charge:a', 'b:c')).not.toBe(lockKeys.idempotency('charge:a:b', 'c'));
    expect(lockKeys.idempotency('charge-points:u1', 'k1')).toBe('idem:charge-points%3Au1:k1');
    expect(lockKeys.userSeats('a:b', 'c')).toBe('user-seats:a%3Ab:c');
    expect(lockKeys.userSeats('a', 'b:c')).toBe('user-seats:a:b%3Ac');
    expect(lockKeys.idempotency('s', '100%')).toBe('idem:s:100%25');
    // An id with neither `:` nor `%` (every UUID the service makes) reads as it always did.
    const id = '0b6f7c1e-5d2a-4a8e-9f00-3c1d2e4f5a6b';
    expect(lockKeys.seat(id, 12)).toBe(`seat:${id}:12`);
    expect(lockKeys.points('buyer_1.x')).toBe('point:buyer_1.x');
    expect(cacheKeys.seats(id)).toBe(`schedule:${id}:seats`);
    expect(cacheKeys.concerts()).toBe('concerts:all');
    expect(lockKeys.demoSeed()).toBe('seed:demo-catalog');
  });
});
