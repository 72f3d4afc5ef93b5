/**
 * The data folder lock (app/data-dir-lock.ts): one holder at a time, in this
 * process or across processes; a dead holder's lock is taken over, and by
 * exactly one of several processes racing for it.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, LOCK_DIR, acquireDataDirLock, dataDirLockHolder } from '../../app/data-dir-lock.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ticketing-lock-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

let folders = 0;
async function aFolder(): Promise<string> {
  const dir = join(root, `data-${folders++}`);
  await mkdir(dir);
  return dir;
}

/** The pid of a process that has exited: a holder that died without releasing. */
async function aDeadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

async function plantLock(dir: string, pid: number): Promise<void> {
  await mkdir(join(dir, LOCK_DIR));
  await writeFile(join(dir, LOCK_DIR, `pid-${pid}`), '');
}

describe('data folder lock, in one process', () => {
  it('refuses a second holder while the first holds it, naming the folder and the pid, and takes it again once released', async () => {
    const dir = await aFolder();
    const first = await acquireDataDirLock(dir);
    expect(await dataDirLockHolder(dir)).toBe(process.pid);
    const refused = await acquireDataDirLock(dir).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect((refused as Error).message).toContain(dir);
    expect((refused as Error).message).toContain(`process ${process.pid}`);
    expect((refused as Error).message).not.toContain('\n');
    // Two at once in this process: exactly one gets it.
    await first.release();
    const both = await Promise.allSettled([acquireDataDirLock(dir), acquireDataDirLock(dir)]);
    expect(both.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    await (both.find((outcome) => outcome.status === 'fulfilled') as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over the lock of a process that no longer runs, and the leftovers of one that died while taking it', async () => {
    const dir = await aFolder();
    const dead = await aDeadPid();
    await plantLock(dir, dead);
    await mkdir(join(dir, `.lock-${dead}-0badc0de`));
    const lock = await acquireDataDirLock(dir);
    expect(await dataDirLockHolder(dir)).toBe(process.pid);
    expect(await readdir(join(dir, LOCK_DIR))).toEqual([`pid-${process.pid}`]);
    expect((await readdir(dir)).sort()).toEqual([LOCK_DIR]);
    await lock.release();
  });

  it('treats a lock carrying its own pid that it does not hold as a previous incarnation (pid 1 in a restarted container)', async () => {
    const dir = await aFolder();
    await plantLock(dir, process.pid);
    const lock = await acquireDataDirLock(dir);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('data folder lock, across processes', () => {
  const RACERS = 4;
  const racers: { child: ChildProcessWithoutNullStreams; next: () => Promise<Record<string, unknown>> }[] = [];

  afterEach(() => {
    for (const { child } of racers.splice(0)) child.stdin.end();
  });

  function startRacer(): (typeof racers)[number] {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../integration/workers/data-dir-lock-racer.ts', import.meta.url))]);
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const next = async () => {
      const line = await lines.next();
      if (line.done === true) throw new Error(`racer ${child.pid} ended: ${stderr}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    };
    return { child, next };
  }

  it('refuses a live holder in another process and takes over a dead one', async () => {
    const dir = await aFolder();
    const holder = startRacer();
    racers.push(holder);
    expect(await holder.next()).toEqual({ ready: true });
    holder.child.stdin.write(`take ${dir}\n`);
    expect(await holder.next()).toEqual({ won: true });
    await expect(acquireDataDirLock(dir)).rejects.toThrow(`data folder ${dir} is in use by process ${holder.child.pid}`);

    holder.child.kill('SIGKILL'); // dies holding it
    await new Promise((resolve) => holder.child.once('exit', resolve));
    const lock = await acquireDataDirLock(dir);
    expect(await dataDirLockHolder(dir)).toBe(process.pid);
    await lock.release();
  });

  it('lets exactly one of several processes take over a stale lock, round after round', async () => {
    for (let i = 0; i < RACERS; i++) racers.push(startRacer());
    for (const racer of racers) expect(await racer.next()).toEqual({ ready: true });
    for (let round = 0; round < 15; round++) {
      const dir = await aFolder();
      await plantLock(dir, await aDeadPid());
      for (const { child } of racers) child.stdin.write(`take ${dir}\n`);
      const outcomes = await Promise.all(racers.map(({ next }) => next()));
      const winners = racers.filter((_, i) => outcomes[i]!.won === true);
      expect(winners, `round ${round}: ${JSON.stringify(outcomes)}`).toHaveLength(1);
      const winner = winners[0]!.child.pid;
      for (const outcome of outcomes) if (outcome.won !== true) expect(outcome).toEqual({ won: false, holder: winner });
      expect(await readdir(join(dir, LOCK_DIR))).toEqual([`pid-${winner}`]);
      for (const { child } of racers) child.stdin.write('release\n');
      for (const { next } of racers) expect(await next()).toEqual({ released: true });
    }
  }, 60_000);
});
