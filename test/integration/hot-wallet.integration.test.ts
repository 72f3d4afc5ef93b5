/**
 * One hot wallet over HTTP, on real Redis and Postgres (issue 10): 200
 * charges of one user sent at once all succeed within the wallet's bounded
 * wait (LOCK_WAIT_MS), because a release hands the wallet's key to the
 * next waiter at once. With waiters polling every 10 ms instead, the gap
 * after each release was the poll interval and whoever polled first won:
 * part of the 200 waited past the bound and answered 409 LOCK_BUSY.
 *
 * The service runs as an operator runs it, in a process of its own
 * (`app/main.ts`, distributed mode), so that the 200 requests' client side
 * does not share its event loop.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signAccessToken } from '../../adapters/auth/sign-access-token.js';
import { LOCK_WAIT_MS } from '../../app/time-bounds.js';
import { aUser, TEST_JWT_SECRET } from '../support/app-shapes.js';
import type { IsolatedDatabase } from '../support/isolated-database.js';
import { createIsolatedDatabase } from '../support/isolated-database.js';
import type { IsolatedRedis } from '../support/isolated-redis.js';
import { createIsolatedRedis } from '../support/isolated-redis.js';
import type { ServiceProcess } from './drills/service-process.js';
import { startService } from './drills/service-process.js';

const CHARGES = 200;
const AMOUNT = 3;
const METRICS_TOKEN = 'hot-wallet-metrics-token';

describe('a hot wallet over HTTP (the service in its own process: Redis lock, Postgres)', () => {
  let database: IsolatedDatabase;
  let redis: IsolatedRedis;
  let service: ServiceProcess;
  let url: string;

  beforeAll(async () => {
    database = await createIsolatedDatabase(inject('databaseUrl'));
    redis = createIsolatedRedis(inject('redisUrl'));
    service = startService({
      DATABASE_URL: database.url,
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: redis.prefix,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      METRICS_TOKEN,
      PORT: '0',
      SEED_DEMO: 'false',
      LOG_LEVEL: 'info', // its 'listening' line says where it is
    });
    url = await service.listening(30_000);
  }, 40_000);

  afterAll(async () => {
    service?.child.kill('SIGTERM');
    if ((await service?.exited(10_000)) === 'still running') await service.kill();
    await redis?.cleanup();
    await database?.drop();
  });

  it(`${CHARGES} concurrent charges of one wallet all answer 200, each waiting its turn within the bounded wait`, async () => {
    const user = aUser();
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${await signAccessToken(TEST_JWT_SECRET, user)}` };
    const charge = async () => {
      const response = await fetch(`${url}/users/${user}/points/charge`, { method: 'POST', headers, body: JSON.stringify({ amount: AMOUNT }) });
      return response.status === 200 ? 200 : `${response.status} ${((await response.json()) as { error?: { code?: string } }).error?.code}`;
    };
    const statuses = await Promise.all(Array.from({ length: CHARGES }, charge));

    const refused = statuses.filter((status) => status !== 200);
    // On failure, say whether the charges' own holds, back to back, already overran the wait (a machine too busy
    // to run them in time: no hand-over could help) or the time was lost between holds.
    const holdsMs = await lockHoldSumMs();
    expect(
      { answered200: CHARGES - refused.length, refused: [...new Set(refused)] },
      `the ${CHARGES - refused.length} wallet holds took ${holdsMs.toFixed(0)} ms back to back, against a wait of ${LOCK_WAIT_MS} ms`,
    ).toEqual({ answered200: CHARGES, refused: [] });
    const balance = await fetch(`${url}/users/${user}/points`, { headers });
    expect(await balance.json()).toMatchObject({ balance: CHARGES * AMOUNT });
  }, 60_000);

  /** The service's own lock_hold_seconds for wallets (this test's only lock), summed, in ms. */
  async function lockHoldSumMs(): Promise<number> {
    const text = await (await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const line = text.split('\n').find((l) => l.startsWith('lock_hold_seconds_sum{') && l.includes('family="point"'));
    return Number(line?.split(' ').at(-1)) * 1000;
  }
});
