/**
 * The waiting queue's figures, each beside a ceiling from the same run:
 * - token issue over HTTP (POST /queue/tokens, a distinct user per request,
 *   each with its own access token, signed beforehand, and no body)
 *   beside bare Redis at the same concurrency: a plain SET, and a small Lua
 *   script (EVALSHA), on one ioredis client as the app uses; and a plain SET
 *   one at a time (one round trip each);
 * - one admission round (drop 100 expired, admit 100) with 1,000, 10,000 and
 *   100,000 waiting: the round reads only the front of the line, so its time
 *   should not grow with the line (O(admitted), not O(waiting));
 * - the same with half the line walked away (stopped asking), with 1,000 and
 *   100,000 waiting: each round also drops 100 absent waiters, found by their
 *   last sighting, so its time should not grow with the line either
 *   (O(admitted + dropped)).
 * The caller owns `prefix` and the service (started with REDIS_PREFIX=prefix);
 * the admission lines are written under `<prefix>queue-bench-<n>:` and deleted here.
 */
import type { Redis } from 'ioredis';
import { createRedis } from '../adapters/redis/create-redis.js';
import { LuaScript } from '../adapters/redis/lua-script.js';
import { RedisQueue } from '../adapters/redis/redis-queue.js';
import { RandomTokenGenerator } from '../adapters/system/random-token-generator.js';
import type { DriveRequest, DriveResult } from './drive.js';
import { drive } from './drive.js';
import type { Latency } from './support.js';
import { bearer, SignedUsers, summarise } from './support.js';

export interface QueueBenchOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  /** The service under load (http://127.0.0.1:<port>), on the same Redis. */
  readonly serviceUrl: string;
  /** Same as the other HTTP loads of the run, so the ratios compare like with like. */
  readonly connections?: number;
  readonly durationS?: number;
  readonly warmupS?: number;
  /** The service's AUTH_JWT_SECRET: every issue carries an access token signed with it for its user. */
  readonly authSecret: string;
}

export interface IssueLoad {
  /** Every answer per second, and 201s per second (each a new token). */
  readonly rps: number;
  readonly createdRps: number;
  readonly p50: number;
  readonly p99: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
  /** The pre-signed users ran out and the window was cut short (its rates are over the time it lasted). */
  readonly exhausted: boolean;
  /** Seconds spent signing the users' access tokens: setup, outside every window. */
  readonly signS: number;
}

export interface RedisCeiling {
  readonly opsPerS: number;
  readonly latency: Latency;
}

export interface AdmissionRound {
  readonly waiting: number;
  readonly admittedPerRound: number;
  /** Absent waiters each round dropped (0 when nobody walked away). */
  readonly droppedPerRound: number;
  readonly rounds: number;
  /** Time of one round (one script call), ms. */
  readonly round: Latency;
}

export interface QueueFigures {
  readonly connections: number;
  readonly issue: IssueLoad;
  /** Bare SET and a small script, `connections` callers at once on one client (ioredis pipelines them on its connection). */
  readonly set: RedisCeiling;
  readonly lua: RedisCeiling;
  /** Bare SET, one call at a time: one round trip each, like the report's PING ceiling. */
  readonly setOneAtATime: RedisCeiling;
  /** Token issue rate over the concurrent bare SET rate; the issue's target is ≥ 0.25. */
  readonly issueOverSet: number;
  /** Token issue rate over the one-at-a-time SET rate. */
  readonly issueOverSetOneAtATime: number;
  /** With 1,000, 10,000 and 100,000 waiting. */
  readonly admission: readonly [AdmissionRound, AdmissionRound, AdmissionRound];
  /** Round time p50 with 100,000 waiting over with 1,000; ≈ 1 when the round is O(admitted). */
  readonly admissionGrowth: number;
  /** With 1,000 and 100,000 waiting, every other one walked away: each round drops 100 of them too. */
  readonly walkedAway: readonly [AdmissionRound, AdmissionRound];
  /** Round time p50 with 100,000 waiting (half absent) over with 1,000; ≈ 1 when the round is O(admitted + dropped). */
  readonly walkedAwayGrowth: number;
}

export const QUEUE_TARGETS = { issueOverSet: 0.25 } as const;

