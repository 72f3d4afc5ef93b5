import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WaitingLine } from '../../adapters/memory/waiting-line.js';

/** The line as a plain array: obviously right, O(n) everywhere. */
class NaiveLine {
  waiters: { seq: number; token: string; seenAt: number }[] = [];
  append(seq: number, token: string, seenAt: number) {
    this.waiters.push({ seq, token, seenAt });
  }
  position(seq: number) {
    const index = this.waiters.findIndex((w) => w.seq === seq);
    return index === -1 ? undefined : index + 1;
  }
  touch(seq: number, atMs: number) {
    const waiter = this.waiters.find((w) => w.seq === seq);
    if (waiter !== undefined) waiter.seenAt = Math.max(waiter.seenAt, atMs);
    return waiter !== undefined;
  }
  remove(seq: number) {
    const before = this.waiters.length;
    this.waiters = this.waiters.filter((w) => w.seq !== seq);
    return this.waiters.length < before;
  }
  dropUnseenSince(cutoffMs: number) {
    const dropped = this.waiters.filter((w) => w.seenAt <= cutoffMs);
    this.waiters = this.waiters.filter((w) => w.seenAt > cutoffMs);
    return dropped.sort((a, b) => a.seenAt - b.seenAt).map((w) => w.token);
  }
  takeFront(count: number) {
    return this.waiters.splice(0, Math.max(0, count)).map((w) => w.token);
  }
}

type Op =
  | { readonly kind: 'append'; readonly n: number; readonly at: number }
  | { readonly kind: 'touch' | 'remove'; readonly pick: number; readonly at: number }
  | { readonly kind: 'drop'; readonly at: number }
  | { readonly kind: 'take'; readonly n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 700 }), at: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('touch' as const, 'remove' as const), pick: fc.nat(), at: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), at: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('take' as const), n: fc.integer({ min: -1, max: 900 }) }) },
);

