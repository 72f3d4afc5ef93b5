/**
 * The three use cases as app/container.ts wires them, over a strategy's
 * LockPort and TransactionPort. The catalog cache is switched off (a
 * pass-through: invalidation runs after the lock is released, outside what
 * is compared) and the queue is an in-process one with no ACTIVE token
 * (extending or spending the bench's token is a no-op).
 */
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { PassThroughCache } from '../../adapters/system/pass-through-cache.js';
import { UuidGenerator } from '../../adapters/system/uuid-generator.js';
import { LOCK_WAIT_MS } from '../../app/time-bounds.js';
import { systemClock } from '../../core/ports/clock.port.js';
import type { LockPort } from '../../core/ports/lock.port.js';
import type { TransactionPort } from '../../core/ports/transaction.port.js';
import { CatalogCache } from '../../core/usecases/catalog/catalog-cache.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { ExpireToken } from '../../core/usecases/queue/expire-token.js';
import { ExtendToken } from '../../core/usecases/queue/extend-token.js';
import { PayReservation } from '../../core/usecases/reservations/pay-reservation.js';
import { ReserveSeat } from '../../core/usecases/reservations/reserve-seat.js';
import type { UseCases } from './workloads.js';

/** MAX_SEATS_PER_USER's default. */
const MAX_SEATS_PER_USER = 4;
/** Longer than any run: no hold ends during one. */
const HOLD_TTL_MS = 3_600_000;

export function useCases(lock: LockPort, tx: TransactionPort): UseCases {
  const clock = systemClock;
  const ids = new UuidGenerator();
  const queue = new MemoryQueue();
  const cache = new CatalogCache(new PassThroughCache(), tx);
  return {
    charge: new ChargePoints(lock, tx, clock, { walletWaitMs: LOCK_WAIT_MS }),
    reserve: new ReserveSeat(lock, tx, clock, ids, cache, new ExtendToken(queue, clock), {
      holdTtlMs: HOLD_TTL_MS,
      maxSeatsPerUser: MAX_SEATS_PER_USER,
      userLockWaitMs: LOCK_WAIT_MS,
    }),
    pay: new PayReservation(lock, tx, clock, ids, new ExpireToken(queue, clock), cache, { lockWaitMs: LOCK_WAIT_MS }),
  };
}
