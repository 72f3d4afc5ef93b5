import { defineConfig } from 'vitest/config';

/**
 * Two projects, run in this order by `npm test`:
 * - `unit`: unit and property tests, on the in-memory adapters and PGlite.
 *   They need no service (`npm run test:unit` runs them alone, anywhere).
 * - `services`: contract, integration, e2e and browser tests, on real Redis
 *   and Postgres, which the global setup finds (test/support/services.ts)
 *   or refuses with one message naming what is missing.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration files spawn processes and share one Redis and one Postgres: two at a time suits a 2-core machine.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/property/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'services',
          include: ['test/contract/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/browser/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
