/**
 * Drill 8 (DESIGN.md, "Failure model": a second process on one embedded data
 * folder), and the busy port: a second start is refused with one line
 * saying why, before it opens anything, and the first is unharmed.
 */
import { mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signAccessToken } from '../../../adapters/auth/sign-access-token.js';
import { RedisLock } from '../../../adapters/redis/redis-lock.js';
import { loadOrCreateEmbeddedSecret } from '../../../app/auth/embedded-secret.js';
import { loadConfig } from '../../../app/config.js';
import { LOCK_DIR, dataDirLockHolder } from '../../../app/data-dir-lock.js';
import type { RunningServer } from '../../../app/server.js';
import { startServer } from '../../../app/server.js';
import { StartupError } from '../../../app/startup-error.js';
import { lockKeys } from '../../../core/keys.js';
import { TEST_JWT_SECRET } from '../../support/app-shapes.js';
import { deferred } from '../../support/deferred.js';
import { createIsolatedDatabase } from '../../support/isolated-database.js';
import { createIsolatedRedis } from '../../support/isolated-redis.js';
import { startService } from './service-process.js';

/** Long enough for tsx to load the service on a busy 2-core machine; a refused start ends well within it. */
const PROCESS_DEADLINE_MS = 30_000;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ticketing-drill-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

async function balanceOf(url: string, token: string): Promise<number> {
  const response = await fetch(`${url}/users/me/points`, { headers: { Authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { balance: number }).balance;
}

async function charge(url: string, token: string, amount: number): Promise<number> {
  const response = await fetch(`${url}/users/me/points/charge`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ amount }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { balance: number }).balance;
}

async function concertCount(url: string): Promise<number> {
  return ((await (await fetch(`${url}/concerts`)).json()) as { concerts: unknown[] }).concerts.length;
}

describe('drill 8: one process per embedded data folder', () => {
  it('refuses a second process on the folder with one line naming it and the holder, leaves the first unharmed, and takes over a dead holder\'s lock', async () => {
    const dataDir = join(root, 'shared');
    const folder = () => realpath(dataDir);
    const env = { DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' };
    let first: RunningServer | undefined = await startServer(loadConfig({ ...env, LOG_LEVEL: 'silent' }));
    try {
      const token = await signAccessToken(await loadOrCreateEmbeddedSecret(dataDir), 'drill-8-buyer');
      expect(await charge(first.url, token, 700)).toBe(700);
      const concerts = await concertCount(first.url);
      expect(concerts).toBeGreaterThan(0); // the demo catalog, seeded once

      const second = startService(env);
      try {
        const ended = await second.exited(PROCESS_DEADLINE_MS);
        expect(ended, `second start: ${second.stdout()} ${second.stderr()}`).toEqual({ code: 1, signal: null });
        expect(second.stderr()).toBe(
          `data folder ${await folder()} is in use by process ${process.pid}: one process per data folder ` +
            `(stop that one or set DATA_DIR to another folder; if ${process.pid} is not this service, remove ${join(await folder(), LOCK_DIR)})\n`,
        );
        expect(second.stdout(), 'it opened nothing, so it logged nothing').toBe('');
      } finally {
        await second.kill();
      }

      // The first is unharmed: it answers, its data is there, it writes, and what it wrote survives its restart.
      expect(await balanceOf(first.url, token)).toBe(700);
      expect(await charge(first.url, token, 50)).toBe(750);
      expect(await concertCount(first.url)).toBe(concerts);
      await first.close();
      first = undefined;
      expect(await dataDirLockHolder(dataDir), 'released on close').toBeUndefined();

      // A holder that died without releasing (SIGKILL, power loss): its lock is stale, the next start takes it over.
      const dead = spawn(process.execPath, ['-e', '']);
      await new Promise((resolve) => dead.once('exit', resolve));
      await mkdir(join(dataDir, LOCK_DIR));
      await writeFile(join(dataDir, LOCK_DIR, `pid-${dead.pid}`), '');
      const third = startService(env);
      try {
        const url = await third.listening(PROCESS_DEADLINE_MS);
        expect(await dataDirLockHolder(dataDir)).toBe(third.child.pid);
        expect(await balanceOf(url, token)).toBe(750);
        expect(await concertCount(url)).toBe(concerts);
        third.child.kill('SIGTERM');
        expect(await third.exited(PROCESS_DEADLINE_MS)).toEqual({ code: 0, signal: null });
        expect(await dataDirLockHolder(dataDir), 'released on exit').toBeUndefined();
      } finally {
        await third.kill();
      }
    } finally {
      await first?.close();
    }
  }, 120_000);
});

describe('a busy port', () => {
  let occupied: Server;
  let port: number;
  beforeAll(async () => {
    occupied = createServer();
    await new Promise<void>((resolve) => occupied.listen(0, resolve));
    port = (occupied.address() as { port: number }).port;
  });
  afterAll(async () => new Promise((resolve) => occupied.close(resolve)));

  it('is refused before the data folder is opened: one line naming the port, no stack, nothing seeded', async () => {
    const dataDir = join(root, 'never-opened');
    const refused = await startServer(loadConfig({ DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'silent' })).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StartupError);
    expect((refused as Error).message).toBe(`port ${port} is in use by another process: stop it or set PORT to a free one (0 picks any)`);
    expect(await readdir(root)).not.toContain('never-opened');

    const service = startService({ DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' });
    try {
      expect(await service.exited(PROCESS_DEADLINE_MS)).toEqual({ code: 1, signal: null });
      expect(service.stderr()).toBe(`port ${port} is in use by another process: stop it or set PORT to a free one (0 picks any)\n`);
      expect(service.stdout()).toBe('');
      expect(await readdir(root)).not.toContain('never-opened');
    } finally {
      await service.kill();
    }
  }, 60_000);
});

describe('the port, bound before anything else', () => {
  it('answers 503 SERVICE_UNAVAILABLE with Retry-After while the service starts, then serves', async () => {
    const database = await createIsolatedDatabase(inject('databaseUrl'));
    const redis = createIsolatedRedis(inject('redisUrl'));
    // Start-up waits for the demo seed's lock while another instance holds it: the test holds it, so the service is surely still starting.
    const seeding = deferred();
    const release = deferred();
    const holding = new RedisLock(redis.redis, { prefix: redis.prefix }).withLock(
      [lockKeys.demoSeed()],
      async () => {
        seeding.resolve();
        await release.promise;
      },
      { wait: { kind: 'fail-fast' } },
    );
    await seeding.promise;
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const starting = startServer(
      loadConfig({ DATABASE_URL: database.url, REDIS_URL: inject('redisUrl'), REDIS_PREFIX: redis.prefix, AUTH_JWT_SECRET: TEST_JWT_SECRET, PORT: String(port), LOG_LEVEL: 'silent' }),
    );
    let running: RunningServer | undefined;
    try {
      const deadline = Date.now() + 30_000;
      let answer: Response | undefined;
      while (answer === undefined) {
        answer = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        if (answer === undefined && Date.now() > deadline) throw new Error('the port never answered while the service was starting');
        if (answer === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(await answer.json()).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: 'starting' } });

      release.resolve();
      await holding;
      running = await starting;
      expect((await fetch(`${running.url}/health`)).status).toBe(200);
    } finally {
      release.resolve();
      await (running ?? (await starting.catch(() => undefined)))?.close();
      await redis.cleanup();
      await database.drop();
    }
  }, 60_000);
});
