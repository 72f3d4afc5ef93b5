/**
 * The waiting queue under every interleaving fast-check's scheduler picks:
 * users arriving (some twice), asking for their token (presence), leaving,
 * several admitters running rounds at once, the clock moving (ACTIVE tokens
 * expire, silent waiters go absent), tokens expired as payment will (an
 * ACTIVE one is then kept SPENT until its expiry: never live again). Each
 * lane runs its commands in order; lanes run concurrently. The memory queue
 * awaits a scheduled tick before each step, and the invariants are checked
 * on its whole state around every tick, not only at the end:
 * - never more than the limit ACTIVE;
 * - admission in arrival order among the present, nobody skipped;
 * - no waiter admitted by a round that should have found them absent;
 * - one live token per user;
 * - no token lost without a cause (expired, spent, given back, absent),
 *   and nothing left behind of one that is gone.
 *
 * Teeth: the same property finds a counterexample when admission is not
 * atomic (the free room read in one step and filled in a later one, the
 * absent swept out after that): two admitters fill the same room, and a
 * lone admitter lets in a waiter who has walked away.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QueueSnapshot } from '../../adapters/memory/memory-queue.js';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { NotFoundError } from '../../core/domain/errors.js';
import type { AdmissionRules } from '../../core/domain/queue.js';
import type { Clock } from '../../core/ports/clock.port.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';

const LIMIT = 3;
const TTL_MS = 1_000;
const PRESENCE_MS = 600;
/** A presence timeout nothing in a run reaches: only the limit can break. */
const NEVER_ABSENT_MS = 1_000_000_000;
const USERS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'] as const;

type Command =
  | { readonly kind: 'arrive' | 'ask' | 'leave' | 'expire'; readonly userId: string }
  | { readonly kind: 'admit' }
  | { readonly kind: 'advance'; readonly ms: number };

const user = fc.constantFrom(...USERS);
const clientCommandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('arrive' as const), userId: user }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ask' as const), userId: user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), userId: user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), userId: user }) },
  // Steps that land a round exactly on, and just inside, a waiter's presence timeout (600, 200 + 300), and past a TTL.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(200, 300, PRESENCE_MS, TTL_MS) }) },
);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('admit' as const) }) },
  { weight: 9, arbitrary: clientCommandArb },
);

