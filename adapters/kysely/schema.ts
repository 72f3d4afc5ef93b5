import type { ColumnType, Generated, GeneratedAlways } from 'kysely';
import type { PointKind } from '../../core/domain/points.js';

/** Table types for Kysely; the migrations in migrations/ are what creates them. */
export interface Database {
  user_points: UserPointsTable;
  point_history: PointHistoryTable;
  idempotency_keys: IdempotencyKeysTable;
}

export interface UserPointsTable {
  user_id: string;
  balance: number;
  updated_at: Generated<Date>;
}

export interface PointHistoryTable {
  // bigint: pg hands int8 back as a string, so that no id is ever rounded.
  id: GeneratedAlways<string>;
  user_id: string;
  kind: PointKind;
  amount: number;
  balance_after: number;
  created_at: Date;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  fingerprint: string;
  // Written as JSON text (pg would turn a JS array into a Postgres array), read back parsed.
  response: ColumnType<unknown, string | null, string | null>;
  created_at: Generated<Date>;
}
