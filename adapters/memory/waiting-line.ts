interface Waiter {
  readonly seq: number;
  readonly token: string;
}

/** Past this many taken entries, and once they are most of the array, the front is cut off. */
const COMPACT_AFTER = 1_024;

/**
 * The line of waiters in arrival order (sequence numbers only grow), kept
 * as an array read from a moving head: a waiter's position is a binary
 * search, O(log n), so that thousands of waiters polling their status stay
 * cheap; admission takes from the front in O(taken).
 */
export class WaitingLine {
  private entries: Waiter[] = [];
  private head = 0;

  get size(): number {
    return this.entries.length - this.head;
  }

  /** `seq` must be greater than every sequence number appended before. */
  append(seq: number, token: string): void {
    const last = this.entries.at(-1);
    if (last !== undefined && last.seq >= seq) throw new Error(`sequence ${seq} is not after ${last.seq}`);
    this.entries.push({ seq, token });
  }

  /** 1-based position of the waiter with this sequence number, or undefined when it is not in line. */
  position(seq: number): number | undefined {
    const index = this.indexOf(seq);
    return index === undefined ? undefined : index - this.head + 1;
  }

  /** Removes a waiter from anywhere in the line (a token expired while waiting): O(n), and rare. */
  remove(seq: number): boolean {
    const index = this.indexOf(seq);
    if (index === undefined) return false;
    this.entries.splice(index, 1);
    return true;
  }

  /** The first `count` waiters' tokens, taken out of the line. */
  takeFront(count: number): string[] {
    const end = Math.min(this.entries.length, this.head + Math.max(0, count));
    const taken = this.entries.slice(this.head, end).map((waiter) => waiter.token);
    this.head = end;
    if (this.head > COMPACT_AFTER && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return taken;
  }

  /** Every waiter, first in line first. */
  waiters(): readonly Waiter[] {
    return this.entries.slice(this.head);
  }

  private indexOf(seq: number): number | undefined {
    let low = this.head;
    let high = this.entries.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = (this.entries[middle] as Waiter).seq;
      if (found === seq) return middle;
      if (found < seq) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }
}