const ADMIT_PER_ROUND = 100;
const LINES = [1_000, 10_000, 100_000] as const;
const WALKED_AWAY_LINES = [1_000, 100_000] as const;
const ROUNDS = 40;
const TTL_MS = 600_000;
const PRESENCE_MS = 120_000;
/**
 * Users signed for the warm-up before its rate is known: enough for this
 * many issues per second (a faster service only cuts its warm-up short). The
 * window's users are then sized from the warm-up's own rate, twice over.
 */
const ISSUE_WARMUP_RATE_GUESS = 5_000;
const ISSUE_WINDOW_HEADROOM = 2;

export async function benchQueue(opts: QueueBenchOptions): Promise<QueueFigures> {
  const connections = opts.connections ?? 32;
  const durationS = opts.durationS ?? 8;
  const warmupS = opts.warmupS ?? 2;
  const redis = createRedis(opts.redisUrl, { name: 'bench-queue' });
  try {
    const issue = await issueTokens(opts.serviceUrl, opts.authSecret, connections, warmupS, durationS);

    const ceilingS = Math.max(2, Math.round(durationS / 2));
    const set = await closedLoop(connections, ceilingS, (worker) => redis.set(`${opts.prefix}ceiling:set:${worker}`, 'x'));
    const script = new LuaScript(`redis.call('set', KEYS[1], ARGV[1]) return 1`);
    const lua = await closedLoop(connections, ceilingS, (worker) => script.run(redis, [`${opts.prefix}ceiling:lua:${worker}`], ['x']));
    const setOneAtATime = await closedLoop(1, ceilingS, (worker) => redis.set(`${opts.prefix}ceiling:set:${worker}`, 'x'));
    await deleteWorkerKeys(redis, opts.prefix, connections);

    const small = await admissionRounds(redis, `${opts.prefix}queue-bench-${LINES[0]}:`, LINES[0], false);
    const middle = await admissionRounds(redis, `${opts.prefix}queue-bench-${LINES[1]}:`, LINES[1], false);
    const large = await admissionRounds(redis, `${opts.prefix}queue-bench-${LINES[2]}:`, LINES[2], false);
    const [shortGone, longGone] = WALKED_AWAY_LINES;
    const smallGone = await admissionRounds(redis, `${opts.prefix}queue-bench-gone-${shortGone}:`, shortGone, true);
    const largeGone = await admissionRounds(redis, `${opts.prefix}queue-bench-gone-${longGone}:`, longGone, true);
    return {
      connections,
      issue,
      set,
      lua,
      setOneAtATime,
      issueOverSet: issue.createdRps / set.opsPerS,
      issueOverSetOneAtATime: issue.createdRps / setOneAtATime.opsPerS,
      admission: [small, middle, large],
      admissionGrowth: large.round.p50 / small.round.p50,
      walkedAway: [smallGone, largeGone],
      walkedAwayGrowth: largeGone.round.p50 / smallGone.round.p50,
    };
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/**
 * POST /queue/tokens, each request with the next pre-signed user's access
 * token and no body (so every answer is a 201: a token created): a warm-up,
 * then the measured window. Signing happens before each, never inside.
 */
async function issueTokens(url: string, authSecret: string, connections: number, warmupS: number, durationS: number): Promise<IssueLoad> {
  const users = new SignedUsers(authSecret, `qb-${Date.now().toString(36)}-`);
  const request = (): DriveRequest | undefined => {
    const user = users.take();
    return user && { method: 'POST', path: '/queue/tokens', headers: bearer(user.token) };
  };
  // 201 is the work measured: a 200 would be a token handed back, not one created.
  const created = (status: number) => status === 201;
  await users.add(warmupS * ISSUE_WARMUP_RATE_GUESS);
  const warm = await drive({ url, connections, durationS: warmupS, request, ok: created });
  await users.add(Math.max(0, warm.okRps * durationS * ISSUE_WINDOW_HEADROOM + connections - users.left));
  const result: DriveResult = await drive({ url, connections, durationS, request, ok: created });
  return {
    rps: result.rps,
    createdRps: result.okRps,
    p50: result.p50,
    p99: result.p99,
    total: result.total,
    non2xx: result.non2xx,
    errors: result.errors,
    exhausted: result.exhausted,
    signS: users.signS,
  };
}

/** `concurrency` callers, each awaiting its call before the next (as autocannon's connections do), for `seconds`. */
async function closedLoop(concurrency: number, seconds: number, call: (worker: number) => Promise<unknown>): Promise<RedisCeiling> {
  const warmUntil = performance.now() + 500;
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    while (performance.now() < warmUntil) await call(worker);
  }));
  const samples: number[] = [];
  const started = performance.now();
  const stopAt = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < stopAt) {
        const t = performance.now();
        await call(worker);
        samples.push(performance.now() - t);
      }
    }),
  );
  return { opsPerS: samples.length / ((performance.now() - started) / 1000), latency: summarise(samples) };
}

