import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** Which of the two layers a property run keeps: the application lock, the database guards. */
export interface Protection {
  readonly lock: boolean;
  readonly guards: boolean;
}

export interface ProtectionLayersOptions {
  readonly numRuns: number;
  /** Runs allowed to find the counterexample once both layers are gone. */
  readonly unprotectedRuns: number;
  /** What a broken invariant says: the counterexample must be one of them, not some other failure. */
  readonly invariantMessages: RegExp;
}

/**
 * DESIGN.md's teeth for a concurrency property: it holds with both layers,
 * with the database guards alone, and with the lock alone; with neither, a
 * counterexample must be found (asserted, so the property cannot pass
 * vacuously).
 */
export function describeProtectionLayers<Ts extends [unknown, ...unknown[]]>(
  title: string,
  property: (protection: Protection) => fc.IAsyncPropertyWithHooks<Ts>,
  options: ProtectionLayersOptions,
): void {
  describe(title, () => {
    it('keeps every invariant with the lock and the database guards', async () => {
      await fc.assert(property({ lock: true, guards: true }), { numRuns: options.numRuns });
    });

    it('keeps every invariant with the database guards alone (the lock is not the only guard)', async () => {
      await fc.assert(property({ lock: false, guards: true }), { numRuns: options.numRuns });
    });

    it('keeps every invariant with the lock alone (every writer of a resource takes its key)', async () => {
      await fc.assert(property({ lock: true, guards: false }), { numRuns: options.numRuns });
    });

    it('finds a counterexample when both the lock and the guards are removed', async () => {
      const result = await fc.check(property({ lock: false, guards: false }), { numRuns: options.unprotectedRuns });
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(options.invariantMessages);
    });
  });
}
