/**
 * One cell of the comparison: a strategy on a workload. Seeds the
 * workload's rows, drives it with the callers while sampling the
 * database's connections, then counts the anomalies from the database.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../adapters/kysely/schema.js';
import type { LockPort } from '../../core/ports/lock.port.js';
import type { Latency } from '../support.js';
import type { PoolGauge } from './database.js';
import { sampleActivity } from './database.js';
import { drive, OK } from './drive.js';
import type { Anomalies } from './invariants.js';
import { checkInvariants } from './invariants.js';
import type { WorkCounters } from './strategies/bench-transaction.js';
import { newCounters } from './strategies/bench-transaction.js';
import type { Strategy, StrategyId } from './strategies/strategies.js';
import { useCases } from './use-cases.js';
import type { Sizes, WorkloadId } from './workloads.js';
import { prepare } from './workloads.js';

export interface Cell {
  readonly strategy: StrategyId;
  readonly workload: WorkloadId;
  readonly requests: number;
  readonly ok: number;
  /** Outcome code → requests (OK included). */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly elapsedS: number;
  /** Answered requests per second, whatever the answer. */
  readonly requestsPerS: number;
  readonly okPerS: number;
  readonly latency: Latency;
  readonly work: WorkCounters;
  /** Mean and max over the samples: server connections waiting on a lock, idle inside a transaction; callers waiting for a pooled connection. */
  readonly connections: { readonly lockWaitMean: number; readonly lockWaitMax: number; readonly idleInTxMean: number; readonly idleInTxMax: number; readonly poolWaitMean: number };
  readonly anomalies: Anomalies;
  readonly okPerRound: readonly number[];
}

export interface CellEnv {
  readonly db: Kysely<Database>;
  readonly gauge: PoolGauge;
  readonly databaseUrl: string;
  readonly redisLock: LockPort;
  readonly sizes: Sizes;
  readonly capS: number;
  readonly log: (message: string) => void;
}

let runs = 0;

const mean = (values: readonly number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);

export async function runCell(env: CellEnv, strategy: Strategy, workload: WorkloadId): Promise<Cell> {
  const tag = `x${++runs}`;
  const prepared = await prepare(env.db, workload, tag, env.sizes);
  const work = newCounters();
  const { lock, tx } = strategy.build({ db: env.db, redisLock: env.redisLock, counters: work });
  const sampler = await sampleActivity(env.databaseUrl, env.gauge, 20);
  let samples: Awaited<ReturnType<typeof sampler.stop>> = [];
  let driven: Awaited<ReturnType<typeof drive>>;
  try {
    driven = await drive(prepared, useCases(lock, tx), env.sizes.callers, env.capS);
  } finally {
    samples = await sampler.stop();
  }
  if (driven.firstError !== undefined) env.log(`  unexpected error: ${String(driven.firstError)}`);
  const anomalies = await checkInvariants(env.db, tag, driven.expectedBalances);
  const ok = driven.outcomes.get(OK) ?? 0;
  return {
    strategy: strategy.id,
    workload,
    requests: driven.requests,
    ok,
    outcomes: Object.fromEntries(driven.outcomes),
    elapsedS: driven.elapsedS,
    requestsPerS: driven.requests / driven.elapsedS,
    okPerS: ok / driven.elapsedS,
    latency: driven.latency,
    work,
    connections: {
      lockWaitMean: mean(samples.map((s) => s.lockWait)),
      lockWaitMax: Math.max(0, ...samples.map((s) => s.lockWait)),
      idleInTxMean: mean(samples.map((s) => s.idleInTx)),
      idleInTxMax: Math.max(0, ...samples.map((s) => s.idleInTx)),
      poolWaitMean: mean(samples.map((s) => s.poolWaiting)),
    },
    anomalies,
    okPerRound: driven.okPerRound,
  };
}
