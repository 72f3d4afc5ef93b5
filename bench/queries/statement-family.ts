/**
 * What a statement the service sends is, by its text as Kysely compiles it:
 * the catalog's read queries by name (the loads the cache saves), the rest
 * by their first word. Matched on fragments of the repositories' SQL; a
 * change there that breaks a match shows as that family dropping to 0.
 */
const FAMILIES: readonly [string, RegExp][] = [
  ['seat map', /from "seats" where "schedule_id" = \$1 order by "seat_no"/],
  ['schedules', /count\(seats\.seat_no\)/],
  ['concerts', /from "concerts" order by "created_at"/],
  ['find schedule', /from "schedules" where "id" = \$1/],
  ['find concert', /from "concerts" where "id" = \$1/],
];

export const CATALOG_LOADS = ['seat map', 'schedules', 'concerts'] as const;

export function statementFamily(text: string): string {
  for (const [name, pattern] of FAMILIES) if (pattern.test(text)) return name;
  return (/^\s*(\w+)/.exec(text)?.[1] ?? 'other').toLowerCase();
}

/** Every statement counted, whatever its family. */
export function totalOf(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}
