import { describe, expect, it } from 'vitest';
import { holdSweepIntervalMs } from '../../app/container.js';

describe('holdSweepIntervalMs', () => {
  it.each([
    [300, 5_000],
    [20, 5_000],
    [8, 2_000],
    [1, 250],
  ])('a hold of %i s is swept every %i ms (5 s, or a quarter of the hold when shorter)', (holdTtlSeconds, interval) => {
    expect(holdSweepIntervalMs({ holdTtlSeconds })).toBe(interval);
  });
});
