import type { AdmissionResult, AdmissionRules, IssuedToken, LiveToken, LiveTokenState, QueueCounts, TokenState } from '../../core/domain/queue.js';
import type { QueuePort } from '../../core/ports/queue.port.js';
import type { Tick } from './tick.js';
import { immediateTick } from './tick.js';
import { WaitingLine } from './waiting-line.js';

interface Ticket {
  readonly userId: string;
  /** Arrival order: a counter, never a clock (two arrivals in one millisecond still have an order). */
  readonly seq: number;
}

export interface MemoryQueueOptions {
  readonly tick?: Tick;
  /**
   * Off only in property tests that show a non-atomic admission breaks the
   * invariants: it then reads the free room, fills it, and sweeps out the
   * absent waiters, each in a step of its own.
   */
  readonly atomic?: boolean;
}

/** The queue's whole state, for tests that check invariants on it between steps. */
export interface QueueSnapshot {
  readonly waiting: readonly { readonly token: string; readonly userId: string; readonly seq: number; readonly seenAt: number }[];
  readonly active: readonly { readonly token: string; readonly userId: string; readonly seq: number; readonly expiresAt: number }[];
  /** Tokens payment spent, kept (not live) until their ACTIVE expiry. */
  readonly spent: readonly { readonly token: string; readonly userId: string; readonly expiresAt: number }[];
}

/**
 * The in-process QueuePort (embedded mode, property tests). Each operation
 * awaits one tick and then runs to completion synchronously, as one Redis
 * script does: no other call can see it half done.
 */
export class MemoryQueue implements QueuePort {
  private readonly tick: Tick;
  private readonly atomic: boolean;
  private sequence = 0;
  private admittedTotal = 0;
  private readonly line = new WaitingLine();
  /** ACTIVE token → expiry, ms. */
  private readonly active = new Map<string, number>();
  /** Every token in line or ACTIVE → its user and arrival. */
  private readonly tickets = new Map<string, Ticket>();
  /** User → their one live token. */
  private readonly tokenOfUser = new Map<string, string>();
  /** Spent token → its user and its ACTIVE expiry, ms: answered SPENT until then, never live again. */
  private readonly spent = new Map<string, { readonly userId: string; readonly expiresAt: number }>();

  constructor(options: MemoryQueueOptions = {}) {
    this.tick = options.tick ?? immediateTick;
    this.atomic = options.atomic ?? true;
  }

  async issue(userId: string, candidate: string, now: Date): Promise<IssuedToken> {
    await this.tick();
    const nowMs = now.getTime();
    const existing = this.liveOf(userId, nowMs);
    if (existing !== undefined) return { ...existing, created: false };
    const stale = this.tokenOfUser.get(userId);
    // Its ACTIVE time has run out though no admission round has dropped it yet: the user may queue again.
    if (stale !== undefined) this.forget(stale);
    const seq = ++this.sequence;
    this.line.append(seq, candidate, nowMs);
    this.tickets.set(candidate, { userId, seq });
    this.tokenOfUser.set(userId, candidate);
    return { token: candidate, created: true, state: { status: 'WAITING', userId, position: this.line.size } };
  }

  async current(userId: string, now: Date): Promise<LiveToken | undefined> {
    await this.tick();
    return this.liveOf(userId, now.getTime());
  }

  async leave(userId: string, now: Date): Promise<boolean> {
    await this.tick();
    const token = this.tokenOfUser.get(userId);
    if (token === undefined) return false;
    const live = this.stateOf(token, now.getTime()) !== undefined;
    // Given back, not spent: nothing is kept, not even a SPENT mark (nothing may be replayed with it).
    this.forget(token);
    return live;
  }

  async extend(token: string, until: Date, now: Date): Promise<boolean> {
    await this.tick();
    const expiresAt = this.active.get(token);
    if (expiresAt === undefined || expiresAt <= now.getTime()) return false;
    this.active.set(token, Math.max(expiresAt, until.getTime()));
    return true;
  }

  async status(token: string, now: Date): Promise<TokenState | undefined> {
    await this.tick();
    const nowMs = now.getTime();
    return this.stateOf(token, nowMs) ?? this.spentStateOf(token, nowMs);
  }

  async admit(now: Date, rules: AdmissionRules): Promise<AdmissionResult> {
    const nowMs = now.getTime();
    if (!this.atomic) return this.admitInSteps(nowMs, rules);
    await this.tick();
    const expired = this.dropExpired(nowMs);
    this.dropSpent(nowMs);
    const dropped = this.dropAbsent(nowMs - rules.presenceTimeoutMs);
    const admitted = this.activate(this.line.takeFront(rules.activeMax - this.active.size), nowMs + rules.activeTtlMs);
    return this.result(admitted, expired, dropped);
  }

  async expire(token: string, now: Date): Promise<boolean> {
    await this.tick();
    const nowMs = now.getTime();
    const ticket = this.tickets.get(token);
    if (ticket === undefined) return false;
    const live = this.stateOf(token, nowMs) !== undefined;
    const expiresAt = this.active.get(token);
    this.forget(token);
    // Spent while ACTIVE: it still names its user until its own expiry, so that a payment retried with it can replay.
    if (expiresAt !== undefined && expiresAt > nowMs) this.spent.set(token, { userId: ticket.userId, expiresAt });
    return live;
  }

