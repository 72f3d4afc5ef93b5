import type { LockPort } from '../../core/ports/lock.port.js';
import { deferred } from './deferred.js';

/** Takes the keys (fail-fast) and keeps them until the returned function is called: someone else's request in flight. */
export async function holdLock(lock: LockPort, keys: readonly string[]): Promise<() => Promise<void>> {
  const held = deferred();
  const release = deferred();
  const done = lock.withLock(
    keys,
    async () => {
      held.resolve();
      await release.promise;
    },
    { wait: { kind: 'fail-fast' } },
  );
  await held.promise;
  return async () => {
    release.resolve();
    await done;
  };
}
