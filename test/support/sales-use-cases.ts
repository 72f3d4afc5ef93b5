import { MemoryCache } from '../../adapters/memory/memory-cache.js';
import { UuidGenerator } from '../../adapters/system/uuid-generator.js';
import type { Clock } from '../../core/ports/clock.port.js';
import type { IdGenerator } from '../../core/ports/id-generator.port.js';
import type { LockPort } from '../../core/ports/lock.port.js';
import type { TransactionPort } from '../../core/ports/transaction.port.js';
import { CatalogCache } from '../../core/usecases/catalog/catalog-cache.js';
import { CreateConcert } from '../../core/usecases/catalog/create-concert.js';
import { CreateSchedule } from '../../core/usecases/catalog/create-schedule.js';
import { GetSeatMap } from '../../core/usecases/catalog/get-seat-map.js';
import { ListConcerts } from '../../core/usecases/catalog/list-concerts.js';
import { ListSchedules } from '../../core/usecases/catalog/list-schedules.js';
import type { ExpireToken } from '../../core/usecases/queue/expire-token.js';
import { ExpireHolds } from '../../core/usecases/reservations/expire-holds.js';
import { GetReservation } from '../../core/usecases/reservations/get-reservation.js';
import type { PayReservationOptions } from '../../core/usecases/reservations/pay-reservation.js';
import { PayReservation } from '../../core/usecases/reservations/pay-reservation.js';
import { ReserveSeat } from '../../core/usecases/reservations/reserve-seat.js';

export const TEST_HOLD_TTL_MS = 60_000;

export interface SalesPorts {
  readonly lock: LockPort;
  readonly tx: TransactionPort;
  readonly clock: Clock;
  readonly expireToken: ExpireToken;
  readonly ids?: IdGenerator;
  readonly holdTtlMs?: number;
  readonly pay?: PayReservationOptions;
  /** The catalog's cache; an in-process one on the given clock by default. */
  readonly catalogCache?: CatalogCache;
}

/** The catalog and reservation use cases over the given ports, wired as app/container.ts does. */
export function salesUseCases(ports: SalesPorts) {
  const { lock, tx, clock, expireToken } = ports;
  const ids = ports.ids ?? new UuidGenerator();
  const cache = ports.catalogCache ?? new CatalogCache(new MemoryCache(clock), tx);
  return {
    createConcert: new CreateConcert(tx, ids, cache),
    createSchedule: new CreateSchedule(tx, ids, cache),
    listConcerts: new ListConcerts(tx, cache),
    listSchedules: new ListSchedules(tx, clock, cache),
    getSeatMap: new GetSeatMap(tx, clock, cache),
    reserveSeat: new ReserveSeat(lock, tx, clock, ids, cache, { holdTtlMs: ports.holdTtlMs ?? TEST_HOLD_TTL_MS }),
    payReservation: new PayReservation(lock, tx, clock, ids, expireToken, cache, ports.pay ?? { lockWaitMs: 2_000 }),
    getReservation: new GetReservation(tx, clock),
    expireHolds: new ExpireHolds(lock, tx, clock, cache),
  };
}
