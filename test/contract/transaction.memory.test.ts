import { ageMemoryIdempotencyKey } from '../../adapters/memory/memory-idempotency-repository.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { describeTransactionContract } from './transaction.contract.js';

describeTransactionContract('memory', async () => {
  const tx = new MemoryTransactionManager();
  return {
    tx,
    ageIdempotencyKey: async (scope, key, ms) => ageMemoryIdempotencyKey(tx.db, scope, key, ms),
    cleanup: async () => {},
  };
});
