/**
 * The lock-hold profile of what ships (RedisLock + KyselyTransactionManager):
 * a charge's hold of its wallet key and a reserve's hold of its seat key,
 * from the work starting under the lock to the key released, broken into
 * its parts: the wait for a pooled connection, BEGIN, each statement,
 * COMMIT, the release's round trip to Redis, and the rest (JavaScript and
 * turns of a busy event loop between those steps). At 32 callers and at 4,
 * and at 32 with the two remedies the issue names: the pooled connection
 * reserved before the lock is taken, and requests in flight bounded.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import { KyselyTransactionManager } from '../../adapters/kysely/kysely-transaction.js';
import type { Database } from '../../adapters/kysely/schema.js';
import { DB_TRANSACTION_BUDGET_MS } from '../../app/time-bounds.js';
import type { Lease, LockOptions, LockPort } from '../../core/ports/lock.port.js';
import type { TransactionOptions, TransactionPort, UnitOfWork } from '../../core/ports/transaction.port.js';
import type { Latency } from '../support.js';
import { summarise } from '../support.js';
import type { PoolGauge, Trace } from './database.js';
import { traces } from './database.js';
import { drive } from './drive.js';
import { useCases } from './use-cases.js';
import type { Sizes, UseCases, WorkloadId } from './workloads.js';
import { prepare } from './workloads.js';

/** Requests in flight at once under the bounded variants: 4 per core of this 2-core machine, well under the pool's 20. */
export const IN_FLIGHT = 8;

export interface Variant {
  readonly id: string;
  readonly name: string;
  readonly callers: number;
  readonly connectionFirst: boolean;
  readonly inFlight?: number;
}

export const VARIANTS: readonly Variant[] = [
  { id: 'ships-32', name: 'ships, 32 callers', callers: 32, connectionFirst: false },
  { id: 'ships-4', name: 'ships, 4 callers', callers: 4, connectionFirst: false },
  { id: 'conn-first-32', name: 'connection reserved before the lock, 32 callers', callers: 32, connectionFirst: true },
  { id: 'bounded-32', name: `${IN_FLIGHT} in flight, 32 callers`, callers: 32, connectionFirst: false, inFlight: IN_FLIGHT },
  { id: 'both-32', name: `connection first + ${IN_FLIGHT} in flight, 32 callers`, callers: 32, connectionFirst: true, inFlight: IN_FLIGHT },
];

export const PROFILED: readonly WorkloadId[] = ['charge-distinct', 'reserve-distinct'];

/** The remedy's trade-off, measured: on one hot wallet, a connection reserved before the lock is held while its caller waits for the key. */
export const TRADE_OFF: { readonly workload: WorkloadId; readonly variants: readonly Variant[] } = {
  workload: 'charge-hot',
  variants: VARIANTS.filter((variant) => ['ships-32', 'conn-first-32', 'bounded-32'].includes(variant.id)),
};

/** One part of the hold: its mean per hold (ms), its p50 over the holds (ms), and its share of the mean hold. */
export interface Part {
  readonly label: string;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly share: number;
}

export interface Profile {
  readonly variant: Variant;
  readonly workload: WorkloadId;
  readonly hold: Latency;
  readonly parts: readonly Part[];
  readonly okPerS: number;
  readonly latency: Latency;
  /** Event-loop delay over the run (perf_hooks.monitorEventLoopDelay), ms. */
  readonly loopDelay: { readonly p50: number; readonly p99: number };
  /** Callers waiting for a pooled connection, mean over 10 ms samples. */
  readonly poolWaitMean: number;
  /** Requests refused (any answer but OK). */
  readonly refused: number;
  /** Round trips to Postgres per hold (BEGIN, each statement, COMMIT), mean. */
  readonly statementsPerHold: number;
}

interface HoldSample {
  readonly holdMs: number;
  readonly releaseMs: number;
  readonly steps: Trace['steps'];
}

export const CONNECTION = 'wait for a pooled connection';
export const RELEASE = 'release (Redis round trip)';
export const OTHER = 'JavaScript + event-loop queue between steps';

/** Times the holds of the keys of one family (`point`, `seat`), with what the work under them did (database.ts records it). */
class ProfilingLock implements LockPort {
  readonly samples: HoldSample[] = [];

  constructor(
    private readonly inner: LockPort,
    private readonly family: string,
  ) {}

  async withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>, options: LockOptions): Promise<T> {
    if (!keys.some((key) => key.startsWith(`${this.family}:`))) return this.inner.withLock(keys, work, options);
    const trace: Trace = { steps: [] };
    let started: number | undefined;
    let workEnded = 0;
    try {
      return await this.inner.withLock(
        keys,
        (lease) => {
          started = performance.now();
          return traces.run(trace, () => work(lease)).finally(() => (workEnded = performance.now()));
        },
        options,
      );
    } finally {
      const released = performance.now();
      if (started !== undefined) this.samples.push({ holdMs: released - started, releaseMs: released - workEnded, steps: trace.steps });
    }
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}

