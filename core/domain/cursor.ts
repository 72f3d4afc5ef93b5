import { ValidationError } from './errors.js';
import { requireIntegerInRange } from './validation.js';

/**
 * Cursor paging (API.md: history and reservation lists). A cursor is the
 * position of the last item a page returned, opaque to clients: `c1.` and
 * the position in base 36. Positions grow with every insert (an identity
 * column), and a page is "positions below the cursor, newest first", so
 * following `nextCursor` walks a list exactly once even while new items
 * land at its head. Anything that does not decode is 400 VALIDATION_FAILED.
 */
const CURSOR_PATTERN = /^c1\.[0-9a-z]{1,11}$/;

function encodeCursor(position: number): string {
  return `c1.${position.toString(36)}`;
}

function decodeCursor(cursor: string): number {
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

/** What a client asks of a paged list: how many, and where the previous page ended. */
export interface PageRequest {
  /** 1 to MAX_PAGE_LIMIT; DEFAULT_PAGE_LIMIT when absent. */
  readonly limit?: number;
  /** The `nextCursor` of the page before; absent for the first page. */
  readonly cursor?: string;
}

/**
 * One page of a list: validates the request (400 naming `limit` or
 * `cursor`), reads `limit + 1` rows below the cursor through `fetch` (the
 * extra row only says whether another page follows) and drops the positions,
 * which only the cursor carries.
 */
export async function readPage<T>(
  request: PageRequest,
  fetch: (limit: number, before: number | undefined) => Promise<readonly Positioned<T>[]>,
): Promise<Page<T>> {
  const limit = request.limit ?? DEFAULT_PAGE_LIMIT;
  requireIntegerInRange('limit', limit, 1, MAX_PAGE_LIMIT);
  const before = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
  const fetched = await fetch(limit + 1, before);
  const items = fetched.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(({ position: _, ...item }) => item as T),
    nextCursor: fetched.length > limit && last !== undefined ? encodeCursor(last.position) : undefined,
  };
}
