/**
 * Run as a child process by test/unit/pglite-initdb.test.ts: opens a fresh
 * PGlite data folder (argv: `service` or `in-process`, the folder), runs one
 * query, and prints its own resident memory (VmRSS, bytes) as JSON.
 * `service`: as the service does (createKysely: initdb in a child process
 * of its own). `in-process`: PGlite's initdb in this process, same settings.
 */
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { createKysely, PGLITE_SETTINGS } from '../../adapters/kysely/create-kysely.js';

const [how, dataDir] = process.argv.slice(2);
if (how === 'service') {
  const db = await createKysely({ dataDir: dataDir! });
  await sql`select 1`.execute(db);
} else {
  const db = await PGlite.create(dataDir!, { startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS], initDbStartParams: [...PGLITE_SETTINGS] });
  await db.query('select 1');
}
const status = await readFile('/proc/self/status', 'utf8');
process.stdout.write(`${JSON.stringify({ rss: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) * 1024 })}\n`);
process.exit(0);
