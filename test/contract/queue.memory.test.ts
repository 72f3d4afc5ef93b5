import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { describeQueueContract } from './queue.contract.js';

describeQueueContract('memory', async () => ({ queue: new MemoryQueue(), cleanup: async () => {} }));
