import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import type { ServiceIdentifier } from 'inversify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HealthChecks } from '../adapters/http/operations-routes.js';
import type { Database } from '../adapters/kysely/schema.js';
import type { Clock } from '../core/ports/clock.port.js';
import type { LockPort } from '../core/ports/lock.port.js';
import type { TransactionPort } from '../core/ports/transaction.port.js';
import type { ChargePoints } from '../core/usecases/charge-points.js';
import type { GetBalance } from '../core/usecases/get-balance.js';
import type { GetPointHistory } from '../core/usecases/get-point-history.js';
import type { Config } from './config.js';

function token<T>(name: string): ServiceIdentifier<T> {
  return Symbol.for(`concert-ticketing.${name}`);
}

/** Typed identifiers of everything the container builds. */
export const TOKENS = {
  Config: token<Config>('Config'),
  Logger: token<Logger>('Logger'),
  Metrics: token<Registry>('Metrics'),
  Clock: token<Clock>('Clock'),

  Kysely: token<Kysely<Database>>('Kysely'),
  Redis: token<Redis>('Redis'),

  Lock: token<LockPort>('LockPort'),
  Transaction: token<TransactionPort>('TransactionPort'),

  ChargePoints: token<ChargePoints>('ChargePoints'),
  GetBalance: token<GetBalance>('GetBalance'),
  GetPointHistory: token<GetPointHistory>('GetPointHistory'),

  HealthChecks: token<HealthChecks>('HealthChecks'),
  HttpApp: token<OpenAPIHono>('HttpApp'),
} as const;
