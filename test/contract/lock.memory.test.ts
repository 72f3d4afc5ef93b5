import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { ManualClock } from '../support/manual-clock.js';
import { describeLockContract } from './lock.contract.js';

describeLockContract('memory', async () => {
  const clock = new ManualClock();
  const leaseMs = 1_000;
  return {
    lock: new MemoryLock(clock, { defaultLeaseMs: leaseMs }),
    leaseMs,
    loseLease: async () => clock.advance(leaseMs + 1),
    cleanup: async () => {},
  };
});
