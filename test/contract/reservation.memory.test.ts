import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { describeReservationContract } from './reservation.contract.js';

describeReservationContract('memory', async () => ({
  tx: new MemoryTransactionManager(),
  // Every step of the memory adapter settles in microtasks: by the next macrotask a waiter is parked on its row lock.
  blocked: () => new Promise((resolve) => setImmediate(resolve)),
  cleanup: async () => {},
}));
