import { MemoryCache } from '../../adapters/memory/memory-cache.js';
import { ManualClock } from '../support/manual-clock.js';
import { describeCacheContract } from './cache.contract.js';

describeCacheContract('memory', async () => {
  const clock = new ManualClock();
  return { cache: new MemoryCache(clock), pass: async (ms) => clock.advance(ms), cleanup: async () => {} };
});
