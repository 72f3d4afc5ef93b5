import { MemoryCache } from '../../adapters/memory/memory-cache.js';
import type { CacheEvent } from '../../core/ports/cache.port.js';
import { ManualClock } from '../support/manual-clock.js';
import { describeCacheContract, recording } from './cache.contract.js';

describeCacheContract('memory', async () => {
  const clock = new ManualClock();
  const events: CacheEvent[] = [];
  return {
    cache: new MemoryCache(clock, recording(events)),
    events,
    now: () => clock.now().getTime(),
    pass: async (ms) => clock.advance(ms),
    cleanup: async () => {},
  };
});
