import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { HttpDeps } from '../../adapters/http/create-http-app.js';
import { createHttpApp } from '../../adapters/http/create-http-app.js';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import { DependencyUnavailableError } from '../../core/domain/errors.js';
import { lockKeys } from '../../core/keys.js';
import { systemClock } from '../../core/ports/clock.port.js';
import type { TransactionPort } from '../../core/ports/transaction.port.js';
import { ChargePoints } from '../../core/usecases/charge-points.js';
import { GetBalance } from '../../core/usecases/get-balance.js';
import { GetPointHistory } from '../../core/usecases/get-point-history.js';
import { queueUseCases } from '../support/queue-use-cases.js';
import { salesUseCases } from '../support/sales-use-cases.js';
import { holdLock } from '../support/hold-lock.js';

/** The HTTP adapter over the in-memory adapters, with what a test wants to break swapped in. */
function anApp(overrides: { tx?: TransactionPort; health?: HttpDeps['health']; healthTimeoutMs?: number } = {}) {
  const lock = new MemoryLock(systemClock);
  const tx = overrides.tx ?? new MemoryTransactionManager();
  const logLines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  const { issueToken, getTokenStatus, requireActiveToken, expireToken } = queueUseCases(systemClock);
  const app = createHttpApp({
    ...salesUseCases({ lock, tx, clock: systemClock, expireToken }),
    requireActiveToken,
    adminToken: undefined,
    chargePoints: new ChargePoints(lock, tx, systemClock, { walletWaitMs: 50 }),
    getBalance: new GetBalance(tx),
    getPointHistory: new GetPointHistory(tx),
    issueToken,
    getTokenStatus,
    health: overrides.health ?? { database: () => tx.ping(), lock: () => lock.ping() },
    healthTimeoutMs: overrides.healthTimeoutMs,
    metrics: new Registry(),
    logger,
  });
  const charge = (userId: string, amount: number, headers: Record<string, string> = {}) =>
    app.request(`/users/${userId}/points/charge`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ amount }),
    });
  return { app, lock, logLines, charge };
}

/** Holds `key` until the returned release is called. */

describe('HTTP adapter', () => {
  it('answers 409 IDEMPOTENCY_IN_PROGRESS with Retry-After while the same key runs', async () => {
    const { lock, charge } = anApp();
    const release = await holdLock(lock, [lockKeys.idempotency('charge-points:u1', 'k1')]);
    const response = await charge('u1', 5, { 'Idempotency-Key': 'k1' });
    await release();
    expect(response.status).toBe(409);
    expect(response.headers.get('Retry-After')).toBe('1');
    expect(await response.json()).toMatchObject({ error: { code: 'IDEMPOTENCY_IN_PROGRESS' } });
  });

  it('answers 409 LOCK_BUSY when the wallet stays locked past the wait', async () => {
    const { lock, charge } = anApp();
    const release = await holdLock(lock, [lockKeys.points('u1')]);
    const response = await charge('u1', 5);
    await release();
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: { code: 'LOCK_BUSY' } });
  });

  it('answers 503 SERVICE_UNAVAILABLE when the database is down', async () => {
    const down: TransactionPort = {
      run: () => Promise.reject(new DependencyUnavailableError('database')),
      read: () => Promise.reject(new DependencyUnavailableError('database')),
      ping: () => Promise.reject(new DependencyUnavailableError('database')),
    };
    const { app, charge } = anApp({ tx: down });
    const response = await charge('u1', 5);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: 'database is unavailable' } });
    expect((await app.request('/users/u1/points')).status).toBe(503);
  });

  it('answers 500 INTERNAL for a bug, logs it with its stack, and does not leak its message', async () => {
    const broken: TransactionPort = {
      run: () => Promise.reject(new Error('secret detail')),
      read: () => Promise.reject(new Error('secret detail')),
      ping: async () => {},
    };
    const { app, logLines } = anApp({ tx: broken });
    const response = await app.request('/users/u1/points');
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(text).not.toContain('secret');
    const logged = logLines.find((line) => line.msg === 'unexpected error');
    expect(logged).toMatchObject({ level: 50, route: '/users/:userId/points', err: { message: 'secret detail' } });
    expect(String((logged?.err as { stack?: string }).stack)).toContain('secret detail');
  });

  it('logs one line per request with method, route template, status and time', async () => {
    const { app, logLines } = anApp();
    await app.request('/users/u1/points');
    expect(logLines.find((line) => line.msg === 'request')).toMatchObject({ method: 'GET', route: '/users/:userId/points', status: 200, ms: expect.any(Number) });
  });

  describe('GET /health', () => {
    it('answers 503 and names the check that is down', async () => {
      const { app } = anApp({
        health: { database: async () => {}, lock: () => Promise.reject(new Error('redis gone')), cache: async () => {} },
      });
      const response = await app.request('/health');
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'down', checks: { database: 'ok', lock: 'down', cache: 'ok' } });
    });

    it('counts a check that hangs as down after the timeout', async () => {
      const { app } = anApp({ health: { database: () => new Promise(() => {}), lock: async () => {} }, healthTimeoutMs: 20 });
      const started = Date.now();
      const response = await app.request('/health');
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'down', checks: { database: 'down', lock: 'ok' } });
    });
  });
});
