/**
 * The compiled build (`npm run build`, what the Dockerfile runs): tsc with
 * tsconfig.build.json into a folder of its own, then `node <out>/app/main.js`
 * started as an operator would, embedded on a fresh data folder. It must
 * resolve every import from compiled JavaScript alone, find its migrations,
 * serve, and stop on SIGTERM by itself (in a container it is PID 1, which
 * the kernel gives no default action for SIGTERM: without its handler,
 * `docker stop` would wait out the grace period and SIGKILL it).
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, launch, ROOT, serviceArgs } from '../../bench/launch-service.js';
import type { LaunchedService } from '../../bench/launch-service.js';
import { SHUTDOWN_EXIT_MS } from '../../app/time-bounds.js';

describe('the compiled build', () => {
  let outDir: string;
  let dataDir: string;
  let service: LaunchedService | undefined;

  beforeAll(async () => {
    // Inside the repository (dist/ is git-ignored): the compiled files find node_modules by walking up.
    await mkdir(path.join(ROOT, 'dist'), { recursive: true });
    outDir = await mkdtemp(path.join(ROOT, 'dist', '.test-build-'));
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'compiled-build-'));
    await compile(outDir);
  }, 240_000);

  afterAll(async () => {
    if (service !== undefined && service.child.exitCode === null) await service.stop();
    await rm(outDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('holds JavaScript only for app/, core/ and adapters/', async () => {
    const files = (await readdir(outDir, { recursive: true })).map(String);
    expect(files).toContain(path.join('app', 'main.js'));
    expect(files).toContain(path.join('adapters', 'kysely', 'migrations', 'index.js'));
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(files.some((file) => file.startsWith('test') || file.startsWith('bench'))).toBe(false);
  });

  it('serves embedded from a fresh data folder, migrated, then stops on SIGTERM by itself', async () => {
    service = await launch(serviceArgs({ kind: 'compiled', outDir }), { DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    const health = (await (await fetch(`${service.url}/health`)).json()) as { status: string; mode?: string };
    expect(health.status).toBe('ok');
    // The tables exist: the migrations were found and run from the compiled output.
    const concerts = await fetch(`${service.url}/concerts`);
    expect(concerts.status, await concerts.clone().text()).toBe(200);
    expect(((await concerts.json()) as { concerts: unknown[] }).concerts.length).toBeGreaterThan(0);
    expect((await fetch(`${service.url}/openapi.json`)).status).toBe(200);

    const stopped = await service.stop(SHUTDOWN_EXIT_MS + 5_000);
    expect(stopped, service.output()).toMatchObject({ code: 0, signal: null });
    expect(stopped.ms).toBeLessThan(SHUTDOWN_EXIT_MS);
  }, 120_000);
});
