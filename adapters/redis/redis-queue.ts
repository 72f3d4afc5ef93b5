import type { Redis } from 'ioredis';
import { DependencyUnavailableError } from '../../core/domain/errors.js';
import type { AdmissionResult, AdmissionRules, IssuedToken, LiveToken, LiveTokenState, QueueCounts, TokenState } from '../../core/domain/queue.js';
import type { QueuePort } from '../../core/ports/queue.port.js';
import type { LuaScript } from './lua-script.js';
import { ADMIT, CURRENT, EXPIRE, EXTEND, ISSUE, LEAVE, STATUS } from './queue-scripts.js';

export interface RedisQueueOptions {
  /** Namespace of every key the queue writes: `<prefix>queue:...` (queue-scripts.ts lists them). */
  readonly prefix: string;
}

/**
 * QueuePort on Redis, shared by every instance: each operation is one Lua
 * script (queue-scripts.ts), so one round trip and atomic.
 */
export class RedisQueue implements QueuePort {
  private readonly keys: {
    readonly waiting: string;
    readonly active: string;
    readonly sequence: string;
    readonly tokenUser: string;
    readonly userToken: string;
    readonly admitted: string;
    readonly seen: string;
  };
  /** One key per spent token (each with its own TTL: hash fields cannot expire on their own). */
  private readonly spentKey: (token: string) => string;

  constructor(
    private readonly redis: Redis,
    options: RedisQueueOptions,
  ) {
    const key = (name: string) => `${options.prefix}queue:${name}`;
    this.keys = {
      waiting: key('waiting'),
      active: key('active'),
      sequence: key('seq'),
      tokenUser: key('token-user'),
      userToken: key('user-token'),
      admitted: key('admitted'),
      seen: key('seen'),
    };
    this.spentKey = (token) => key(`spent:${token}`);
  }

  async issue(userId: string, candidate: string, now: Date): Promise<IssuedToken> {
    const { waiting, active, sequence, tokenUser, userToken, seen } = this.keys;
    const reply = await this.run(ISSUE, [waiting, active, sequence, tokenUser, userToken, seen], [userId, candidate, now.getTime()]);
    const [token, created, status, value] = reply as [string, number, 'WAITING' | 'ACTIVE', string | number];
    return { token, created: created === 1, state: liveState(userId, status, value) };
  }

  async current(userId: string, now: Date): Promise<LiveToken | undefined> {
    const { waiting, active, userToken, seen } = this.keys;
    const reply = await this.run(CURRENT, [waiting, active, userToken, seen], [userId, now.getTime()]);
    if (reply === null) return undefined;
    const [token, status, value] = reply as [string, 'WAITING' | 'ACTIVE', string | number];
    return { token, state: liveState(userId, status, value) };
  }

  async leave(userId: string, now: Date): Promise<boolean> {
    const { waiting, active, tokenUser, userToken, seen } = this.keys;
    return (await this.run(LEAVE, [waiting, active, tokenUser, userToken, seen], [userId, now.getTime()])) === 1;
  }

  async extend(token: string, until: Date, now: Date): Promise<boolean> {
    return (await this.run(EXTEND, [this.keys.active], [token, until.getTime(), now.getTime()])) === 1;
  }

  async status(token: string, now: Date): Promise<TokenState | undefined> {
    const { waiting, active, tokenUser } = this.keys;
    const reply = await this.run(STATUS, [waiting, active, tokenUser, this.spentKey(token)], [token, now.getTime()]);
    if (reply === null) return undefined;
    const [status, userId, value] = reply as ['WAITING' | 'ACTIVE' | 'SPENT', string, string | number];
    if (status === 'SPENT') return { status, userId };
    return liveState(userId, status, value);
  }

  async admit(now: Date, rules: AdmissionRules): Promise<AdmissionResult> {
    const { waiting, active, tokenUser, userToken, admitted, seen } = this.keys;
    const reply = await this.run(
      ADMIT,
      [waiting, active, tokenUser, userToken, admitted, seen],
      [now.getTime(), rules.activeMax, rules.activeTtlMs, rules.presenceTimeoutMs],
    );
    const [admittedNow, expired, dropped, waitingAfter, admittedTotal] = (reply as number[]).map(Number) as [number, number, number, number, number];
    return { admitted: admittedNow, expired, dropped, waiting: waitingAfter, admittedTotal };
  }

  async expire(token: string, now: Date): Promise<boolean> {
    const { waiting, active, tokenUser, userToken, seen } = this.keys;
    return (await this.run(EXPIRE, [waiting, active, tokenUser, userToken, this.spentKey(token), seen], [token, now.getTime()])) === 1;
  }

  async counts(now: Date): Promise<QueueCounts> {
    try {
      // Two reads, not one snapshot: a gauge may be a round behind.
      const [waiting, active] = await Promise.all([
        this.redis.zcard(this.keys.waiting),
        this.redis.zcount(this.keys.active, `(${now.getTime()}`, '+inf'),
      ]);
      return { waiting, active };
    } catch (cause) {
      throw new DependencyUnavailableError('queue', { cause });
    }
  }

  async ping(): Promise<void> {
    try {
      await this.redis.ping();
    } catch (cause) {
      throw new DependencyUnavailableError('queue', { cause });
    }
  }

  private async run(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await script.run(this.redis, keys, args);
    } catch (cause) {
      throw new DependencyUnavailableError('queue', { cause });
    }
  }
}

/** A script's WAITING (position) or ACTIVE (expiry, ms) answer, as the port states it. */
function liveState(userId: string, status: 'WAITING' | 'ACTIVE', value: string | number): LiveTokenState {
  return status === 'WAITING' ? { status, userId, position: Number(value) } : { status, userId, expiresAt: new Date(Number(value)) };
}
