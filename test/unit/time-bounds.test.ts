/**
 * The relations app/time-bounds.ts promises between its bounds. Each is
 * what keeps a stalled dependency from outliving a lock's lease or a
 * request's bound; changing one value without the others fails here.
 */
import { describe, expect, it } from 'vitest';
import {
  DATABASE_TIME_BOUNDS,
  DB_CONNECT_TIMEOUT_MS,
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  DB_LOCK_TIMEOUT_MS,
  DB_QUERY_TIMEOUT_MS,
  DB_STATEMENT_TIMEOUT_MS,
  DB_TRANSACTION_BUDGET_MS,
  DB_TRANSACTION_MAX_MS,
  HTTP_REQUEST_TIMEOUT_MS,
  HTTP_REQUEST_WORST_CASE_MS,
  LOCK_LEASE_MS,
  LOCK_REFRESH_INTERVAL_MS,
  LOCK_WAIT_MS,
  REDIS_COMMAND_TIMEOUT_MS,
} from '../../app/time-bounds.js';

describe('time bounds', () => {
  it('ends a lock wait as a lock timeout (409), before the statement timeout (503) could', () => {
    expect(DB_LOCK_TIMEOUT_MS).toBeLessThan(DB_STATEMENT_TIMEOUT_MS);
  });

  it("lets a live server's own cancel arrive before the client gives the connection up", () => {
    expect(DB_QUERY_TIMEOUT_MS).toBeGreaterThan(DB_STATEMENT_TIMEOUT_MS);
  });

  it('bounds a whole transaction, every bound hit in the worst order, below the lease: the work under a lock ends before its lease could be lost', () => {
    // Statements start within the budget (or connecting and BEGIN used it up); the last runs to the query timeout; then COMMIT or ROLLBACK.
    const worst = Math.max(DB_TRANSACTION_BUDGET_MS, DB_CONNECT_TIMEOUT_MS + DB_QUERY_TIMEOUT_MS) + 2 * DB_QUERY_TIMEOUT_MS;
    expect(DB_TRANSACTION_MAX_MS).toBe(worst);
    expect(DB_TRANSACTION_MAX_MS).toBeLessThan(LOCK_LEASE_MS);
  });

  it("ends a frozen holder's idle transaction on the server before its lease can end, and never a live one", () => {
    // The last refresh may precede the last statement by up to a refresh interval.
    expect(DB_IDLE_IN_TRANSACTION_TIMEOUT_MS).toBeLessThan(LOCK_LEASE_MS - LOCK_REFRESH_INTERVAL_MS);
    // A live transaction's gaps are event-loop lag; a second is already far beyond it.
    expect(DB_IDLE_IN_TRANSACTION_TIMEOUT_MS).toBeGreaterThanOrEqual(1_000);
  });

  it('sets the request timeout above the worst case of every bound inside a request, so it fires only when one is missing', () => {
    const worst = 2 * (DB_CONNECT_TIMEOUT_MS + DB_QUERY_TIMEOUT_MS) + LOCK_WAIT_MS + DB_TRANSACTION_MAX_MS + 5 * REDIS_COMMAND_TIMEOUT_MS;
    expect(HTTP_REQUEST_WORST_CASE_MS).toBe(worst);
    expect(HTTP_REQUEST_TIMEOUT_MS).toBeGreaterThan(worst);
  });

  it('hands createKysely exactly these values', () => {
    expect(DATABASE_TIME_BOUNDS).toMatchObject({
      connectTimeoutMs: DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: DB_STATEMENT_TIMEOUT_MS,
      lockTimeoutMs: DB_LOCK_TIMEOUT_MS,
      idleInTransactionTimeoutMs: DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      queryTimeoutMs: DB_QUERY_TIMEOUT_MS,
    });
  });
});