async function deleteWorkerKeys(redis: Redis, prefix: string, workers: number): Promise<void> {
  const keys = Array.from({ length: workers }, (_, i) => [`${prefix}ceiling:set:${i}`, `${prefix}ceiling:lua:${i}`]).flat();
  await redis.del(...keys);
}

/**
 * A line of `waiting` users, then ROUNDS rounds one after another, each at a
 * time one TTL later than the last: every round drops the 100 the round
 * before admitted and admits the next 100, the steady state of a sell-out.
 * With `walkedAway`, every other waiter has stopped asking, and each round
 * also drops the 100 of them whose timeout it passes first. Between rounds
 * (untimed) as many join as left, half of them walking away too with
 * `walkedAway`, so every round sees the same line.
 *
 * Presence is the `now` a caller passes: the present are marked seen after
 * the last round (as if they had just asked, instead of tens of thousands of
 * untimed polls per round), and the k-th to walk away was last seen
 * PRESENCE_MS before round floor(k / 100), so that each round finds exactly
 * 100 absent.
 */
export async function admissionRounds(redis: Redis, prefix: string, waiting: number, walkedAway: boolean): Promise<AdmissionRound> {
  const queue = new RedisQueue(redis, { prefix });
  const tokens = new RandomTokenGenerator();
  const start = Date.now();
  const rules = { activeMax: ADMIT_PER_ROUND, activeTtlMs: TTL_MS, presenceTimeoutMs: PRESENCE_MS };
  const presentUntilTheEnd = new Date(start + (ROUNDS + 1) * TTL_MS);
  let users = 0;
  let gone = 0;
  const goneSince = () => new Date(start + Math.floor(gone++ / ADMIT_PER_ROUND) * TTL_MS - PRESENCE_MS);
  /** `count` arrivals; with `walkedAway`, every other one is never heard from again. */
  const join = async (count: number) => {
    for (let done = 0; done < count; done += 1_000) {
      const batch = Array.from({ length: Math.min(1_000, count - done) }, (_, i) => (walkedAway && (done + i) % 2 === 1 ? goneSince() : presentUntilTheEnd));
      // One client, one connection: the scripts run in this order, so arrival order is the batch's.
      await Promise.all(batch.map((seenAt) => queue.issue(`line-${users++}`, tokens.next(), seenAt)));
    }
  };
  const droppedPerRound = walkedAway ? ADMIT_PER_ROUND : 0;
  try {
    await join(waiting);
    const samples: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const t = performance.now();
      const result = await queue.admit(new Date(start + round * TTL_MS), rules);
      samples.push(performance.now() - t);
      if (result.admitted !== ADMIT_PER_ROUND) throw new Error(`round ${round} admitted ${result.admitted}, not ${ADMIT_PER_ROUND}`);
      if (result.dropped !== droppedPerRound) throw new Error(`round ${round} dropped ${result.dropped}, not ${droppedPerRound}`);
      await join(ADMIT_PER_ROUND + droppedPerRound);
    }
    // The first round has nothing to expire (and warms the script cache): the steady state is the rest.
    return { waiting, admittedPerRound: ADMIT_PER_ROUND, droppedPerRound, rounds: ROUNDS, round: summarise(samples.slice(1)) };
  } finally {
    await redis.del(...['waiting', 'seen', 'active', 'seq', 'token-user', 'user-token', 'admitted'].map((name) => `${prefix}queue:${name}`));
  }
}
