export interface Waiter {
  readonly seq: number;
  readonly token: string;
  /** When its user last asked for it, ms. */
  readonly seenAt: number;
}

interface Entry {
  readonly seq: number;
  readonly token: string;
}

/** Past this many dead entries (taken or removed), and once they are most of the array, the array is rebuilt without them. */
const COMPACT_AFTER = 1_024;

/**
 * The line of waiters in arrival order (sequence numbers only grow), and
 * when each was last seen.
 *
 * Kept as an array read from a moving head: a waiter's position is a binary
 * search, O(log n), so that thousands of waiters polling stay cheap, and
 * admission takes from the front in O(taken). A waiter who leaves from the
 * middle (gave up, walked away) is only marked removed, counted in a Fenwick
 * tree so that positions behind it still come out in O(log n): when half the
 * line walks away at once, a round stays O(dropped · log n), never O(line).
 *
 * Presence is a Map in order of last sighting, oldest first, so that the
 * waiters unseen since a cutoff are a prefix of it: dropping them costs
 * O(dropped). Callers' clocks may step back (an NTP correction), which
 * would break that order: then it is noted, and the next drop sorts once.
 */
export class WaitingLine {
  private entries: Entry[] = [];
  /** removed[i]: entries[i] left from the middle and awaits compaction. */
  private removed: boolean[] = [];
  /** Fenwick tree over `removed`, 1-based: tree[k] counts removals in (k - lowbit(k), k]. */
  private tree: number[] = [0];
  /** Every entry before it has left the line; it points at a waiter or at the end. */
  private head = 0;
  private live = 0;
  /** seq → last seen, ms; iteration order is oldest sighting first while `ordered`. */
  private readonly seen = new Map<number, number>();
  private latestSeen = -Infinity;
  private ordered = true;

  get size(): number {
    return this.live;
  }

  /** `seq` must be greater than every sequence number appended before. */
  append(seq: number, token: string, seenAt: number): void {
    const last = this.entries.at(-1);
    if (last !== undefined && last.seq >= seq) throw new Error(`sequence ${seq} is not after ${last.seq}`);
    this.entries.push({ seq, token });
    this.removed.push(false);
    const k = this.entries.length;
    // A new Fenwick node covers (k - lowbit(k), k]: the removals already counted in that span, and none at k.
    this.tree.push(this.prefix(k - 1) - this.prefix(k - (k & -k)));
    this.live++;
    this.record(seq, seenAt);
  }

  /** 1-based position of the waiter with this sequence number, or undefined when it is not in line. */
  position(seq: number): number | undefined {
    const index = this.liveIndexOf(seq);
    if (index === undefined) return undefined;
    return index - this.head - (this.prefix(index) - this.prefix(this.head)) + 1;
  }

  /** When the waiter was last seen, or undefined when it is not in line. */
  seenAt(seq: number): number | undefined {
    return this.seen.get(seq);
  }

  /** The waiter's user asked for it at `atMs`: its last sighting moves up to then (never back). False when it is not in line. */
  touch(seq: number, atMs: number): boolean {
    const before = this.seen.get(seq);
    if (before === undefined) return false;
    if (atMs > before) {
      this.seen.delete(seq);
      this.record(seq, atMs);
    }
    return true;
  }

  /** Removes a waiter from anywhere in the line, O(log n). */
  remove(seq: number): boolean {
    const index = this.liveIndexOf(seq);
    if (index === undefined) return false;
    this.removeAt(index);
    this.compactIfSparse();
    return true;
  }

  /** Removes the waiters last seen at or before `cutoffMs` and answers their tokens, oldest sighting first. O(dropped · log n). */
  dropUnseenSince(cutoffMs: number): string[] {
    if (!this.ordered) this.sortSightings();
    const dropped: string[] = [];
    for (const [seq, seenAt] of this.seen) {
      if (seenAt > cutoffMs) break;
      const index = this.liveIndexOf(seq) as number;
      dropped.push((this.entries[index] as Entry).token);
      this.removeAt(index);
    }
    this.compactIfSparse();
    return dropped;
  }

  /** The first `count` waiters' tokens, taken out of the line. */
  takeFront(count: number): string[] {
    const taken: string[] = [];
    while (taken.length < count && this.head < this.entries.length) {
      const entry = this.entries[this.head] as Entry;
      taken.push(entry.token);
      this.seen.delete(entry.seq);
      this.live--;
      this.head++;
      this.skipRemoved();
    }
    this.compactIfSparse();
    return taken;
  }

  /** Every waiter, first in line first. */
  waiters(): Waiter[] {
    const waiters: Waiter[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      if (this.removed[i]) continue;
      const { seq, token } = this.entries[i] as Entry;
      waiters.push({ seq, token, seenAt: this.seen.get(seq) as number });
    }
    return waiters;
  }

  private record(seq: number, atMs: number): void {
    if (atMs < this.latestSeen) this.ordered = false;
    else this.latestSeen = atMs;
    this.seen.set(seq, atMs);
  }

  /** Only after a caller's clock stepped back: O(n log n) once, then prefixes are exact again. */
  private sortSightings(): void {
    const sorted = [...this.seen].sort((a, b) => a[1] - b[1]);
    this.seen.clear();
    for (const [seq, atMs] of sorted) this.seen.set(seq, atMs);
    this.ordered = true;
  }

  private removeAt(index: number): void {
    const { seq } = this.entries[index] as Entry;
    this.seen.delete(seq);
    this.live--;
    if (index === this.head) {
      // Leaving from the front is a take: no tombstone needed.
      this.head++;
      this.skipRemoved();
      return;
    }
    this.removed[index] = true;
    for (let k = index + 1; k < this.tree.length; k += k & -k) this.tree[k] = (this.tree[k] as number) + 1;
  }

  private skipRemoved(): void {
    while (this.head < this.entries.length && this.removed[this.head]) this.head++;
  }

  /** Removals among entries[0 .. count - 1]. */
  private prefix(count: number): number {
    let sum = 0;
    for (let k = count; k > 0; k -= k & -k) sum += this.tree[k] as number;
    return sum;
  }

  /**
   * Rebuilds the array without its dead entries once they are more than
   * COMPACT_AFTER and most of it: O(n), paid for by the n/2 takes or
   * removals before it, so O(1) amortised each.
   */
  private compactIfSparse(): void {
    const dead = this.entries.length - this.live;
    if (dead <= COMPACT_AFTER || dead * 2 <= this.entries.length) return;
    const kept: Entry[] = [];
    for (let i = this.head; i < this.entries.length; i++) if (!this.removed[i]) kept.push(this.entries[i] as Entry);
    this.entries = kept;
    this.removed = kept.map(() => false);
    this.tree = Array<number>(kept.length + 1).fill(0);
    this.head = 0;
  }

  private liveIndexOf(seq: number): number | undefined {
    let low = this.head;
    let high = this.entries.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = (this.entries[middle] as Entry).seq;
      if (found === seq) return this.removed[middle] ? undefined : middle;
      if (found < seq) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }
}
