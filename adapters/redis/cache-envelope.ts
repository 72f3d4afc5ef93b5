import type { CacheEntryStamp } from '../../core/support/cache-freshness.js';
import { LuaScript } from './lua-script.js';

/**
 * A cached value as stored in Redis: `<generation>|<loadedAt>|<staleAt>|<json>`.
 * The stamp is a plain text head, so that the store script reads the
 * generation without decoding the JSON (a seat map is tens of kilobytes).
 * The shape version is not here: it is part of the key (RedisCache), so
 * that two versions side by side during a deploy keep their own entries.
 */
export function encodeEntry(stamp: CacheEntryStamp, value: unknown): string {
  return `${stamp.generation}|${stamp.loadedAt}|${stamp.staleAt ?? ''}|${JSON.stringify(value)}`;
}

export interface DecodedEntry extends CacheEntryStamp {
  readonly value: unknown;
}

/** Undefined for nothing stored, or for anything not in this shape (an entry of the cache before envelopes): a miss. */
export function decodeEntry(raw: string | null): DecodedEntry | undefined {
  if (raw === null) return undefined;
  const match = /^(\d+)\|(\d+)\|(\d*)\|/.exec(raw);
  if (match === null) return undefined;
  const [head, generation, loadedAt, staleAt] = match as unknown as [string, string, string, string];
  return {
    generation: Number(generation),
    loadedAt: Number(loadedAt),
    staleAt: staleAt === '' ? undefined : Number(staleAt),
    value: JSON.parse(raw.slice(head.length)) as unknown,
  };
}

/**
 * Stores an entry unless the one there was loaded under a later
 * generation: a slow load never replaces a newer one. An overtaken load is
 * stored all the same (nothing newer is there): its stamp marks it stale.
 */
export const STORE_ENTRY = new LuaScript(`
local current = redis.call('get', KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^(%d+)|'))
  if stored ~= nil and stored > tonumber(ARGV[1]) then return 0 end
end
redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`);