const bound = new AsyncLocalStorage<Kysely<Database>>();

/** Takes a pooled connection before the lock, and keeps it for the transaction that runs under the lock (outermost call only). */
class ConnectionFirstLock implements LockPort {
  constructor(
    private readonly inner: LockPort,
    private readonly db: Kysely<Database>,
  ) {}

  withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>, options: LockOptions): Promise<T> {
    if (bound.getStore() !== undefined) return this.inner.withLock(keys, work, options);
    return this.db.connection().execute((connection) => bound.run(connection, () => this.inner.withLock(keys, work, options)));
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}

/** The shipped transaction manager, on the connection ConnectionFirstLock reserved when there is one. */
class ConnectionBoundTransaction implements TransactionPort {
  constructor(private readonly pooled: TransactionPort) {}

  run<T>(work: (uow: UnitOfWork) => Promise<T>, options?: TransactionOptions<T>): Promise<T> {
    const connection = bound.getStore();
    if (connection === undefined) return this.pooled.run(work, options);
    return new KyselyTransactionManager(connection, { budgetMs: DB_TRANSACTION_BUDGET_MS }).run(work, options);
  }

  read<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.pooled.read(work);
  }

  ping(): Promise<void> {
    return this.pooled.ping();
  }
}

/** At most `n` use-case calls at once; the rest wait their turn in front of them, as a bounded server would queue requests. */
function limitInFlight(uc: UseCases, n: number): UseCases {
  let running = 0;
  const waiting: (() => void)[] = [];
  const gate = async <T>(call: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await call();
    } finally {
      const next = waiting.shift();
      if (next === undefined) running--;
      else next();
    }
  };
  return {
    charge: { execute: (input) => gate(() => uc.charge.execute(input)) } as UseCases['charge'],
    reserve: { execute: (input) => gate(() => uc.reserve.execute(input)) } as UseCases['reserve'],
    pay: { execute: (input) => gate(() => uc.pay.execute(input)) } as UseCases['pay'],
  };
}

function parts(samples: readonly HoldSample[]): Part[] {
  const perHold = samples.map((sample) => {
    const byLabel = new Map<string, number>();
    for (const step of sample.steps) byLabel.set(step.label, (byLabel.get(step.label) ?? 0) + step.ms);
    byLabel.set(RELEASE, sample.releaseMs);
    const accounted = [...byLabel.values()].reduce((a, b) => a + b, 0);
    byLabel.set(OTHER, Math.max(0, sample.holdMs - accounted));
    return byLabel;
  });
  const labels = new Set(perHold.flatMap((m) => [...m.keys()]));
  const meanHold = samples.reduce((sum, s) => sum + s.holdMs, 0) / Math.max(1, samples.length);
  return [...labels]
    .map((label) => {
      const values = perHold.map((m) => m.get(label) ?? 0);
      const meanMs = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
      return { label, meanMs, p50Ms: summarise(values).p50, share: meanMs / meanHold };
    })
    .sort((a, b) => b.meanMs - a.meanMs);
}

export interface ProfileEnv {
  readonly db: Kysely<Database>;
  readonly gauge: PoolGauge;
  readonly redisLock: LockPort;
  readonly sizes: Sizes;
  readonly capS: number;
}

let runs = 0;

export async function profileHold(env: ProfileEnv, workload: WorkloadId, variant: Variant): Promise<Profile> {
  const prepared = await prepare(env.db, workload, `p${++runs}`, { ...env.sizes, callers: variant.callers });
  const profiling = new ProfilingLock(env.redisLock, workload.startsWith('charge') ? 'point' : 'seat');
  const shipped = new KyselyTransactionManager(env.db, { budgetMs: DB_TRANSACTION_BUDGET_MS });
  const lock = variant.connectionFirst ? new ConnectionFirstLock(profiling, env.db) : profiling;
  const tx = variant.connectionFirst ? new ConnectionBoundTransaction(shipped) : shipped;
  const uc = useCases(lock, tx);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const poolWaiting: number[] = [];
  const sampler = setInterval(() => poolWaiting.push(env.gauge.waiting), 10);
  loop.enable();
  const driven = await drive(prepared, variant.inFlight === undefined ? uc : limitInFlight(uc, variant.inFlight), variant.callers, env.capS).finally(() => {
    loop.disable();
    clearInterval(sampler);
  });
  const ok = driven.outcomes.get('OK') ?? 0;
  return {
    variant,
    workload,
    hold: summarise(profiling.samples.map((s) => s.holdMs)),
    parts: parts(profiling.samples),
    okPerS: ok / driven.elapsedS,
    latency: driven.latency,
    loopDelay: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6 },
    poolWaitMean: poolWaiting.reduce((a, b) => a + b, 0) / Math.max(1, poolWaiting.length),
    refused: driven.requests - ok,
    statementsPerHold:
      profiling.samples.reduce((sum, sample) => sum + sample.steps.filter((step) => step.label !== CONNECTION).length, 0) / Math.max(1, profiling.samples.length),
  };
}
