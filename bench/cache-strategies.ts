/**
 * `tsx bench/cache-strategies.ts [--write-report]`: the seat-map cache
 * strategies side by side during a sale (bench/cache-strategies/; `npm run
 * bench` runs it too). --write-report writes reports/cache-strategies.md and
 * its SVGs; without it they go to a temporary folder whose path is printed.
 * BENCH_QUICK=true shortens each window to 3 s.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchCacheStrategies, cacheStrategiesCleanup } from './cache-strategies/bench.js';
import { judge } from './cache-strategies/report.js';

const { values } = parseArgs({ options: { 'write-report': { type: 'boolean', default: false } } });
const reportDir = values['write-report'] ? fileURLToPath(new URL('../reports/', import.meta.url)) : path.join(os.tmpdir(), `bench-cache-strategies-${process.pid}`);
const log = (message: string) => process.stderr.write(`[cache-strategies] ${message}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cacheStrategiesCleanup().finally(() => process.exit(130));
  });
}

try {
  const { reportPath, results } = await benchCacheStrategies({
    quick: process.env.BENCH_QUICK === 'true',
    reportDir,
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres:postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    log,
  });
  for (const j of results.runs.map(judge)) {
    log(`${j.run.candidate.name.padEnd(28)} loads ${j.loadsPerS.toFixed(1)}/s (bound ${(j.bound / j.run.cache.seconds).toFixed(1)}/s) · ${j.qualifies ? 'holds both bounds' : 'breaks a bound'}`);
  }
  log(`report: ${reportPath}`);
} catch (error) {
  process.exitCode = 1;
  console.error(error);
}
