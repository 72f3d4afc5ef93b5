/**
 * `tsx bench/locks/run.ts [--write-report] [--render <results.json>]`: the
 * lock strategies compared and the lock-hold profile (bench/locks/; `npm
 * run bench` runs it too). --write-report writes reports/locks.md and
 * reports/locks.svg; without it they go to a temporary folder whose path is
 * printed. BENCH_QUICK=true shortens every run (and then never writes to
 * reports/). --render renders the report again from the results a run
 * saved (its path is printed), without running anything.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LocksResults } from './bench.js';
import { benchLocks, locksCleanup, writeLocksReport } from './bench.js';
import { anomalyCount } from './invariants.js';
import { STRATEGIES } from './strategies/strategies.js';

const { values } = parseArgs({ options: { 'write-report': { type: 'boolean', default: false }, render: { type: 'string' } } });
const saved = values.render === undefined ? undefined : (JSON.parse(await readFile(values.render, 'utf8')) as LocksResults);
const quick = saved?.quick ?? process.env.BENCH_QUICK === 'true';
// A shortened run must not overwrite the published report.
const reportDir = values['write-report'] && !quick ? fileURLToPath(new URL('../../reports/', import.meta.url)) : path.join(os.tmpdir(), `bench-locks-${process.pid}`);
const log = (message: string) => process.stderr.write(`[locks] ${message}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void locksCleanup().finally(() => process.exit(130));
  });
}

async function measureOrLoad(): Promise<{ reportPath: string; results: LocksResults }> {
  if (saved !== undefined) {
    const results = { ...saved, date: new Date(saved.date) };
    return { reportPath: await writeLocksReport(reportDir, results), results };
  }
  return benchLocks({
    quick,
    reportDir,
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres:postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    log,
  });
}

try {
  const { reportPath, results } = await measureOrLoad();
  log(`report: ${reportPath}`);
  // The one finding about correctness, not speed: a candidate strategy (guards on) must never break an invariant.
  const broken = results.cells.filter((cell) => !STRATEGIES.find((s) => s.id === cell.strategy)?.wrong && anomalyCount(cell.anomalies) > 0);
  if (broken.length > 0) {
    process.exitCode = 1;
    console.error(`invariants broken by a candidate strategy: ${broken.map((cell) => `${cell.strategy} on ${cell.workload}`).join(', ')}`);
  }
} catch (error) {
  process.exitCode = 1;
  console.error(error);
}
