import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { describeTransactionContract } from './transaction.contract.js';

describeTransactionContract('memory', async () => ({
  tx: new MemoryTransactionManager(),
  cleanup: async () => {},
}));
