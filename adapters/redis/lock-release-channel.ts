import type { Redis } from 'ioredis';

/** The bounds of one subscriber connection, when the client it copies has none of its own (app/time-bounds.ts has the service's). */
const SUBSCRIBE_COMMAND_TIMEOUT_MS = 1_000;
const SUBSCRIBE_CONNECT_TIMEOUT_MS = 2_000;

export interface LockReleaseChannelOptions {
  /** The Pub/Sub channel every release of a lock key is published on, with the key as the message. */
  readonly channel: string;
  /** How long a waiter waits for a message before it tries the key anyway: a lost message, or a lease that simply ran out. */
  readonly fallbackPollMs: number;
  /** How often a waiter tries while no subscription is confirmed (connecting, or Redis unreachable): the old poll. */
  readonly unsubscribedPollMs: number;
}

/**
 * The waiters of this process and the one connection that tells them when
 * a key they wait for is released.
 *
 * Every release of a key (and every compare-and-delete that did delete)
 * publishes the key on one channel, in the same script as the delete
 * (redis-lock.ts). One subscriber connection per process, a duplicate of
 * the lock's client, opened on the first wait and closed when that client
 * ends, hears them all and wakes the first local waiter of that key, and
 * only that one: a queue per key, first come first, so that the waiter that
 * has waited longest is the one that tries first, and a release does not
 * send every waiter of a hot wallet to Redis at once.
 *
 * Waking is an optimisation of the wait, never its only way out. The first
 * waiter of a key still tries again every `fallbackPollMs` (a message lost
 * with a dropped connection, a key that expired without a release; the
 * others follow it, each first in its turn), and every waiter every
 * `unsubscribedPollMs` while no subscription is confirmed; when the
 * subscription drops, every waiter is woken to switch to the short poll,
 * and once it is confirmed, the first waiter of each key looks again (a
 * release may have gone unheard in between).
 *
 * The cost: every subscribed process receives every release of the
 * deployment (one small message each), waited for or not. A channel per key
 * would send each process only the keys it waits for, at the price of a
 * SUBSCRIBE round trip before a waiter's first look.
 */
export class LockReleaseChannel {
  private subscriber: Redis | undefined;
  /** True once SUBSCRIBE has been answered on the current connection: from then on no release is missed. */
  private subscribed = false;
  private readonly queues = new Map<string, LockWaiter[]>();

  constructor(
    private readonly redis: Redis,
    private readonly options: LockReleaseChannelOptions,
  ) {}

  /** The Pub/Sub channel a release publishes its key on (the release scripts' ARGV[2]). */
  get channel(): string {
    return this.options.channel;
  }

  /**
   * Takes the last place in the line for a key. Joined before the first
   * attempt, so that a release the attempt just missed is not missed by
   * the waiter too (its message may come before the attempt's answer).
   */
  join(key: string): LockWaiter {
    const queue = this.queues.get(key) ?? [];
    const waiter = new LockWaiter(key, queue.length > 0, this);
    queue.push(waiter);
    this.queues.set(key, queue);
    return waiter;
  }

  /**
   * How long a waiter parks before it looks at the key unwoken. Only the
   * first in line looks (every `fallbackPollMs`): the others' turn comes
   * after it, by a wake, and 200 waiters of a hot wallet polling would be
   * 800 refused attempts a second. The others wait for a wake, for their
   * deadline, or to be first. Without a subscription everyone polls, at
   * the short interval: no release is heard.
   */
  pollMs(waiter: LockWaiter, timeoutMs: number): number {
    this.subscribe();
    if (!this.subscribed) return Math.min(timeoutMs, this.options.unsubscribedPollMs);
    return this.queues.get(waiter.key)?.[0] === waiter ? Math.min(timeoutMs, this.options.fallbackPollMs) : timeoutMs;
  }

  leave(waiter: LockWaiter): void {
    const queue = this.queues.get(waiter.key);
    if (queue === undefined) return;
    const at = queue.indexOf(waiter);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.queues.delete(waiter.key);
    // The new first in line starts looking on its own (the fallback poll), from now.
    if (at === 0) queue[0]?.repark();
    // A release it was woken for but did not use (it gave up, or Redis failed it) is the next waiter's.
    if (waiter.pendingWake) this.released(waiter.key);
  }

