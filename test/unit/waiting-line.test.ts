import { describe, expect, it } from 'vitest';
import { WaitingLine } from '../../adapters/memory/waiting-line.js';

describe('WaitingLine', () => {
  it('answers positions in arrival order while the front is taken and the middle leaves, across compactions', () => {
    const line = new WaitingLine();
    for (let seq = 1; seq <= 5_000; seq++) line.append(seq * 2, `t${seq * 2}`);
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
      { seq: 5_004, token: 't5004' },
      { seq: 5_008, token: 't5008' },
    ]);
    expect(line.takeFront(-3)).toEqual([]);
    expect(line.takeFront(10_000)).toHaveLength(2_498);
    expect(line.size).toBe(0);
  });

  it('refuses a sequence number that is not after the last one', () => {
    const line = new WaitingLine();
    line.append(5, 'a');
    expect(() => line.append(5, 'b')).toThrow(/not after/);
  });
});
