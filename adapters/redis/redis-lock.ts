import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { LockOptions as MutexOptions } from 'redis-semaphore';
import { Mutex } from 'redis-semaphore';
import { LockReleaseChannel } from './lock-release-channel.js';
import { DependencyUnavailableError, LeaseLostError, LockBusyError } from '../../core/domain/errors.js';
import type { Lease, LockOptions, LockPort } from '../../core/ports/lock.port.js';

export interface RedisLockOptions {
  /**
   * Namespace of every key this lock writes: `<prefix>lock:<key>` (the
   * mutex) and `<prefix>fence` (the fencing counter); releases are published
   * on `<prefix>lock-released`.
   */
  readonly prefix: string;
  readonly defaultLeaseMs?: number;
  /** How often a waiting caller tries a held key again while it cannot hear releases (its subscription not confirmed). */
  readonly unsubscribedPollMs?: number;
  /** How often a waiting caller that hears releases tries anyway (a lost message, a lease that ran out). */
  readonly fallbackPollMs?: number;
}

/**
 * Takes the mutex and draws the key's next fencing token in one round trip.
 * redis-semaphore takes a mutex with a plain SET NX PX and has no hook for a
 * token; a separate INCR would be a third round trip per withLock. Measured
 * on localhost against a budget of 4x a PING for the whole call: library
 * acquire + INCR + release alone took 3.2x at p50; withLock with this script
 * takes 2.0x. The script also counts only acquisitions, never failed attempts, and
 * the token is drawn atomically with the SET, so no other holder can come in
 * between. Both keys share one prefix; Redis Cluster would need a hash tag.
 *
 * One counter serves every key: a token that grows with every acquisition of
 * any key also grows with every acquisition of each key, which is all a
 * fence promises. A counter per key would leave one Redis key behind for
 * every seat, reservation and wallet ever locked.
 */
const ACQUIRE_LUA = `
if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return redis.call('incr', KEYS[2])
end
return 0
`;
const ACQUIRE_SHA = createHash('sha1').update(ACQUIRE_LUA).digest('hex');

/**
 * Compare-and-delete, and, when it did delete, the key published on the
 * release channel (ARGV[2]) for the waiters of every process
 * (lock-release-channel.ts). In one script, so that no release goes
 * unannounced and no announcement precedes its delete. Sent as EVALSHA by
 * a release, as EVAL with the body by `FencedMutex.abandon`: EVALSHA's
 * NOSCRIPT fallback needs an answer to react to, and a command whose answer
 * the client stopped waiting for gets none (a server whose script cache was
 * emptied by a restart would drop it).
 */
const RELEASE_IF_OWNED_LUA = `
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  redis.call('publish', ARGV[2], KEYS[1])
  return 1
end
return 0
`;
const RELEASE_IF_OWNED_SHA = createHash('sha1').update(RELEASE_IF_OWNED_LUA).digest('hex');

async function runScript(redis: Redis, lua: string, sha: string, args: readonly [number, ...(string | number)[]]): Promise<number> {
  try {
    return Number(await redis.evalsha(sha, ...args));
  } catch (error) {
    // Scripts are cached per server: after a restart or SCRIPT FLUSH, send the body once.
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return Number(await redis.eval(lua, ...args));
  }
}

/**
 * Cleanups to send on a client's next 'ready', one listener for all of them.
 * A connection that drops leaves its unanswered commands to ioredis, which
 * sends them again on the next connection before it emits 'ready' (and a
 * command issued before the first connection waits in the offline queue
 * until then): a cleanup sent from here reaches Redis right behind them.
 * A client that ends for good sends nothing more, so neither do these.
 */
class OnNextReady {
  private readonly due = new Set<() => void>();

  constructor(redis: Redis) {
    redis.on('ready', () => {
      const now = [...this.due];
      this.due.clear();
      for (const send of now) send();
    });
    redis.on('end', () => this.due.clear());
  }

  add(send: () => void): void {
    this.due.add(send);
  }
}

/**
 * Whether a command issued now may reach Redis: sent at once on a ready
 * connection, or queued until the first one (the offline queue, which
 * createRedis switches off once the first connection attempt has ended).
 * Otherwise ioredis refuses it on the spot and nothing is sent.
 */
function maySend(redis: Redis): boolean {
  return redis.status === 'ready' || redis.options.enableOfflineQueue !== false;
}

