/**
 * A process that takes and releases data folder locks when told to, for the
 * test that races several processes for one stale lock. Reads commands on
 * stdin, one per line, answers one JSON line each on stdout (and
 * {"ready":true} once started):
 * `take <dir>` → {"won":true} or {"won":false,"holder":<pid>}; `release` →
 * {"released":true}. Exits when stdin ends. It stays alive while it holds a
 * lock, so its lock is never stale to the others during a round.
 */
import { createInterface } from 'node:readline';
import type { DataDirLock } from '../../../app/data-dir-lock.js';
import { DataDirLockedError, acquireDataDirLock } from '../../../app/data-dir-lock.js';

let held: DataDirLock | undefined;
const answer = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

answer({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  const [command, dir] = line.split(' ', 2);
  try {
    if (command === 'take') {
      held = await acquireDataDirLock(dir!);
      answer({ won: true });
    } else if (command === 'release') {
      await held?.release();
      held = undefined;
      answer({ released: true });
    }
  } catch (error) {
    if (error instanceof DataDirLockedError) answer({ won: false, holder: error.holderPid });
    else answer({ error: String(error) });
  }
}
