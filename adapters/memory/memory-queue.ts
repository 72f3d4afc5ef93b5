import type { AdmissionResult, IssuedToken, LiveTokenState, QueueCounts, TokenState } from '../../core/domain/queue.js';
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
   * invariants: it then reads the free room and fills it in separate steps.
   */
  readonly atomic?: boolean;
}

/** The queue's whole state, for tests that check invariants on it between steps. */
export interface QueueSnapshot {
  readonly waiting: readonly { readonly token: string; readonly userId: string; readonly seq: number }[];
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
    const existing = this.tokenOfUser.get(userId);
    if (existing !== undefined) {
      const state = this.stateOf(existing, now.getTime());
      if (state !== undefined) return { token: existing, created: false, state };
      // Its ACTIVE time has run out though no admission round has dropped it yet: the user may queue again.
      this.forget(existing);
    }
    const seq = ++this.sequence;
    this.line.append(seq, candidate);
    this.tickets.set(candidate, { userId, seq });
    this.tokenOfUser.set(userId, candidate);
    return { token: candidate, created: true, state: { status: 'WAITING', userId, position: this.line.size } };
  }

  async status(token: string, now: Date): Promise<TokenState | undefined> {
    await this.tick();
    const nowMs = now.getTime();
    return this.stateOf(token, nowMs) ?? this.spentStateOf(token, nowMs);
  }

  async admit(now: Date, activeMax: number, activeTtlMs: number): Promise<AdmissionResult> {
    const nowMs = now.getTime();
    if (!this.atomic) return this.admitInSteps(nowMs, activeMax, activeTtlMs);
    await this.tick();
    const expired = this.dropExpired(nowMs);
    this.dropSpent(nowMs);
    const admitted = this.activate(this.line.takeFront(activeMax - this.active.size), nowMs + activeTtlMs);
    return this.result(admitted, expired);
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
      waiting: this.line.waiters().map(({ token }) => ({ token, ...ticket(token) })),
      active: [...this.active].map(([token, expiresAt]) => ({ token, ...ticket(token), expiresAt })),
      spent: [...this.spent].map(([token, entry]) => ({ token, ...entry })),
    };
  }

  /**
   * The broken variant: it reads the free room in one step and fills it in a
   * later one, as a client sending ZCARD, then ZRANGE + ZADD + ZREM, would.
   * Two admitters that both read the room before either fills it admit twice.
   */
  private async admitInSteps(nowMs: number, activeMax: number, activeTtlMs: number): Promise<AdmissionResult> {
    await this.tick();
    const expired = this.dropExpired(nowMs);
    this.dropSpent(nowMs);
    await this.tick();
    const room = activeMax - this.active.size;
    await this.tick();
    return this.result(this.activate(this.line.takeFront(room), nowMs + activeTtlMs), expired);
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

  private activate(tokens: readonly string[], expiresAt: number): number {
    for (const token of tokens) this.active.set(token, expiresAt);
    this.admittedTotal += tokens.length;
    return tokens.length;
  }

  private forget(token: string): boolean {
    const ticket = this.tickets.get(token);
    if (ticket === undefined) return false;
    this.tickets.delete(token);
    if (!this.active.delete(token)) this.line.remove(ticket.seq);
    if (this.tokenOfUser.get(ticket.userId) === token) this.tokenOfUser.delete(ticket.userId);
    return true;
  }

  private result(admitted: number, expired: number): AdmissionResult {
    return { admitted, expired, waiting: this.line.size, admittedTotal: this.admittedTotal };
  }
}