/**
 * redis-semaphore's Mutex (refresh timer, compare-and-expire refresh,
 * lost-lock detection) with six changes made through its protected hooks:
 * - the Redis key is `<prefix>lock:<key>`, not the library's `mutex:<key>`,
 *   so every key of the service lives under its prefix (SCAN, ACL patterns);
 * - acquiring also draws the fencing token (ACQUIRE_LUA), makes at least one
 *   attempt even with no time to wait, and does not sleep after its last one;
 * - a waiting acquire does not poll: it waits in this process's line for the
 *   key (LockReleaseChannel) and tries again when a release is heard, or at
 *   the channel's fallback interval; the library's loop sleeps
 *   `retryInterval` between attempts and has no way to be woken;
 * - releasing publishes the key for those waiters (RELEASE_IF_OWNED_LUA, in
 *   place of the library's compare-and-delete);
 * - a refresh that cannot reach Redis does not reject inside the library's
 *   timer (an unhandled rejection would end the process): the lease is
 *   reported lost once it may have ended on the server, and not before;
 * - a command that may have reached Redis but whose answer never came (an
 *   acquire, refresh or release that timed out or lost its connection) is
 *   followed by a compare-and-delete of this acquisition's key (`abandon`).
 *   A paused Redis (SIGSTOP, a long fork, a saturated host) keeps the
 *   connection open: the command is not lost, it runs when Redis resumes,
 *   after the client gave up on it at its command timeout; a dropped
 *   connection's commands are sent again on the next one. A late acquire
 *   would then take the key, and late refreshes would extend it, for a
 *   whole lease on behalf of a request that already answered 503 or rolled
 *   back: the next buyer of the seat would get LOCK_BUSY, a retried payment
 *   IDEMPOTENCY_IN_PROGRESS, for up to 10 s. Sent on the same connection,
 *   the delete queues behind that command, and Redis runs it right after.
 */
class FencedMutex extends Mutex {
  /** Token of this acquisition; set once acquired. */
  fence = 0;
  /** The earliest moment the key may expire in Redis: when the last successful SET or PEXPIRE was sent, plus the lease. */
  private leaseEndsAt = 0;

  constructor(
    private readonly redis: Redis,
    lockKey: string,
    private readonly fenceKey: string,
    private readonly onNextReady: OnNextReady,
    private readonly releases: LockReleaseChannel,
    options: MutexOptions,
  ) {
    super(redis, lockKey, options);
    this._key = lockKey; // the library's refresh and release read it
  }

  protected override async _acquire(): Promise<boolean> {
    const { acquireTimeout, acquireAttemptsLimit } = this._acquireOptions;
    if (acquireAttemptsLimit <= 1) return this.attempt();
    const giveUpAt = Date.now() + acquireTimeout;
    const waiter = this.releases.join(this._key);
    let acquired = false;
    try {
      // Behind others of this process: they go first (each release wakes the first in line), so a caller that
      // comes back for the key at once cannot overtake them. Its turn comes by a wake or a poll (or, with no
      // time to wait, now: every acquire makes at least one attempt).
      if (!waiter.behindOthers || giveUpAt <= Date.now()) acquired = await this.attempt();
      while (!acquired) {
        const left = giveUpAt - Date.now();
        if (left <= 0) return false;
        await waiter.next(left);
        acquired = await this.attempt();
      }
      return true;
    } finally {
      waiter.leave(acquired);
    }
  }

  /** One SET NX (+ fencing token); true when it took the key. */
  private async attempt(): Promise<boolean> {
    const { identifier, lockTimeout } = this._acquireOptions;
    const sentAt = Date.now();
    const sent = maySend(this.redis);
    let fence: number;
    try {
      fence = await runScript(this.redis, ACQUIRE_LUA, ACQUIRE_SHA, [2, this._key, this.fenceKey, identifier, lockTimeout]);
    } catch (error) {
      // Timed out, or its connection dropped: it may run in Redis yet. (Refused unsent, Redis being unreachable: nothing to undo.)
      if (sent) this.abandon();
      throw error;
    }
    if (fence === 0) return false;
    this.fence = fence;
    this.leaseEndsAt = sentAt + lockTimeout;
    return true;
  }

  protected override async _refresh(): Promise<boolean> {
    const sentAt = Date.now();
    const left = this.leaseEndsAt - sentAt;
    if (left <= 0) {
      // The process paused past the lease (GC, a blocked loop). A refresh that timed out before may wait in Redis still.
      this.abandon();
      return false;
    }
    const expiry = new AbortController();
    const outcome = await Promise.race([
      super._refresh().catch(() => 'unreachable' as const),
      // A refresh that hangs must not outlive the lease.
      sleep(left, 'expired' as const, { signal: expiry.signal, ref: false }),
    ]);
    expiry.abort();
    if (outcome === true) {
      this.leaseEndsAt = sentAt + this._acquireOptions.lockTimeout;
      return true;
    }
    // Redis answered that the key is gone or another's. Answers come in order: no earlier command of ours waits there.
    if (outcome === false) return false;
    // Redis did not answer: keep the work going only while the lease is sure to outlast the next refresh.
    if (outcome === 'unreachable' && Date.now() + this._refreshTimeInterval < this.leaseEndsAt) return true;
    // Given up; the library will not release a lock it counts as lost. This refresh, and maybe earlier ones, may
    // wait in a paused Redis: run there after the work has rolled back, each would keep the key another lease.
    this.abandon();
    return false;
  }

  protected override async _release(): Promise<void> {
    try {
      await runScript(this.redis, RELEASE_IF_OWNED_LUA, RELEASE_IF_OWNED_SHA, [1, this._key, this._acquireOptions.identifier, this.releases.channel]);
    } catch (error) {
      // Unanswered: the release itself most likely waits in Redis and will run, but as EVALSHA, whose NOSCRIPT
      // (a server that restarted, its script cache empty) no one is left to answer with the script. Make sure.
      this.abandon();
      throw error;
    }
  }

