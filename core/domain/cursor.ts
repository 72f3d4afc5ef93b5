import { ValidationError } from './errors.js';

/**
 * Cursor paging (API.md: history and reservation lists). A cursor is the
 * position of the last item a page returned, opaque to clients: `c1.` and
 * the position in base 36. Positions grow with every insert (an identity
 * column), and a page is "positions below the cursor, newest first", so
 * following `nextCursor` walks a list exactly once even while new items
 * land at its head. Anything that does not decode is 400 VALIDATION_FAILED.
 */
const CURSOR_PATTERN = /^c1\.[0-9a-z]{1,11}$/;

export function encodeCursor(position: number): string {
  return `c1.${position.toString(36)}`;
}

export function decodeCursor(cursor: string): number {
  const position = CURSOR_PATTERN.test(cursor) ? Number.parseInt(cursor.slice(3), 36) : Number.NaN;
  if (!Number.isSafeInteger(position) || position <= 0) throw new ValidationError('cursor', 'is not a cursor this service issued');
  return position;
}

/** One page of a list, newest first; `nextCursor` is undefined on the last page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | undefined;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 100;

/** Something listed with its position, for the cursor of the page it ends. */
export type Positioned<T> = T & { readonly position: number };

/**
 * The page of `limit` items out of `fetched`, which the repository read
 * with `limit + 1` rows: the extra row only says whether another page follows.
 */
export function toPage<T>(fetched: readonly Positioned<T>[], limit: number): Page<Positioned<T>> {
  const items = fetched.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: fetched.length > limit && last !== undefined ? encodeCursor(last.position) : undefined };
}
