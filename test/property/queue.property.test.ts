/**
 * The waiting queue under every interleaving fast-check's scheduler picks:
 * users arriving (some twice), several admitters running rounds at once,
 * the clock moving (ACTIVE tokens expire), tokens expired as payment will
 * (an ACTIVE one is then kept SPENT until its expiry: never live again).
 * Each lane runs its commands in order; lanes run concurrently. The memory
 * queue awaits a scheduled tick before each step, and the invariants are
 * checked on its whole state around every tick, not only at the end.
 *
 * Teeth: the same property finds a counterexample when admission is not
 * atomic (the free room read in one step, filled in a later one): two
 * admitters fill the same room.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QueueSnapshot } from '../../adapters/memory/memory-queue.js';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import type { Clock } from '../../core/ports/clock.port.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';

const LIMIT = 3;
const TTL_MS = 1_000;
const USERS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'] as const;

type Command =
  | { readonly kind: 'arrive'; readonly userId: string }
  | { readonly kind: 'admit' }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'expire'; readonly userId: string };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('arrive' as const), userId: fc.constantFrom(...USERS) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('admit' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(300, 700, TTL_MS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), userId: fc.constantFrom(...USERS) }) },
);

/** Lanes run concurrently: a few clients, admitters and the clock, each doing its commands one after another. */
const lanesArb = fc.array(fc.array(commandArb, { minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 4 });

interface Seen {
  readonly userId: string;
  readonly seq: number;
  readonly state: 'WAITING' | 'ACTIVE';
  readonly expiresAt: number;
}

/** Checks every snapshot against the one before it; throws with a reason on the first broken invariant. */
class Watcher {
  /** Every token an IssueToken answered, and every token the test asked to expire. */
  readonly handedOut = new Set<string>();
  readonly expireAsked = new Set<string>();
  private previous = new Map<string, Seen>();
  private readonly activeUntil = new Map<string, number>();
  private lastAdmittedSeq = 0;
  /** Every token ever seen SPENT: none may be live again. */
  private readonly everSpent = new Set<string>();

  constructor(private readonly clock: Clock) {}

  observe(snapshot: QueueSnapshot): void {
    if (snapshot.active.length > LIMIT) throw new Error(`${snapshot.active.length} ACTIVE tokens, above the limit of ${LIMIT}`);
    const current = new Map<string, Seen>();
    const tokenOfUser = new Map<string, string>();
    const entries = [
      ...snapshot.waiting.map((w) => ({ ...w, state: 'WAITING' as const, expiresAt: Infinity })),
      ...snapshot.active.map((a) => ({ ...a, state: 'ACTIVE' as const })),
    ];
    for (const { token, ...seen } of entries) {
      if (current.has(token)) throw new Error(`token #${seen.seq} is both waiting and active`);
      const other = tokenOfUser.get(seen.userId);
      if (other !== undefined) throw new Error(`user ${seen.userId} holds two live tokens (#${current.get(other)?.seq} and #${seen.seq})`);
      if (this.everSpent.has(token)) throw new Error(`token #${seen.seq} of ${seen.userId} is ${seen.state} again after it was spent`);
      current.set(token, seen);
      tokenOfUser.set(seen.userId, token);
    }
    for (const { token, userId, expiresAt } of snapshot.spent) {
      if (current.has(token)) throw new Error(`a token of ${userId} is both spent and live`);
      if (!this.expireAsked.has(token)) throw new Error(`a token of ${userId} is spent though nobody expired it`);
      if (this.activeUntil.get(token) !== expiresAt) throw new Error(`a spent token of ${userId} is kept until ${expiresAt}, not its ACTIVE expiry`);
      this.everSpent.add(token);
    }

    const firstWaiting = Math.min(...snapshot.waiting.map((w) => w.seq));
    let newest = this.lastAdmittedSeq;
    for (const { token, seq, expiresAt } of snapshot.active) {
      if (seq > firstWaiting) throw new Error(`#${seq} is ACTIVE while #${firstWaiting}, who came first, still waits`);
      if (this.previous.get(token)?.state === 'ACTIVE') continue;
      if (seq < this.lastAdmittedSeq) throw new Error(`#${seq} admitted after #${this.lastAdmittedSeq}: out of arrival order`);
      newest = Math.max(newest, seq);
      this.activeUntil.set(token, expiresAt);
    }
    this.lastAdmittedSeq = newest;

    for (const [token, seen] of this.previous) {
      if (!current.has(token) && !this.mayBeGone(token)) throw new Error(`token #${seen.seq} of ${seen.userId} lost (it was ${seen.state})`);
    }
    this.previous = current;
  }

  /** Tokens the test was handed that are gone, with no expiry to explain it. */
  lostTokens(snapshot: QueueSnapshot): string[] {
    const live = new Set([...snapshot.waiting, ...snapshot.active].map((entry) => entry.token));
    return [...this.handedOut].filter((token) => !live.has(token) && !this.mayBeGone(token));
  }

  private mayBeGone(token: string): boolean {
    return this.expireAsked.has(token) || (this.activeUntil.get(token) ?? Infinity) <= this.clock.now().getTime();
  }
}

/** Deterministic tokens (shrunk counterexamples stay readable), in the shape the core accepts. */
function counterTokens() {
  let n = 0;
  return { next: () => `token-${String(++n).padStart(10, '0')}` };
}

async function runQueue(s: fc.Scheduler, lanes: readonly (readonly Command[])[], atomic: boolean): Promise<void> {
  const clock = new ManualClock();
  const watcher = new Watcher(clock);
  let racing = true;
  const queue: MemoryQueue = new MemoryQueue({
    atomic,
    tick: async () => {
      watcher.observe(queue.snapshot());
      if (!racing) return;
      await s.schedule(Promise.resolve());
      watcher.observe(queue.snapshot());
    },
  });
  const settings = { activeMax: LIMIT, admitIntervalMs: 100, activeTtlMs: TTL_MS };
  const { issueToken, admitWaiters, expireToken } = queueUseCases(clock, { queue, settings, tokens: counterTokens() });
  const lastToken = new Map<string, string>();

  const run = async (command: Command): Promise<void> => {
    switch (command.kind) {
      case 'arrive': {
        const { token } = await issueToken.execute({ userId: command.userId });
        watcher.handedOut.add(token);
        lastToken.set(command.userId, token);
        return;
      }
      case 'admit':
        await admitWaiters.execute();
        return;
      case 'advance':
        await s.schedule(Promise.resolve());
        clock.advance(command.ms);
        return;
      case 'expire': {
        const token = lastToken.get(command.userId);
        if (token === undefined) return;
        watcher.expireAsked.add(token);
        await expireToken.execute(token);
        return;
      }
    }
  };
  await s.waitFor(
    Promise.all(
      lanes.map(async (lane) => {
        for (const command of lane) await run(command);
      }),
    ),
  );

  racing = false;
  watcher.observe(queue.snapshot());
  const lost = watcher.lostTokens(queue.snapshot());
  if (lost.length > 0) throw new Error(`tokens lost: ${lost.join(', ')}`);
  // Once the dust settles, one round fills every free slot: nobody waits while a slot is free.
  await admitWaiters.execute();
  const settled = queue.snapshot();
  if (settled.waiting.length > 0 && settled.active.length < LIMIT) {
    throw new Error(`${settled.waiting.length} waiting while only ${settled.active.length} of ${LIMIT} slots are ACTIVE after a round`);
  }
}

function queueProperty(atomic: boolean) {
  return fc.asyncProperty(fc.scheduler(), lanesArb, async (s, lanes) => runQueue(s, lanes, atomic));
}

describe('the waiting queue under any interleaving', () => {
  it('keeps ACTIVE within the limit, admits in arrival order, one live token per user, loses no token', async () => {
    await fc.assert(queueProperty(true), { numRuns: 300 });
  });

  it('finds a counterexample when admission is not atomic (reads the free room, fills it a step later)', async () => {
    const result = await fc.check(queueProperty(false), { numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/above the limit/);
  });
});