  /**
   * Sends the compare-and-delete of this acquisition's key, and does not
   * wait for it: the caller has already decided (503, rollback, lease
   * lost). It deletes only a key holding this acquisition's identifier, so
   * sending it when the key was never taken, has expired or is another
   * holder's changes nothing. As EVAL with the script's body: an EVALSHA
   * answered NOSCRIPT would fall back to nothing, its caller gone.
   *
   * Bounded on its own: sent now on a ready connection, else on the
   * client's next 'ready' (OnNextReady: behind the commands ioredis sends
   * again), or never if the client ends first; then the client's command
   * timeout ends it (1 s in the service, app/time-bounds.ts), or, for a
   * client without one, a lease, when any key it was meant to delete has
   * expired on its own. Its failure is swallowed: nothing waits for it.
   */
  private abandon(): void {
    const { identifier, lockTimeout } = this._acquireOptions;
    const send = (): void => {
      const bound = new AbortController();
      void Promise.race([
        this.redis.eval(RELEASE_IF_OWNED_LUA, 1, this._key, identifier, this.releases.channel),
        sleep(lockTimeout, undefined, { signal: bound.signal, ref: false }),
      ])
        .catch(() => undefined)
        .finally(() => bound.abort());
    };
    if (this.redis.status === 'ready') send();
    else this.onNextReady.add(send);
  }
}

/**
 * LockPort on Redis (redis-semaphore mutexes), shared by every instance of
 * the service. Round trips per withLock of one key: one to acquire and draw
 * the fencing token, one to release (which also publishes the release);
 * plus one refresh (compare-and-PEXPIRE) every leaseMs/3 while work runs. A
 * caller that waits for a held key is woken by the key's release
 * (LockReleaseChannel: one subscriber connection per process, opened on the
 * first wait), first come first within this process.
 */
export class RedisLock implements LockPort {
  private readonly prefix: string;
  private readonly defaultLeaseMs: number;
  private readonly onNextReady: OnNextReady;
  private readonly releases: LockReleaseChannel;

  constructor(
    private readonly redis: Redis,
    options: RedisLockOptions,
  ) {
    this.onNextReady = new OnNextReady(redis);
    this.prefix = options.prefix;
    this.defaultLeaseMs = options.defaultLeaseMs ?? 10_000;
    this.releases = new LockReleaseChannel(redis, {
      channel: `${options.prefix}lock-released`,
      fallbackPollMs: options.fallbackPollMs ?? 250,
      unsubscribedPollMs: options.unsubscribedPollMs ?? 10,
    });
  }

  async withLock<T>(keys: readonly string[], work: (lease: Lease) => Promise<T>, options: LockOptions): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const leaseMs = options.leaseMs ?? this.defaultLeaseMs;
    const controller = new AbortController();
    const fencingTokens = new Map<string, number>();
    const held: FencedMutex[] = [];
    // One deadline for all keys: a caller waits at most maxWaitMs in total.
    const giveUpAt = Date.now() + (options.wait.kind === 'wait' ? options.wait.maxWaitMs : 0);
    try {
      for (const key of sorted) {
        const mutex = new FencedMutex(this.redis, `${this.prefix}lock:${key}`, `${this.prefix}fence`, this.onNextReady, this.releases, {
          lockTimeout: leaseMs,
          refreshInterval: Math.max(1, Math.floor(leaseMs / 3)),
          acquireTimeout: Math.max(0, giveUpAt - Date.now()),
          acquireAttemptsLimit: options.wait.kind === 'fail-fast' ? 1 : Number.POSITIVE_INFINITY,
          onLockLost: () => controller.abort(new LeaseLostError()),
        });
        if (!(await this.acquire(mutex))) throw new LockBusyError(key);
        held.push(mutex);
        fencingTokens.set(key, mutex.fence);
      }
    } catch (error) {
      await release(held);
      throw error;
    }
    try {
      return await work({ signal: controller.signal, fencingTokens });
    } finally {
      await release(held);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.redis.ping();
    } catch (cause) {
      throw new DependencyUnavailableError('lock', { cause });
    }
  }

  private async acquire(mutex: FencedMutex): Promise<boolean> {
    try {
      return await mutex.tryAcquire();
    } catch (cause) {
      throw new DependencyUnavailableError('lock', { cause });
    }
  }
}

/**
 * Releases in reverse order of acquisition. The deletes are sent together:
 * Redis runs them in that order, and the caller waits one round trip, not one
 * per key.
 *
 * Release never throws. Releasing a lost lock cannot fail (the library skips
 * a loss it has seen; an unseen one is a compare-and-delete that leaves the
 * new holder's key alone). A release that cannot reach Redis is swallowed
 * too: by then the work's outcome is final (its transaction committed or
 * rolled back), so turning it into an error would report a committed write
 * as failed. Its delete goes again once Redis can run it
 * (FencedMutex.abandon); failing that, the key expires within the lease.
 */
async function release(held: readonly FencedMutex[]): Promise<void> {
  await Promise.allSettled(held.toReversed().map((mutex) => mutex.release()));
}
