/**
 * Seeded randomness for the buyers' choices (how many seats, which ones,
 * who walks away, who abandons), so that a run's choices can be repeated
 * with `--seed`. mulberry32: tiny, fast, and plenty for simulation.
 */
export class Random {
  private state: number;

  constructor(private readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** `base` ± `spread` (a share of it): pollers that do not all ask in the same millisecond. */
  jitter(base: number, spread: number): number {
    return base * (1 - spread + 2 * spread * this.next());
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffled<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }

  /** A new generator for one buyer: each buyer's choices stay the same whatever order the buyers run in. */
  fork(salt: number): Random {
    return new Random((Math.imul(this.seed ^ salt, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b)) >>> 0);
  }
}
