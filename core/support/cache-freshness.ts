import type { CacheRead } from '../ports/cache.port.js';

/** What a cache adapter keeps beside a value to judge it: shared, so that every adapter judges alike. */
export interface CacheEntryStamp {
  /** The key's generation when its load began: an invalidation since then makes the entry stale. */
  readonly generation: number;
  /** When its load began (epoch ms): the value holds every write committed before. */
  readonly loadedAt: number;
  /** When it stops being true by itself (a hold's end), if ever. */
  readonly staleAt: number | undefined;
}

/**
 * How long a stale entry may still be served, as a multiple of `refreshMs`:
 * a served value was loaded at most this long ago, so a write committed
 * longer ago than that always shows, whatever the refreshes did. Twice the
 * interval leaves room for one refresh to start late (the lease of the
 * previous one still running) and load.
 */
export const STALE_LIMIT_REFRESHES = 2;

/**
 * Reloads of a stale key pass a token bucket: REFRESH_BURST tokens, one
 * back per `refreshMs`. Sustained, one reload per interval whatever the
 * read and write rates; a burst of a few lets a quiet key's reads see each
 * write at once (a buyer's own hold, then their payment), instead of being
 * served stale up to an interval after every write but the first.
 * So reloads of one key over any t seconds number at most
 * REFRESH_BURST + t × 1000 / refreshMs, across the whole cluster.
 */
export const REFRESH_BURST = 4;

export function staleLimitMs(refreshMs: number): number {
  return STALE_LIMIT_REFRESHES * refreshMs;
}

/**
 * fresh: no invalidation since its load began and no hold it shows has
 * ended: served as is. stale: not fresh, but the read accepts stale entries
 * (`refreshMs`) and this one is young enough: reloaded by the reader that
 * gets a refresh token, served as it is to the others. unusable: a miss.
 */
export type Freshness = 'fresh' | 'stale' | 'unusable';

export function freshness(stamp: CacheEntryStamp, generation: number, now: number, read: Pick<CacheRead<unknown>, 'refreshMs'>): Freshness {
  if (stamp.generation === generation && (stamp.staleAt === undefined || now < stamp.staleAt)) return 'fresh';
  if (read.refreshMs !== undefined && now - stamp.loadedAt <= staleLimitMs(read.refreshMs)) return 'stale';
  return 'unusable';
}

/** A token bucket of refreshes (REFRESH_BURST, one back per `refreshMs`), for the in-process cache; Redis keeps the same one in a script. */
export class RefreshBucket {
  private tokens = REFRESH_BURST;
  private at: number;

  constructor(now: number) {
    this.at = now;
  }

  take(now: number, refreshMs: number): boolean {
    const at = Math.max(now, this.at);
    this.tokens = Math.min(REFRESH_BURST, this.tokens + (at - this.at) / refreshMs);
    this.at = at;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
