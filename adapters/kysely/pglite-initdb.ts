import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Makes a fresh PGlite database cluster in `dataDir` (its initdb) in a Node
 * process of its own, unless the folder already holds one (PG_VERSION).
 *
 * Why another process: PGlite's initdb runs a second Postgres instance in
 * memory and copies the result, peaking near 700 MB and, measured, leaving
 * about 450 MB of it resident in the process for good (WebAssembly
 * memories V8 frees only on a full GC, which an idle service may never
 * run; in a worker thread 170 MB still stayed in the allocator). A process
 * that exits returns all of it: the service then opens the folder as on
 * any restart (reports/benchmark.md, "Start-up time and memory").
 *
 * The cluster is made in `dataDir/.initdb/` and moved up entry by entry,
 * PG_VERSION last: a start killed half-way leaves no PG_VERSION, so the
 * next one starts over instead of opening half a database. The child exits
 * when its stdin closes, so it does not outlive a service that died.
 */
export async function initPGliteDataDir(dataDir: string, initdbParams: readonly string[]): Promise<void> {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  const staging = path.join(dataDir, '.initdb');
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await runInitdb(staging, initdbParams);
  const entries = (await readdir(staging)).sort((a, b) => Number(a === 'PG_VERSION') - Number(b === 'PG_VERSION'));
  for (const entry of entries) {
    // Without PG_VERSION, a Postgres entry already in the folder is what an interrupted start left.
    await rm(path.join(dataDir, entry), { recursive: true, force: true });
    await rename(path.join(staging, entry), path.join(dataDir, entry));
  }
  await rm(staging, { recursive: true, force: true });
}

/** Plain JavaScript (no TypeScript loader needed): PGlite's own initdb on an empty folder, then exit. */
const CHILD = `
process.stdin.on('end', () => process.exit(1)).resume();
const [pglite, dataDir, params] = process.argv.slice(1);
const { PGlite } = await import(pglite);
const db = await PGlite.create(dataDir, { initDbStartParams: JSON.parse(params) });
await db.close();
process.exit(0);
`;

function runInitdb(dataDir: string, initdbParams: readonly string[]): Promise<void> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, import.meta.resolve('@electric-sql/pglite'), dataDir, JSON.stringify(initdbParams)], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      child.stdin!.destroy();
      if (code === 0) resolve();
      else reject(new Error(`PGlite's initdb in ${dataDir} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}