/** Lanes run concurrently: a few clients, admitters and the clock, each doing its commands one after another. */
const lanesArb = fc.array(fc.array(commandArb, { minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 4 });
/** As lanesArb, but rounds come from one lane only, one after another: no two admitters race. */
const oneAdmitterArb = fc
  .tuple(fc.array(commandArb, { minLength: 1, maxLength: 8 }), fc.array(fc.array(clientCommandArb, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }))
  .map(([admitter, clients]) => [admitter, ...clients]);

interface Seen {
  readonly userId: string;
  readonly seq: number;
  readonly state: 'WAITING' | 'ACTIVE';
  readonly expiresAt: number;
  /** WAITING only: when its user last asked for it. */
  readonly seenAt: number;
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
  /** Tokens whose going was explained when it was seen. */
  private readonly goneWithCause = new Set<string>();
  /** Per user: leaves started, and leaves started but not yet answered. */
  private readonly leaves = new Map<string, { started: number; inFlight: number }>();
  /** Per token, the leaves of its user when it was first seen live: only a leave in flight then, or started since, may take it. */
  private readonly leavesWhenFirstSeen = new Map<string, { started: number; inFlight: number }>();
  /** Per user, the latest `now` an issue or ask of theirs was called with: no sighting of theirs can be later. */
  private readonly latestAsk = new Map<string, number>();
  /** Per token, the latest sighting its user was answered WAITING for: the queue has seen it at least then. */
  private readonly confirmedSeen = new Map<string, number>();
  /** The latest `now` any round was called with: no round dropped by a later cutoff. */
  private latestRound = -Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly presenceTimeoutMs: number,
    private readonly remnantsOf: (token: string) => string[],
  ) {}

  askStarted(userId: string, now: Date): void {
    this.latestAsk.set(userId, Math.max(this.latestAsk.get(userId) ?? -Infinity, now.getTime()));
  }

  answeredWaiting(token: string, now: Date): void {
    this.confirmedSeen.set(token, Math.max(this.confirmedSeen.get(token) ?? -Infinity, now.getTime()));
  }

  roundStarted(now: Date): void {
    this.latestRound = Math.max(this.latestRound, now.getTime());
  }

  leaveStarted(userId: string): void {
    const leaves = this.leavesOf(userId);
    leaves.started++;
    leaves.inFlight++;
  }

  leaveAnswered(userId: string): void {
    this.leavesOf(userId).inFlight--;
  }

  observe(snapshot: QueueSnapshot): void {
    if (snapshot.active.length > LIMIT) throw new Error(`${snapshot.active.length} ACTIVE tokens, above the limit of ${LIMIT}`);
    const current = new Map<string, Seen>();
    const tokenOfUser = new Map<string, string>();
    const entries = [
      ...snapshot.waiting.map((w) => ({ ...w, state: 'WAITING' as const, expiresAt: Infinity })),
      ...snapshot.active.map((a) => ({ ...a, state: 'ACTIVE' as const, seenAt: -Infinity })),
    ];
    for (const { token, ...seen } of entries) {
      if (current.has(token)) throw new Error(`token #${seen.seq} is both waiting and active`);
      const other = tokenOfUser.get(seen.userId);
      if (other !== undefined) throw new Error(`user ${seen.userId} holds two live tokens (#${current.get(other)?.seq} and #${seen.seq})`);
      if (this.everSpent.has(token)) throw new Error(`token #${seen.seq} of ${seen.userId} is ${seen.state} again after it was spent`);
      if (seen.seenAt > (this.latestAsk.get(seen.userId) ?? -Infinity)) throw new Error(`#${seen.seq} of ${seen.userId} marked seen at ${seen.seenAt}, though never asked for then`);
      current.set(token, seen);
      tokenOfUser.set(seen.userId, token);
      if (!this.leavesWhenFirstSeen.has(token)) this.leavesWhenFirstSeen.set(token, { ...this.leavesOf(seen.userId) });
    }
    for (const { token, userId, expiresAt } of snapshot.spent) {
      if (current.has(token)) throw new Error(`a token of ${userId} is both spent and live`);
      if (!this.expireAsked.has(token)) throw new Error(`a token of ${userId} is spent though nobody expired it`);
      if (this.activeUntil.get(token) !== expiresAt) throw new Error(`a spent token of ${userId} is kept until ${expiresAt}, not its ACTIVE expiry`);
      this.everSpent.add(token);
    }

    const firstWaiting = Math.min(...snapshot.waiting.map((w) => w.seq));
    let newest = this.lastAdmittedSeq;
    for (const { token, userId, seq, expiresAt } of snapshot.active) {
      if (seq > firstWaiting) throw new Error(`#${seq} is ACTIVE while #${firstWaiting}, who came first, still waits`);
      const before = this.previous.get(token);
      if (before?.state === 'ACTIVE') continue;
      // A round makes its tokens ACTIVE until its own now + TTL: that is the now it judged presence by.
      const roundNow = expiresAt - TTL_MS;
      if (before !== undefined && before.seenAt <= roundNow - this.presenceTimeoutMs) {
        throw new Error(`#${seq} of ${userId} admitted though absent: last seen at ${before.seenAt}, by a round at ${roundNow}`);
      }
      if (seq < this.lastAdmittedSeq) throw new Error(`#${seq} admitted after #${this.lastAdmittedSeq}: out of arrival order`);
      newest = Math.max(newest, seq);
      this.activeUntil.set(token, expiresAt);
    }
    this.lastAdmittedSeq = newest;

    for (const [token, seen] of this.previous) {
      if (current.has(token)) continue;
      if (!this.mayBeGone(token, seen)) throw new Error(`token #${seen.seq} of ${seen.userId} lost (it was ${seen.state})`);
      const left = this.remnantsOf(token).filter((place) => place !== 'spent');
      if (left.length > 0) throw new Error(`token #${seen.seq} of ${seen.userId} is gone, but its ${left.join(', ')} is left behind`);
      this.goneWithCause.add(token);
    }
    this.previous = current;
  }

  /** Tokens the test was handed that are gone, with no cause seen for it. */
  lostTokens(snapshot: QueueSnapshot): string[] {
    const live = new Set([...snapshot.waiting, ...snapshot.active].map((entry) => entry.token));
    return [...this.handedOut].filter((token) => !live.has(token) && !this.goneWithCause.has(token));
  }

  private mayBeGone(token: string, seen: Seen): boolean {
    if (this.expireAsked.has(token)) return true;
    if ((this.activeUntil.get(token) ?? Infinity) <= this.clock.now().getTime()) return true;
    // Dropped as absent: by the sightings its user was answered, absent for the latest round (the one that dropped it came no later).
    if (seen.state === 'WAITING' && (this.confirmedSeen.get(token) ?? -Infinity) <= this.latestRound - this.presenceTimeoutMs) return true;
    const then = this.leavesWhenFirstSeen.get(token);
    return then !== undefined && (then.inFlight > 0 || this.leavesOf(seen.userId).started > then.started);
  }

  private leavesOf(userId: string): { started: number; inFlight: number } {
    let leaves = this.leaves.get(userId);
    if (leaves === undefined) this.leaves.set(userId, (leaves = { started: 0, inFlight: 0 }));
    return leaves;
  }
}

