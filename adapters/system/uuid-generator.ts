import { randomUUID } from 'node:crypto';
import type { IdGenerator } from '../../core/ports/id-generator.port.js';

/**
 * Ids of rows (concerts, schedules, reservations, payments): random UUIDs,
 * so that several instances make ids without asking each other or the
 * database, and an id reveals nothing about how many others exist. A UUID
 * fits ID_PATTERN, so ids travel in paths unchanged.
 */
export class UuidGenerator implements IdGenerator {
  next(): string {
    return randomUUID();
  }
}
