import { MemoryCache } from '../../adapters/memory/memory-cache.js';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
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
import { ExtendToken } from '../../core/usecases/queue/extend-token.js';
import { ExpireHolds } from '../../core/usecases/reservations/expire-holds.js';
import { GetReservation } from '../../core/usecases/reservations/get-reservation.js';
import { ListUserReservations } from '../../core/usecases/reservations/list-user-reservations.js';
import type { PayReservationOptions } from '../../core/usecases/reservations/pay-reservation.js';
import { PayReservation } from '../../core/usecases/reservations/pay-reservation.js';
import type { ReserveSeatOptions } from '../../core/usecases/reservations/reserve-seat.js';
import { ReserveSeat } from '../../core/usecases/reservations/reserve-seat.js';

export const TEST_HOLD_TTL_MS = 60_000;
/** MAX_SEATS_PER_USER's default. */
export const TEST_MAX_SEATS_PER_USER = 4;

export interface SalesPorts {
  readonly lock: LockPort;
  readonly tx: TransactionPort;
  readonly clock: Clock;
  readonly expireToken: ExpireToken;
  /** Over the same queue as `expireToken`; by default over a queue of its own, where no token is ACTIVE (so none is extended). */
  readonly extendToken?: ExtendToken;
  readonly ids?: IdGenerator;
  readonly holdTtlMs?: number;
  readonly maxSeatsPerUser?: number;
  /** Reserving's other options; `holdTtlMs` and `maxSeatsPerUser` above win over these. */
  readonly reserve?: Partial<ReserveSeatOptions>;
  readonly pay?: PayReservationOptions;
  /** The catalog's cache; an in-process one on the given clock by default. */
  readonly catalogCache?: CatalogCache;
}

/** The catalog and reservation use cases over the given ports, wired as app/container.ts does. */
export function salesUseCases(ports: SalesPorts) {
  const { lock, tx, clock, expireToken } = ports;
  const ids = ports.ids ?? new UuidGenerator();
  const cache = ports.catalogCache ?? new CatalogCache(new MemoryCache(clock), tx);
  const extendToken = ports.extendToken ?? new ExtendToken(new MemoryQueue(), clock);
  const reserveOptions: ReserveSeatOptions = {
    userLockWaitMs: 2_000,
    ...ports.reserve,
    holdTtlMs: ports.holdTtlMs ?? ports.reserve?.holdTtlMs ?? TEST_HOLD_TTL_MS,
    maxSeatsPerUser: ports.maxSeatsPerUser ?? ports.reserve?.maxSeatsPerUser ?? TEST_MAX_SEATS_PER_USER,
  };
  return {
    createConcert: new CreateConcert(tx, ids, cache),
    createSchedule: new CreateSchedule(tx, ids, cache),
    listConcerts: new ListConcerts(tx, cache),
    listSchedules: new ListSchedules(tx, clock, cache),
    getSeatMap: new GetSeatMap(tx, clock, cache),
    reserveSeat: new ReserveSeat(lock, tx, clock, ids, cache, extendToken, reserveOptions),
    payReservation: new PayReservation(lock, tx, clock, ids, expireToken, cache, ports.pay ?? { lockWaitMs: 2_000 }),
    getReservation: new GetReservation(tx, clock),
    listUserReservations: new ListUserReservations(tx, clock),
    expireHolds: new ExpireHolds(lock, tx, clock, cache),
  };
}
