import type { Migration, MigrationProvider } from 'kysely';
import * as points from './0001-points.js';
import * as catalogReservations from './0002-catalog-reservations.js';
import * as seatLimitAndPaging from './0003-seat-limit-and-paging.js';
import * as idempotencyKeysCreatedAt from './0004-idempotency-keys-created-at.js';
import * as reservationsPendingByUser from './0005-reservations-pending-by-user.js';

/**
 * Migrations listed in code, not read from a folder: FileMigrationProvider
 * needs file paths that differ between tsx and compiled output, and a bundle
 * has no folder at all. Names sort in the order they run.
 */
const migrations: Record<string, Migration> = {
  '0001-points': points,
  '0002-catalog-reservations': catalogReservations,
  '0003-seat-limit-and-paging': seatLimitAndPaging,
  '0004-idempotency-keys-created-at': idempotencyKeysCreatedAt,
  '0005-reservations-pending-by-user': reservationsPendingByUser,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
