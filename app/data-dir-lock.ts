import { randomBytes } from 'node:crypto';
import { mkdir, readdir, realpath, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StartupError } from './startup-error.js';

/**
 * One process per embedded data folder. PGlite has no lock of its own: two
 * processes on one folder both start, each with its own copy of the
 * database in memory, and each overwrites the other's writes (two buyers
 * got one seat that way).
 *
 * The lock is a directory, `<dataDir>/.lock/`, holding one empty file
 * `pid-<n>` that names its holder. A directory rather than an O_EXCL file
 * because taking over a stale lock must be atomic too, and POSIX gives a
 * compare-and-swap for directories only:
 * - take: build `<dataDir>/.lock-<pid>-<random>/pid-<pid>` privately, then
 *   rename it to `.lock`. rename(2) replaces an absent or *empty* directory
 *   and fails (ENOTEMPTY/EEXIST) on one with a holder, so of several
 *   processes racing, exactly one wins;
 * - take over: a holder whose pid is not alive is stale. Unlink its
 *   `pid-<n>` by name, which removes that dead holder's mark and nothing
 *   else (a taker who got there first already replaced it: ENOENT, harmless),
 *   then try the rename again: the race for the emptied directory is the
 *   same one-winner rename.
 * - release: unlink the own mark, then remove the directory if still empty.
 *
 * Liveness is `kill(pid, 0)`. A mark carrying this process's own pid that
 * this process does not hold is stale: a previous incarnation with the same
 * pid (pid 1 in a restarted container). A dead holder's pid reused by an
 * unrelated live process keeps the folder refused; the message names the pid.
 * Local file systems only: rename and readdir on NFS do not give these
 * guarantees.
 */
export interface DataDirLock {
  /** The folder, as resolved when it was locked. */
  readonly dataDir: string;
  /** Removes the lock; safe to call twice. Call only once the database in the folder is closed. */
  release(): Promise<void>;
}

export const LOCK_DIR = '.lock';
const MARK = /^pid-([1-9]\d*)$/;
const CANDIDATE = /^\.lock-(\d+)-[0-9a-f]+$/;
/** Each round either wins, meets a live holder, or removes one dead holder: a few rounds settle any race. */
const MAX_ROUNDS = 10;

/**
 * Folders this process holds, shared by every copy of this module (a test
 * runner may load it more than once in one process), so that a second
 * application in the same process is refused like a second process.
 */
const heldHere: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('concert-ticketing.data-dir-locks')] ??= new Set<string>()) as Set<string>;

export class DataDirLockedError extends StartupError {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `data folder ${dataDir} is in use by process ${holderPid}: one process per data folder ` +
        `(stop that one or set DATA_DIR to another folder; if ${holderPid} is not this service, remove ${join(dataDir, LOCK_DIR)})`,
    );
    this.name = 'DataDirLockedError';
  }
}

export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const folder = await realpath(dataDir);
  // No await between the check and the add: two acquisitions in this process cannot both pass.
  if (heldHere.has(folder)) throw new DataDirLockedError(folder, process.pid);
  heldHere.add(folder);
  try {
    await take(folder);
  } catch (error) {
    heldHere.delete(folder);
    throw error;
  }
  await removeAbandonedCandidates(folder);
  let released: Promise<void> | undefined;
  return {
    dataDir: folder,
    release: () =>
      (released ??= (async () => {
        await ignoring(['ENOENT'], unlink(join(folder, LOCK_DIR, mark(process.pid))));
        // ENOTEMPTY: the next holder moved in already.
        await ignoring(['ENOENT', 'ENOTEMPTY', 'EEXIST'], rmdir(join(folder, LOCK_DIR)));
        heldHere.delete(folder);
      })()),
  };
}

/** The pid named by the folder's lock, if any (for messages and tests). */
export async function dataDirLockHolder(dataDir: string): Promise<number | undefined> {
  return holderOf(join(dataDir, LOCK_DIR));
}

async function take(folder: string): Promise<void> {
  const lockDir = join(folder, LOCK_DIR);
  const candidate = join(folder, `.lock-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(candidate);
  try {
    await writeFile(join(candidate, mark(process.pid)), '');
    for (let round = 0; round < MAX_ROUNDS; round++) {
      try {
        await rename(candidate, lockDir);
        return;
      } catch (error) {
        if (!hasCode(error, ['ENOTEMPTY', 'EEXIST'])) throw error;
      }
      const holder = await holderOf(lockDir);
      // Released (or emptied by a taker) between our rename and our look: try again.
      if (holder === undefined) continue;
      if (isAlive(holder)) throw new DataDirLockedError(folder, holder);
      await ignoring(['ENOENT'], unlink(join(lockDir, mark(holder))));
    }
    throw new StartupError(`data folder ${folder}: could not take ${join(folder, LOCK_DIR)} after ${MAX_ROUNDS} attempts (other processes keep taking it)`);
  } finally {
    // After a successful rename the candidate is gone; otherwise it is ours to remove.
    await rm(candidate, { recursive: true, force: true });
  }
}

async function holderOf(lockDir: string): Promise<number | undefined> {
  let entries: string[];
  try {
    entries = await readdir(lockDir);
  } catch (error) {
    if (hasCode(error, ['ENOENT', 'ENOTDIR'])) return undefined;
    throw error;
  }
  const pid = entries.map((entry) => MARK.exec(entry)?.[1]).find((found) => found !== undefined);
  return pid === undefined ? undefined : Number(pid);
}

/** Candidates left behind by a process that died between building and renaming one. */
async function removeAbandonedCandidates(folder: string): Promise<void> {
  for (const entry of await readdir(folder)) {
    const pid = CANDIDATE.exec(entry)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))) {
      await rm(join(folder, entry), { recursive: true, force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  // heldHere already refused a second holder in this process, so a mark with our pid is a previous incarnation's.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return hasCode(error, ['EPERM']);
  }
}

function mark(pid: number): string {
  return `pid-${pid}`;
}

function hasCode(error: unknown, codes: readonly string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

async function ignoring(codes: readonly string[], operation: Promise<unknown>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    if (!hasCode(error, codes)) throw error;
  }
}
