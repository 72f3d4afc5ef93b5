/**
 * The README's walkthrough, run as written: the shell block under "A whole
 * sale" against an embedded server (the default a newcomer starts), with
 * `npm run -s token` reading the server’s own DATA_DIR, and a jq that fails
 * on PATH (it needs curl and node only). Twice, since a
 * walkthrough that works only once (a fixed key, a seat sold by the first
 * run) is not runnable as written.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import type { RunningServer } from '../../app/server.js';
import { startServer } from '../../app/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** The first ```sh block after the line that introduces the walkthrough. */
async function walkthrough(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const from = readme.indexOf('A whole sale with the demo catalog');
  expect(from, 'the README introduces the walkthrough').toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from));
  expect(block, 'a sh block follows').not.toBeNull();
  return block![1]!;
}

describe('README walkthrough', () => {
  let dataDir: string;
  let noJq: string;
  let server: RunningServer;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ticketing-readme-'));
    noJq = await mkdtemp(join(tmpdir(), 'ticketing-no-jq-'));
    await writeFile(join(noJq, 'jq'), '#!/bin/sh\necho "jq used: the walkthrough must need only curl and node" >&2\nexit 127\n', { mode: 0o755 });
    // Admission every 100 ms instead of every second: the walkthrough's own poll loop still waits for it.
    server = await startServer(loadConfig({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', QUEUE_ADMIT_INTERVAL_MS: '100' }));
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(noJq, { recursive: true, force: true });
  });

  it('sells a seat and shows it SOLD and the reservation CONFIRMED, run after run', async () => {
    const script = await walkthrough();
    // A jq that fails: the walkthrough promises curl and node only.
    const env = { PATH: `${noJq}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '', BASE: server.url, DATA_DIR: dataDir };
    const seen: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, env, timeout: 60_000 });
      const lines = stdout.trim().split('\n');
      const seat = JSON.parse(lines.at(-2)!) as { seatNo: number; status: string };
      const reservation = JSON.parse(lines.at(-1)!) as { seatNo: number; status: string };
      expect(seat.status).toBe('SOLD');
      expect(reservation).toMatchObject({ seatNo: seat.seatNo, status: 'CONFIRMED' });
      seen.push(String(seat.seatNo));
    }
    expect(new Set(seen).size, 'each run buys its own seat').toBe(2);
  }, 120_000);

  it('npm run demo runs the same sale against the running service and prints each request and answer', async () => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BASE: server.url, DATA_DIR: dataDir };
    const { stdout } = await run('npm', ['run', '-s', 'demo'], { cwd: ROOT, env, timeout: 60_000 });
    for (const request of ['→ POST /users/me/points/charge', '→ POST /queue/tokens', '→ POST /reservations', '/payment']) expect(stdout).toContain(request);
    expect(stdout).toMatch(/← 201 \{"paymentId"/);
    expect(stdout).toMatch(/^seat \d+: SOLD$/m);
    expect(stdout).toMatch(/^reservation \S+: CONFIRMED$/m);
  }, 90_000);
});
