import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration files spawn processes and share one Redis and one Postgres: two at a time suits a 2-core machine.
    maxWorkers: 2,
  },
});
