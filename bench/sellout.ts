/**
 * `npm run sellout`: a sell-out across several service instances, with a
 * crowd of simulated buyers and optionally a fault in the middle; prints a
 * summary and writes it (markdown and JSON) to reports/ with
 * `--write-report`, else to a temporary folder whose path it prints. Exits
 * non-zero when an invariant fails or a buyer is unaccounted for.
 * `--help` lists the flags (bench/sellout/options.ts).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCli, UsageError } from './sellout/options.js';
import type { CliOptions } from './sellout/options.js';
import { runSellout } from './sellout/run.js';
import { renderSummary } from './sellout/summary.js';

const log = (message: string): void => void process.stderr.write(`[sellout] ${message}\n`);

async function reportDir(options: CliOptions): Promise<string> {
  if (!options.writeReport) return mkdtemp(path.join(os.tmpdir(), 'sellout-'));
  const dir = fileURLToPath(new URL('../reports/', import.meta.url));
  await mkdir(dir, { recursive: true });
  return dir;
}

async function main(): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCli(process.argv.slice(2), process.env, process.stderr.isTTY === true);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return error.problem === undefined ? 0 : 2;
  }
  log(`seed ${options.seed}; ${options.buyers} buyers, ${options.schedules} × ${options.seatsPerSchedule} seats, ${options.instances} instances, fault ${options.fault}`);
  // Ctrl-C (or SIGTERM, or the terminal closing) ends the sale early but still stops the instances and drops what the run
  // made; a second signal leaves at once.
  const interrupt = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interrupt.signal.aborted) process.exit(130);
      log(`${signal}: ending the sale and cleaning up (again to quit at once)`);
      interrupt.abort();
    });
  }
  const result = await runSellout(options, { log, interrupt: interrupt.signal });
  const markdown = renderSummary(result);
  const dir = await reportDir(options);
  await writeFile(path.join(dir, 'sellout.md'), markdown);
  await writeFile(path.join(dir, 'sellout.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\n${markdown}\n`);
  log(`summary written to ${path.join(dir, 'sellout.md')} and sellout.json`);
  if (!result.ok) log('FAILED: an invariant is broken or a buyer is unaccounted for');
  // An interrupted sale that kept its invariants still did not run to its end: 130, as for any Ctrl-C.
  return !result.ok ? 1 : result.timing.endedBy === 'interrupted' ? 130 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