  /** Wakes the first waiter of the key not woken already. */
  private released(key: string): void {
    this.queues
      .get(key)
      ?.find((waiter) => !waiter.pendingWake)
      ?.wake();
  }

  /** Opens the subscriber on the first wait; afterwards it reconnects on its own (ioredis), and subscribes again each time. */
  private subscribe(): void {
    if (this.subscriber !== undefined || this.redis.status === 'end') return;
    const subscriber = this.redis.duplicate({
      connectionName: `${this.redis.options.connectionName ?? 'lock'}-lock-releases`,
      lazyConnect: true,
      // Subscribed on each 'ready' below; nothing is queued or sent again behind its back.
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      commandTimeout: this.redis.options.commandTimeout ?? SUBSCRIBE_COMMAND_TIMEOUT_MS,
      connectTimeout: Math.min(this.redis.options.connectTimeout ?? SUBSCRIBE_CONNECT_TIMEOUT_MS, SUBSCRIBE_CONNECT_TIMEOUT_MS),
    });
    this.subscriber = subscriber;
    subscriber.on('error', () => {}); // failures show as short polls; the lock's own client reports Redis being down
    subscriber.on('message', (channel: string, key: string) => {
      if (channel === this.options.channel) this.released(key);
    });
    subscriber.on('ready', () => {
      subscriber.subscribe(this.options.channel).then(
        () => {
          if (subscriber.status !== 'ready') return;
          this.subscribed = true;
          // A release before now went unheard: the first waiter of each key looks once (the others keep their place).
          for (const key of this.queues.keys()) this.released(key);
        },
        // Not answered in time: a connection that may never answer. Start a new one (and subscribe on its 'ready').
        () => {
          if (subscriber.status === 'ready') subscriber.disconnect(true);
        },
      );
    });
    subscriber.on('close', () => {
      if (!this.subscribed) return;
      this.subscribed = false;
      // Releases may go unheard from now on: every waiter looks at once and then polls at the short interval.
      for (const queue of this.queues.values()) for (const waiter of queue) waiter.wake();
    });
    // The lock's client ends when the process shuts down (app/application.ts quits it): so does this one.
    this.redis.once('end', () => subscriber.disconnect());
    subscriber.connect().catch(() => undefined);
  }
}

/**
 * One caller's place in a key's line. `next` parks it until it is woken
 * or its poll interval has passed; `leave` gives the place up.
 */
export class LockWaiter {
  /** A release reached this waiter that it has not tried the key for yet. */
  pendingWake = false;
  private parked: { readonly resume: () => void; readonly until: number; timer: NodeJS.Timeout } | undefined;

  constructor(
    /** The Redis key it waits for. */
    readonly key: string,
    /** Others of this process waited for the key before this one: it should not try ahead of them. */
    readonly behindOthers: boolean,
    private readonly line: LockReleaseChannel,
  ) {}

  /** Resolves when woken (at once if a wake came since the last call), or after its poll interval, at most `timeoutMs`. */
  next(timeoutMs: number): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.parked = { resume: resolve, until: Date.now() + timeoutMs, timer: setTimeout(() => this.resume(), this.line.pollMs(this, timeoutMs)) };
    });
  }

  wake(): void {
    if (this.parked === undefined) this.pendingWake = true;
    else this.resume();
  }

  /** Parks again for the poll interval it has now (it became first in line), from now; not at all if it is not parked. */
  repark(): void {
    const parked = this.parked;
    if (parked === undefined) return;
    clearTimeout(parked.timer);
    parked.timer = setTimeout(() => this.resume(), this.line.pollMs(this, Math.max(0, parked.until - Date.now())));
  }

  /** Gives up the place; `acquired` says whether the key was had (then a wake it did not use is stale: it came before its own acquire). */
  leave(acquired: boolean): void {
    if (acquired) this.pendingWake = false;
    this.line.leave(this);
  }

  private resume(): void {
    const parked = this.parked;
    this.parked = undefined;
    if (parked === undefined) return;
    clearTimeout(parked.timer);
    parked.resume();
  }
}
