import { ValidationError } from './errors.js';

/**
 * Input rules of the catalog, in the core so that every adapter gets the
 * same ones; exported so that the HTTP edge documents them in OpenAPI.
 */
export const MAX_TEXT_LENGTH = 200;
export const TEXT_RULE = `must be 1 to ${MAX_TEXT_LENGTH} characters, not only spaces`;

/** A name shown to buyers (title, venue): trimmed, never blank. */
export function requireText(field: string, value: string): string {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_TEXT_LENGTH) throw new ValidationError(field, TEXT_RULE);
  return trimmed;
}

/** ISO-8601 date and time with an explicit offset: a start time without one means a different instant per server. */
export const DATE_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
export const DATE_TIME_RULE = 'must be an ISO-8601 date and time with an offset, e.g. 2026-05-01T19:00:00Z';

/** The instant of an ISO-8601 string; refuses what Date would silently roll over (February 31st). */
export function parseDateTime(field: string, value: string): Date {
  const match = DATE_TIME_PATTERN.exec(value);
  const at = Date.parse(value);
  if (match === null || Number.isNaN(at)) throw new ValidationError(field, DATE_TIME_RULE);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) throw new ValidationError(field, DATE_TIME_RULE);
  return new Date(at);
}
