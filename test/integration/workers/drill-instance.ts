/**
 * One app instance of a multi-process drill, wired exactly as production
 * wires it (app/application.ts: the Redis lock with its 10 s lease, the
 * Postgres pool and transactions with every time bound of
 * app/time-bounds.ts, the hold sweeper job), on the drill's own Redis and
 * database named by the environment. The drill drives its use cases
 * directly, not through HTTP: what it is about is locks and transactions
 * across processes, not routes or tokens.
 *
 * It talks in JSON lines (test/support/line-worker.ts): events on stdout,
 * commands on stdin.
 */
import { createInterface } from 'node:readline';
import type { Application } from '../../../app/application.js';
import { createApplication } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { required } from './sale-worker-support.js';

/** Not checked by anyone (no HTTP here), but a distributed config must name how tokens are verified. */
const SECRET = 'drill-instance-secret-0123456789abcdef';

/** The buyers of the drills have no queue token; this one names nobody and outlives every hold, so none is extended or spent. */
export const NO_TOKEN = { token: 'no-such-token-0000', tokenExpiresAt: new Date(Date.now() + 24 * 3_600_000) } as const;

export async function startDrillInstance(): Promise<Application> {
  return createApplication(
    loadConfig({
      DATABASE_URL: required('DATABASE_URL'),
      REDIS_URL: required('REDIS_URL'),
      REDIS_PREFIX: required('REDIS_PREFIX'),
      AUTH_JWT_SECRET: SECRET,
      LOG_LEVEL: 'silent',
      SEED_DEMO: 'false',
      // The instance's own holds, and so how often its sweeper runs (a quarter of it).
      HOLD_TTL_SECONDS: required('HOLD_TTL_SECONDS'),
      // No one waits in line here.
      QUEUE_ADMIT_INTERVAL_MS: '3600000',
      DATABASE_POOL_SIZE: '10',
    }),
  );
}

/** Prints one event line for the test. */
export function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** Calls `handle` with each command line the test writes to stdin. */
export function onCommand(handle: (command: Record<string, unknown>) => void): void {
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== '') handle(JSON.parse(line) as Record<string, unknown>);
  });
}