/** Deterministic tokens (shrunk counterexamples stay readable), in the shape the core accepts. */
function counterTokens() {
  let n = 0;
  return { next: () => `token-${String(++n).padStart(10, '0')}` };
}

/** The user had no live token: a fine answer under concurrency, not a failure. */
async function unlessNone(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
}

async function runQueue(s: fc.Scheduler, lanes: readonly (readonly Command[])[], atomic: boolean, presenceTimeoutMs: number): Promise<void> {
  const clock = new ManualClock();
  let racing = true;
  class WatchedQueue extends MemoryQueue {
    override admit(now: Date, rules: AdmissionRules) {
      watcher.roundStarted(now);
      return super.admit(now, rules);
    }
  }
  const queue: MemoryQueue = new WatchedQueue({
    atomic,
    tick: async () => {
      watcher.observe(queue.snapshot());
      if (!racing) return;
      await s.schedule(Promise.resolve());
      watcher.observe(queue.snapshot());
    },
  });
  const watcher = new Watcher(clock, presenceTimeoutMs, (token) => queue.remnantsOf(token));
  const settings = { activeMax: LIMIT, admitIntervalMs: 100, activeTtlMs: TTL_MS, presenceTimeoutMs };
  const { issueToken, getCurrentToken, leaveQueue, admitWaiters, expireToken } = queueUseCases(clock, { queue, settings, tokens: counterTokens() });
  const lastToken = new Map<string, string>();

  const run = async (command: Command): Promise<void> => {
    switch (command.kind) {
      case 'arrive': {
        // The use case reads the clock before its first await: this is the `now` the queue gets.
        const now = clock.now();
        watcher.askStarted(command.userId, now);
        const { view } = await issueToken.execute({ userId: command.userId });
        if (view.status === 'WAITING') watcher.answeredWaiting(view.token, now);
        watcher.handedOut.add(view.token);
        lastToken.set(command.userId, view.token);
        return;
      }
      case 'ask': {
        const now = clock.now();
        watcher.askStarted(command.userId, now);
        const view = await getCurrentToken.execute(command.userId).catch((error: unknown) => {
          if (error instanceof NotFoundError) return undefined;
          throw error;
        });
        if (view?.status === 'WAITING') watcher.answeredWaiting(view.token, now);
        return;
      }
      case 'leave':
        watcher.leaveStarted(command.userId);
        await unlessNone(leaveQueue.execute(command.userId));
        watcher.leaveAnswered(command.userId);
        return;
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
  // Once the dust settles, one round fills every free slot: nobody present waits while a slot is free.
  await admitWaiters.execute();
  const settled = queue.snapshot();
  if (settled.waiting.length > 0 && settled.active.length < LIMIT) {
    throw new Error(`${settled.waiting.length} waiting while only ${settled.active.length} of ${LIMIT} slots are ACTIVE after a round`);
  }
}

function queueProperty(atomic: boolean, presenceTimeoutMs: number, lanes = lanesArb) {
  return fc.asyncProperty(fc.scheduler(), lanes, async (s, drawn) => runQueue(s, drawn, atomic, presenceTimeoutMs));
}

describe('the waiting queue under any interleaving', () => {
  it('keeps ACTIVE within the limit, admits the present in arrival order and never the absent, one live token per user, loses no token', async () => {
    await fc.assert(queueProperty(true, PRESENCE_MS), { numRuns: 300 });
  });

  it('finds a counterexample when admission is not atomic: two admitters fill the same free room', async () => {
    const result = await fc.check(queueProperty(false, NEVER_ABSENT_MS), { numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/above the limit/);
  });

  it('finds a counterexample when admission is not atomic: a lone admitter lets in a waiter who walked away', async () => {
    const result = await fc.check(queueProperty(false, PRESENCE_MS, oneAdmitterArb), { numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/admitted though absent/);
  });
});
