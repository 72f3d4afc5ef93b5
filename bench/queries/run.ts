/**
 * `tsx bench/queries/run.ts [--scale F] [--write-report]`: the query report
 * alone (npm run bench runs it too, at its end). --write-report writes
 * reports/queries.md and its SVGs; without it they go to a temporary folder
 * whose path is printed. --scale multiplies the database's size (1: 500,000
 * seats, 1,000,000 reservations, 5,000,000 history rows); BENCH_QUICK=true
 * means scale 0.01 and short windows.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchQueries, QUERIES_QUICK_SCALE, queriesCleanup } from './bench-queries.js';

const { values } = parseArgs({ options: { scale: { type: 'string' }, 'write-report': { type: 'boolean', default: false } } });
const quick = process.env.BENCH_QUICK === 'true';
const scale = values.scale === undefined ? (quick ? QUERIES_QUICK_SCALE : 1) : Number(values.scale);
if (!Number.isFinite(scale) || scale <= 0 || scale > 10) {
  console.error(`--scale must be a number above 0 and at most 10, not ${values.scale}`);
  process.exit(2);
}
const reportDir = values['write-report'] ? fileURLToPath(new URL('../../reports/', import.meta.url)) : path.join(os.tmpdir(), `bench-queries-${process.pid}`);
const log = (message: string) => process.stderr.write(`[queries] ${message}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void queriesCleanup().finally(() => process.exit(130));
  });
}

try {
  const { reportPath, results } = await benchQueries({
    scale,
    quick,
    reportDir,
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres:postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    log,
  });
  const c = results.cache;
  log(`cached seat map ${c.on.seatMap.load.okRps.toFixed(0)} req/s = ${(c.on.seatMap.load.okRps / c.honoGet.okRps).toFixed(2)} × bare Hono GET (${c.honoGet.okRps.toFixed(0)} req/s)`);
  log(`report: ${reportPath}`);
} catch (error) {
  process.exitCode = 1;
  console.error(error);
}