describe('WaitingLine', () => {
  it('answers positions in arrival order while the front is taken and the middle leaves, across compactions', () => {
    const line = new WaitingLine();
    for (let seq = 1; seq <= 5_000; seq++) line.append(seq * 2, `t${seq * 2}`, 0);
    expect(line.position(2)).toBe(1);
    expect(line.position(3)).toBeUndefined();
    expect(line.takeFront(1_500)).toHaveLength(1_500);
    expect(line.takeFront(1_001)[0]).toBe('t3002');
    // More than half taken: the array has been cut; positions still count from the new front.
    expect((line as unknown as { head: number }).head).toBe(0);
    expect(line.size).toBe(2_499);
    expect(line.position(2 * 2_502)).toBe(1);
    expect(line.position(2 * 2_501)).toBeUndefined();
    expect(line.remove(2 * 2_503)).toBe(true);
    expect(line.remove(2 * 2_503)).toBe(false);
    expect(line.position(2 * 2_504)).toBe(2);
    expect(line.waiters().slice(0, 2)).toEqual([
      { seq: 5_004, token: 't5004', seenAt: 0 },
      { seq: 5_008, token: 't5008', seenAt: 0 },
    ]);
    expect(line.takeFront(-3)).toEqual([]);
    expect(line.takeFront(10_000)).toHaveLength(2_498);
    expect(line.size).toBe(0);
  });

  it('counts positions past waiters removed from the middle, and cuts them out once they are most of the array', () => {
    const line = new WaitingLine();
    for (let seq = 1; seq <= 4_000; seq++) line.append(seq, `t${seq}`, 0);
    for (let seq = 2; seq <= 4_000; seq += 2) line.remove(seq);
    expect(line.size).toBe(2_000);
    expect(line.position(1)).toBe(1);
    expect(line.position(3)).toBe(2);
    expect(line.position(3_999)).toBe(2_000);
    expect(line.position(4_000)).toBeUndefined();
    const entries = () => (line as unknown as { entries: unknown[] }).entries;
    expect(entries()).toHaveLength(4_000);
    line.remove(1);
    // 2,001 of 4,000 entries dead: rebuilt without them.
    expect(entries()).toHaveLength(1_999);
    line.remove(3);
    expect(line.position(5)).toBe(1);
    expect(line.position(3_999)).toBe(1_998);
    line.append(4_001, 't4001', 0);
    expect(line.position(4_001)).toBe(1_999);
  });

  it('drops exactly the waiters last seen at or before the cutoff, oldest sighting first; a sighting never moves back', () => {
    const line = new WaitingLine();
    line.append(1, 'a', 10);
    line.append(2, 'b', 20);
    line.append(3, 'c', 30);
    line.append(4, 'd', 40);
    expect(line.touch(1, 35)).toBe(true);
    expect(line.touch(3, 5)).toBe(true);
    expect(line.touch(9, 50)).toBe(false);
    expect(line.seenAt(1)).toBe(35);
    expect(line.seenAt(3)).toBe(30);
    expect(line.dropUnseenSince(19)).toEqual([]);
    expect(line.dropUnseenSince(30)).toEqual(['b', 'c']);
    expect(line.waiters()).toEqual([
      { seq: 1, token: 'a', seenAt: 35 },
      { seq: 4, token: 'd', seenAt: 40 },
    ]);
    expect(line.position(4)).toBe(2);
    expect(line.seenAt(2)).toBeUndefined();
    expect(line.touch(2, 50)).toBe(false);
    expect(line.takeFront(1)).toEqual(['a']);
    expect(line.dropUnseenSince(100)).toEqual(['d']);
    expect(line.size).toBe(0);
  });

  it('drops exactly the absent also after a sighting earlier than the latest (a clock stepped back)', () => {
    const line = new WaitingLine();
    line.append(1, 'a', 100);
    line.append(2, 'b', 50);
    line.append(3, 'c', 80);
    expect(line.dropUnseenSince(79)).toEqual(['b']);
    expect(line.dropUnseenSince(99)).toEqual(['c']);
    expect(line.waiters()).toEqual([{ seq: 1, token: 'a', seenAt: 100 }]);
  });

  it('drops only what it must: O(dropped), the present are not walked', () => {
    const line = new WaitingLine();
    for (let seq = 1; seq <= 100_000; seq++) line.append(seq, `t${seq}`, seq);
    const seen = (line as unknown as { seen: Map<number, number> }).seen;
    let walked = 0;
    const entries = seen.entries.bind(seen);
    Object.defineProperty(seen, Symbol.iterator, {
      value: function* () {
        for (const entry of entries()) {
          walked++;
          yield entry;
        }
      },
    });
    expect(line.dropUnseenSince(10)).toHaveLength(10);
    expect(walked).toBe(11);
  });

  it('agrees with a plain array under any mix of arrivals, sightings, removals, drops and takes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const line = new WaitingLine();
        const naive = new NaiveLine();
        let seq = 0;
        for (const op of ops) {
          const live = naive.waiters.map((w) => w.seq);
          switch (op.kind) {
            case 'append':
              for (let i = 0; i < op.n; i++) {
                seq++;
                line.append(seq, `t${seq}`, op.at);
                naive.append(seq, `t${seq}`, op.at);
              }
              break;
            case 'touch':
            case 'remove': {
              // Mostly a waiter in line, sometimes one that is not.
              const target = live.length > 0 && op.pick % 5 !== 0 ? (live[op.pick % live.length] as number) : op.pick % (seq + 2);
              if (op.kind === 'touch') expect(line.touch(target, op.at)).toBe(naive.touch(target, op.at));
              else expect(line.remove(target)).toBe(naive.remove(target));
              break;
            }
            case 'drop':
              expect(new Set(line.dropUnseenSince(op.at))).toEqual(new Set(naive.dropUnseenSince(op.at)));
              break;
            case 'take':
              expect(line.takeFront(op.n)).toEqual(naive.takeFront(op.n));
              break;
          }
          expect(line.size).toBe(naive.waiters.length);
          expect(line.waiters()).toEqual(naive.waiters);
          for (let s = Math.max(1, seq - 50); s <= seq + 1; s++) expect(line.position(s)).toBe(naive.position(s));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a sequence number that is not after the last one', () => {
    const line = new WaitingLine();
    line.append(5, 'a', 0);
    expect(() => line.append(5, 'b', 0)).toThrow(/not after/);
  });
});
