import type { Redis } from 'ioredis';
import { DependencyUnavailableError } from '../../core/domain/errors.js';
import type { AdmissionResult, IssuedToken, LiveTokenState, QueueCounts, TokenState } from '../../core/domain/queue.js';
import type { QueuePort } from '../../core/ports/queue.port.js';
import type { LuaScript } from './lua-script.js';
import { ADMIT, EXPIRE, ISSUE, STATUS } from './queue-scripts.js';

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
    };
    this.spentKey = (token) => key(`spent:${token}`);
  }

  async issue(userId: string, candidate: string, now: Date): Promise<IssuedToken> {
    const { waiting, active, sequence, tokenUser, userToken } = this.keys;
    const reply = await this.run(ISSUE, [waiting, active, sequence, tokenUser, userToken], [userId, candidate, now.getTime()]);
    const [token, created, status, value] = reply as [string, number, 'WAITING' | 'ACTIVE', string | number];
    const state: LiveTokenState =
      status === 'WAITING' ? { status, userId, position: Number(value) } : { status, userId, expiresAt: new Date(Number(value)) };
    return { token, created: created === 1, state };
  }

  async status(token: string, now: Date): Promise<TokenState | undefined> {
    const { waiting, active, tokenUser } = this.keys;
    const reply = await this.run(STATUS, [waiting, active, tokenUser, this.spentKey(token)], [token, now.getTime()]);
    if (reply === null) return undefined;
    const [status, userId, value] = reply as ['WAITING' | 'ACTIVE' | 'SPENT', string, string | number];
    if (status === 'SPENT') return { status, userId };
    return status === 'WAITING' ? { status, userId, position: Number(value) } : { status, userId, expiresAt: new Date(Number(value)) };
  }

  async admit(now: Date, activeMax: number, activeTtlMs: number): Promise<AdmissionResult> {
    const { waiting, active, tokenUser, userToken, admitted } = this.keys;
    const reply = await this.run(ADMIT, [waiting, active, tokenUser, userToken, admitted], [now.getTime(), activeMax, activeTtlMs]);
    const [admittedNow, expired, waitingAfter, admittedTotal] = (reply as number[]).map(Number) as [number, number, number, number];
    return { admitted: admittedNow, expired, waiting: waitingAfter, admittedTotal };
  }

  async expire(token: string, now: Date): Promise<boolean> {
    const { waiting, active, tokenUser, userToken } = this.keys;
    return (await this.run(EXPIRE, [waiting, active, tokenUser, userToken, this.spentKey(token)], [token, now.getTime()])) === 1;
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