  async counts(now: Date): Promise<QueueCounts> {
    await this.tick();
    const nowMs = now.getTime();
    let active = 0;
    for (const expiresAt of this.active.values()) if (expiresAt > nowMs) active++;
    return { waiting: this.line.size, active };
  }

  async ping(): Promise<void> {}

  snapshot(): QueueSnapshot {
    const ticket = (token: string) => this.tickets.get(token) ?? { userId: '?', seq: -1 };
    return {
      waiting: this.line.waiters().map(({ token, seenAt }) => ({ token, ...ticket(token), seenAt })),
      active: [...this.active].map(([token, expiresAt]) => ({ token, ...ticket(token), expiresAt })),
      spent: [...this.spent].map(([token, entry]) => ({ token, ...entry })),
    };
  }

  /** Where this queue still keeps anything of `token` (none, once it is forgotten): for tests that nothing is left behind. */
  remnantsOf(token: string): string[] {
    const remnants: string[] = [];
    const ticket = this.tickets.get(token);
    if (ticket !== undefined) remnants.push('ticket');
    if (this.line.waiters().some((waiter) => waiter.token === token)) remnants.push('line');
    if (this.active.has(token)) remnants.push('active');
    if ([...this.tokenOfUser.values()].includes(token)) remnants.push('user');
    if (this.spent.has(token)) remnants.push('spent');
    return remnants;
  }

  /**
   * The broken variant: it reads the free room in one step, fills it in a
   * later one, and sweeps out the absent waiters only after that, as a
   * client sending ZCARD, then ZRANGE + ZADD + ZREM, then a separate sweep
   * would. Two admitters that both read the room before either fills it
   * admit twice; an absent waiter at the front is admitted before the sweep.
   */
  private async admitInSteps(nowMs: number, rules: AdmissionRules): Promise<AdmissionResult> {
    await this.tick();
    const expired = this.dropExpired(nowMs);
    this.dropSpent(nowMs);
    await this.tick();
    const room = rules.activeMax - this.active.size;
    await this.tick();
    const admitted = this.activate(this.line.takeFront(room), nowMs + rules.activeTtlMs);
    await this.tick();
    return this.result(admitted, expired, this.dropAbsent(nowMs - rules.presenceTimeoutMs));
  }

  /** The user's live token at `nowMs`; a WAITING one is marked seen then. */
  private liveOf(userId: string, nowMs: number): LiveToken | undefined {
    const token = this.tokenOfUser.get(userId);
    if (token === undefined) return undefined;
    const state = this.stateOf(token, nowMs);
    if (state === undefined) return undefined;
    if (state.status === 'WAITING') this.line.touch((this.tickets.get(token) as Ticket).seq, nowMs);
    return { token, state };
  }

  private spentStateOf(token: string, nowMs: number): TokenState | undefined {
    const spent = this.spent.get(token);
    return spent !== undefined && spent.expiresAt > nowMs ? { status: 'SPENT', userId: spent.userId } : undefined;
  }

  private stateOf(token: string, nowMs: number): LiveTokenState | undefined {
    const ticket = this.tickets.get(token);
    if (ticket === undefined) return undefined;
    const expiresAt = this.active.get(token);
    if (expiresAt !== undefined) return expiresAt > nowMs ? { status: 'ACTIVE', userId: ticket.userId, expiresAt: new Date(expiresAt) } : undefined;
    const position = this.line.position(ticket.seq);
    return position === undefined ? undefined : { status: 'WAITING', userId: ticket.userId, position };
  }

  private dropExpired(nowMs: number): number {
    let expired = 0;
    for (const [token, expiresAt] of this.active) {
      if (expiresAt > nowMs) continue;
      this.forget(token);
      expired++;
    }
    return expired;
  }

  /** Spent tokens past their expiry: forgotten, so that nothing outlives its token. */
  private dropSpent(nowMs: number): void {
    for (const [token, { expiresAt }] of this.spent) if (expiresAt <= nowMs) this.spent.delete(token);
  }

  /** Waiters last seen at or before `cutoffMs`: out of the line and forgotten, their users free. */
  private dropAbsent(cutoffMs: number): number {
    const dropped = this.line.dropUnseenSince(cutoffMs);
    for (const token of dropped) this.forgetTicket(token);
    return dropped.length;
  }

  private activate(tokens: readonly string[], expiresAt: number): number {
    for (const token of tokens) this.active.set(token, expiresAt);
    this.admittedTotal += tokens.length;
    return tokens.length;
  }

  private forget(token: string): void {
    const ticket = this.tickets.get(token);
    if (ticket === undefined) return;
    if (!this.active.delete(token)) this.line.remove(ticket.seq);
    this.forgetTicket(token);
  }

  private forgetTicket(token: string): void {
    const ticket = this.tickets.get(token);
    if (ticket === undefined) return;
    this.tickets.delete(token);
    if (this.tokenOfUser.get(ticket.userId) === token) this.tokenOfUser.delete(ticket.userId);
  }

  private result(admitted: number, expired: number, dropped: number): AdmissionResult {
    return { admitted, expired, dropped, waiting: this.line.size, admittedTotal: this.admittedTotal };
  }
}
