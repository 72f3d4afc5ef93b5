/**
 * Every lock key and cache key, in one place, so that two use cases writing
 * one resource cannot disagree on its key. Adapters add their own prefix.
 *
 * A key is its family's fixed name and a fixed number of parts, joined with
 * `:`. The parts come from users (ids may contain `:`, an Idempotency-Key
 * may be any visible ASCII), so each part is escaped: `%` becomes `%25` and
 * `:` becomes `%3A`. An escaped part holds no `:`, so splitting a key on `:`
 * gives back its family and its parts, and the escape is undone by reading
 * `%XX` back: two different tuples can never make one key (scope `charge:a`
 * with key `b:c` and scope `charge:a:b` with key `c` used to share
 * `idem:charge:a:b:c`). Escaping, not hashing, keeps keys readable in
 * redis-cli and the metrics, and an id without `:` or `%` (every UUID the
 * service makes) reads exactly as before.
 */
function part(value: string): string {
  return value.replace(/[%:]/g, (char) => (char === '%' ? '%25' : '%3A'));
}

function key(family: string, ...parts: readonly (string | number)[]): string {
  return [family, ...parts.map((p) => part(String(p)))].join(':');
}

export const lockKeys = {
  /** Every write to a wallet: charge and pay. */
  points: (userId: string) => key('point', userId),
  seat: (scheduleId: string, seatNo: number) => key('seat', scheduleId, seatNo),
  /** A user's seats of one schedule: reserving takes it (bounded wait) so that the seat limit is checked and used by one request at a time. */
  userSeats: (scheduleId: string, userId: string) => key('user-seats', scheduleId, userId),
  reservation: (reservationId: string) => key('reservation', reservationId),
  /** Held fail-fast for the life of one idempotent request, to tell "still running" apart. */
  idempotency: (scope: string, idempotencyKey: string) => key('idem', scope, idempotencyKey),
  /** Held while an instance puts the demo catalog into an empty database, so that two starting at once seed it once. */
  demoSeed: () => key('seed', 'demo-catalog'),
} as const;

/** The first part of each cache family's keys: the builders below and `cacheFamilyOf` both read it, so they cannot disagree. */
const CACHE_KEY_HEADS = { concerts: 'concerts', schedules: 'concert', seats: 'schedule' } as const;

/** A family of cache keys: the concert list, the schedules of one concert, the seat map of one schedule. */
export type CacheFamily = keyof typeof CACHE_KEY_HEADS;
export const CACHE_FAMILIES = Object.keys(CACHE_KEY_HEADS) as readonly CacheFamily[];

export const cacheKeys = {
  concerts: () => key(CACHE_KEY_HEADS.concerts, 'all'),
  schedules: (concertId: string) => key(CACHE_KEY_HEADS.schedules, concertId, 'schedules'),
  seats: (scheduleId: string) => key(CACHE_KEY_HEADS.seats, scheduleId, 'seats'),
} as const satisfies Record<CacheFamily, (...ids: string[]) => string>;

/** The family of a key `cacheKeys` made, read from its first part (never escaped into another); undefined for any other key. */
export function cacheFamilyOf(cacheKey: string): CacheFamily | undefined {
  const head = cacheKey.split(':', 1)[0];
  return CACHE_FAMILIES.find((family) => CACHE_KEY_HEADS[family] === head);
}
