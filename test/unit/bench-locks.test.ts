import { describe, expect, it } from 'vitest';
import { statementLabel } from '../../bench/locks/database.js';
import { parseKey } from '../../bench/locks/strategies/database-locks.js';
import { lockKeys } from '../../core/keys.js';

/**
 * The lock report's row-lock strategy finds the row behind each lock key by
 * reading the key back: a key read wrongly would lock no row at all, and
 * that strategy would be measured without its locks.
 */
describe('bench/locks: reading a lock key back to its row', () => {
  it('gives back the ids a key was built from, escapes undone', () => {
    expect(parseKey(lockKeys.seat('s:1%', 7))).toEqual({ family: 'seat', parts: ['s:1%', '7'] });
    expect(parseKey(lockKeys.userSeats('sched', 'u:x'))).toEqual({ family: 'user-seats', parts: ['sched', 'u:x'] });
    expect(parseKey(lockKeys.reservation('r1'))).toEqual({ family: 'reservation', parts: ['r1'] });
  });

  it('never reads an escaped % followed by 3A as a colon', () => {
    expect(parseKey(lockKeys.points('a%3Ab'))).toEqual({ family: 'point', parts: ['a%3Ab'] });
    expect(parseKey(lockKeys.points('%25'))).toEqual({ family: 'point', parts: ['%25'] });
  });
});

describe('bench/locks: naming the steps of a lock hold', () => {
  it('names BEGIN, COMMIT and each statement by its kind and table', () => {
    expect(statementLabel('start transaction isolation level read committed')).toBe('BEGIN');
    expect(statementLabel('commit')).toBe('COMMIT');
    expect(statementLabel('update "seats" set "status" = $1')).toBe('update seats');
    expect(statementLabel('select "balance" from "user_points" where "user_id" = $1')).toBe('select user_points');
    expect(statementLabel('insert into "point_history" ("user_id") values ($1)')).toBe('insert into point_history');
    expect(statementLabel('with "expired" as (update "reservations" set "status" = $1)')).toBe('with expired (cte)');
  });
});
