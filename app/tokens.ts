import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import type { ServiceIdentifier } from 'inversify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HealthChecks } from '../adapters/http/operations-routes.js';
import type { SeatStreams } from '../adapters/http/seat-stream.js';
import type { Database } from '../adapters/kysely/schema.js';
import type { AccessTokenVerifier } from '../core/ports/access-token-verifier.port.js';
import type { Clock } from '../core/ports/clock.port.js';
import type { IdGenerator } from '../core/ports/id-generator.port.js';
import type { LockPort } from '../core/ports/lock.port.js';
import type { QueuePort } from '../core/ports/queue.port.js';
import type { TransactionPort } from '../core/ports/transaction.port.js';
import type { ChargePoints } from '../core/usecases/charge-points.js';
import type { GetBalance } from '../core/usecases/get-balance.js';
import type { GetPointHistory } from '../core/usecases/get-point-history.js';
import type { AdmissionRate } from '../core/usecases/queue/admission-rate.js';
import type { AdmitWaiters } from '../core/usecases/queue/admit-waiters.js';
import type { ExpireToken } from '../core/usecases/queue/expire-token.js';
import type { ExtendToken } from '../core/usecases/queue/extend-token.js';
import type { GetCurrentToken } from '../core/usecases/queue/get-current-token.js';
import type { LeaveQueue } from '../core/usecases/queue/leave-queue.js';
import type { IssueToken } from '../core/usecases/queue/issue-token.js';
import type { RequireActiveToken } from '../core/usecases/queue/require-active-token.js';
import type { CreateConcert } from '../core/usecases/catalog/create-concert.js';
import type { CreateSchedule } from '../core/usecases/catalog/create-schedule.js';
import type { GetSeatMap } from '../core/usecases/catalog/get-seat-map.js';
import type { ListConcerts } from '../core/usecases/catalog/list-concerts.js';
import type { ListSchedules } from '../core/usecases/catalog/list-schedules.js';
import type { SeedDemoCatalog } from '../core/usecases/catalog/seed-demo-catalog.js';
import type { ExpireHolds } from '../core/usecases/reservations/expire-holds.js';
import type { GetReservation } from '../core/usecases/reservations/get-reservation.js';
import type { ListUserReservations } from '../core/usecases/reservations/list-user-reservations.js';
import type { PayReservation } from '../core/usecases/reservations/pay-reservation.js';
import type { ReserveSeat } from '../core/usecases/reservations/reserve-seat.js';
import type { Config } from './config.js';
import type { PeriodicJob } from './jobs/periodic-job.js';
import type { CachePort } from '../core/ports/cache.port.js';
import type { CatalogCache } from '../core/usecases/catalog/catalog-cache.js';

function token<T>(name: string): ServiceIdentifier<T> {
  return Symbol.for(`concert-ticketing.${name}`);
}

/** Typed identifiers of everything the container builds. */
export const TOKENS = {
  Config: token<Config>('Config'),
  Logger: token<Logger>('Logger'),
  Metrics: token<Registry>('Metrics'),
  Clock: token<Clock>('Clock'),
  TokenGenerator: token<IdGenerator>('TokenGenerator'),
  /** Row ids (concerts, schedules, reservations, payments); queue tokens come from TokenGenerator. */
  IdGenerator: token<IdGenerator>('IdGenerator'),

  Kysely: token<Kysely<Database>>('Kysely'),
  Redis: token<Redis>('Redis'),

  Lock: token<LockPort>('LockPort'),
  Transaction: token<TransactionPort>('TransactionPort'),
  Queue: token<QueuePort>('QueuePort'),
  Cache: token<CachePort>('CachePort'),
  AccessTokens: token<AccessTokenVerifier>('AccessTokenVerifier'),
  CatalogCache: token<CatalogCache>('CatalogCache'),

  ChargePoints: token<ChargePoints>('ChargePoints'),
  GetBalance: token<GetBalance>('GetBalance'),
  GetPointHistory: token<GetPointHistory>('GetPointHistory'),
  AdmissionRate: token<AdmissionRate>('AdmissionRate'),
  IssueToken: token<IssueToken>('IssueToken'),
  GetCurrentToken: token<GetCurrentToken>('GetCurrentToken'),
  LeaveQueue: token<LeaveQueue>('LeaveQueue'),
  ExtendToken: token<ExtendToken>('ExtendToken'),
  AdmitWaiters: token<AdmitWaiters>('AdmitWaiters'),
  ExpireToken: token<ExpireToken>('ExpireToken'),
  RequireActiveToken: token<RequireActiveToken>('RequireActiveToken'),

  CreateConcert: token<CreateConcert>('CreateConcert'),
  CreateSchedule: token<CreateSchedule>('CreateSchedule'),
  ListConcerts: token<ListConcerts>('ListConcerts'),
  ListSchedules: token<ListSchedules>('ListSchedules'),
  GetSeatMap: token<GetSeatMap>('GetSeatMap'),
  SeedDemoCatalog: token<SeedDemoCatalog>('SeedDemoCatalog'),
  ReserveSeat: token<ReserveSeat>('ReserveSeat'),
  PayReservation: token<PayReservation>('PayReservation'),
  GetReservation: token<GetReservation>('GetReservation'),
  ListUserReservations: token<ListUserReservations>('ListUserReservations'),
  ExpireHolds: token<ExpireHolds>('ExpireHolds'),

  AdmissionJob: token<PeriodicJob>('AdmissionJob'),
  HoldSweeperJob: token<PeriodicJob>('HoldSweeperJob'),
  IdempotencyPurgeJob: token<PeriodicJob>('IdempotencyPurgeJob'),

  HealthChecks: token<HealthChecks>('HealthChecks'),
  HttpApp: token<OpenAPIHono>('HttpApp'),
  /** The live seat-map streams; the server ends them first when it shuts down. */
  SeatStreams: token<SeatStreams>('SeatStreams'),
} as const;
