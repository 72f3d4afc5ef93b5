import type { DecodedEntry } from './cache-envelope.js';

/**
 * How long an instance answers a read that accepts staleness (`refreshMs`)
 * from the entry it last read from Redis, without asking Redis again. A
 * cached seat map's read is otherwise a round trip and a decode of its JSON
 * each time: most of what it costs beyond sending the answer. 100 ms keeps
 * the 500 ms bound on a committed change: the entry was read from Redis at
 * most this long ago, and an invalidation older than that read had marked
 * it stale there already.
 */
export const NEAR_MS = 100;

/** Keys remembered at most (a list, one per concert, one per schedule); past it, the memo starts again. */
const MAX_NEAR_ENTRIES = 10_000;

export interface NearEntry {
  readonly entry: DecodedEntry;
  /** The key's generation read with it. */
  readonly generation: number;
  readonly readAt: number;
}

/** The entries this instance read from Redis in the last NEAR_MS, one per key (of the version last read); an invalidation of the instance's own forgets its key at once. */
export class NearEntries {
  private readonly entries = new Map<string, NearEntry & { readonly valueKey: string }>();

  /** The entry of `key` stored under `valueKey` (its version), if read less than NEAR_MS ago. */
  get(key: string, valueKey: string, now: number): NearEntry | undefined {
    const near = this.entries.get(key);
    if (near === undefined || near.valueKey !== valueKey || now - near.readAt >= NEAR_MS) return undefined;
    return near;
  }

  put(key: string, valueKey: string, near: NearEntry): void {
    if (this.entries.size >= MAX_NEAR_ENTRIES && !this.entries.has(key)) this.entries.clear();
    this.entries.set(key, { ...near, valueKey });
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}
