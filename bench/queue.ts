/**
 * The waiting queue's figures, each beside a ceiling from the same run:
 * - token issue over HTTP (POST /queue/tokens, a distinct user per request)
 *   beside bare Redis at the same concurrency: a plain SET, and a small Lua
 *   script (EVALSHA), on one ioredis client as the app uses; and a plain SET
 *   one at a time (one round trip each);
 * - one admission round (drop 100 expired, admit 100) with 1,000, 10,000 and
 *   100,000 waiting: the round reads only the front of the line, so its time
 *   should not grow with the line (O(admitted), not O(waiting)).
 * The caller owns `prefix` and the service (started with REDIS_PREFIX=prefix);
 * the admission lines are written under `<prefix>queue-bench-<n>:` and deleted here.
 */
import autocannon from 'autocannon';
import type { Redis } from 'ioredis';
import { createRedis } from '../adapters/redis/create-redis.js';
import { LuaScript } from '../adapters/redis/lua-script.js';
import { RedisQueue } from '../adapters/redis/redis-queue.js';
import { RandomTokenGenerator } from '../adapters/system/random-token-generator.js';
import type { Latency } from './support.js';
import { summarise } from './support.js';

export interface QueueBenchOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  /** The service under load (http://127.0.0.1:<port>), on the same Redis. */
  readonly serviceUrl: string;
  /** Same as the other HTTP loads of the run, so the ratios compare like with like. */
  readonly connections?: number;
  readonly durationS?: number;
  readonly warmupS?: number;
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
}

export interface RedisCeiling {
  readonly opsPerS: number;
  readonly latency: Latency;
}

export interface AdmissionRound {
  readonly waiting: number;
  readonly admittedPerRound: number;
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
}

export const QUEUE_TARGETS = { issueOverSet: 0.25 } as const;

const ADMIT_PER_ROUND = 100;
const LINES = [1_000, 10_000, 100_000] as const;
const ROUNDS = 40;
const TTL_MS = 600_000;

export async function benchQueue(opts: QueueBenchOptions): Promise<QueueFigures> {
  const connections = opts.connections ?? 32;
  const durationS = opts.durationS ?? 8;
  const warmupS = opts.warmupS ?? 2;
  const redis = createRedis(opts.redisUrl, { name: 'bench-queue' });
  try {
    let user = 0;
    const issueLoad = (seconds: number) => issueTokens(opts.serviceUrl, connections, seconds, () => `qb-${user++}`);
    await issueLoad(warmupS);
    const issue = await issueLoad(durationS);

    const ceilingS = Math.max(2, Math.round(durationS / 2));
    const set = await closedLoop(connections, ceilingS, (worker) => redis.set(`${opts.prefix}ceiling:set:${worker}`, 'x'));
    const script = new LuaScript(`redis.call('set', KEYS[1], ARGV[1]) return 1`);
    const lua = await closedLoop(connections, ceilingS, (worker) => script.run(redis, [`${opts.prefix}ceiling:lua:${worker}`], ['x']));
    const setOneAtATime = await closedLoop(1, ceilingS, (worker) => redis.set(`${opts.prefix}ceiling:set:${worker}`, 'x'));
    await deleteWorkerKeys(redis, opts.prefix, connections);

    const small = await admissionRounds(redis, `${opts.prefix}queue-bench-${LINES[0]}:`, LINES[0]);
    const middle = await admissionRounds(redis, `${opts.prefix}queue-bench-${LINES[1]}:`, LINES[1]);
    const large = await admissionRounds(redis, `${opts.prefix}queue-bench-${LINES[2]}:`, LINES[2]);
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
    };
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** autocannon against POST /queue/tokens, a new user id in every request body (so every answer is a 201: a token created). */
function issueTokens(url: string, connections: number, durationS: number, nextUser: () => string): Promise<IssueLoad> {
  if (!new URL(url).hostname.startsWith('127.')) throw new Error(`refusing to load ${url}: 127.0.0.1 only`);
  const times: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: durationS,
        requests: [
          {
            method: 'POST',
            path: '/queue/tokens',
            headers: { 'content-type': 'application/json' },
            setupRequest: (request: autocannon.Request) => ({ ...request, body: JSON.stringify({ userId: nextUser() }) }),
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        const latency = summarise(times);
        const created = result.statusCodeStats?.['201']?.count ?? 0;
        const total = Object.values(result.statusCodeStats ?? {}).reduce((sum, stat) => sum + (stat.count ?? 0), 0);
        resolve({
          rps: total / result.duration,
          createdRps: created / result.duration,
          p50: latency.p50,
          p99: latency.p99,
          total,
          non2xx: result.non2xx,
          errors: result.errors,
        });
      },
    );
    // autocannon's own histogram has whole-millisecond resolution: keep every 2xx time instead.
    instance.on('response', (_client, status, _bytes, responseTime) => {
      if (status >= 200 && status < 300) times.push(responseTime);
    });
  });
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
 * Between rounds (untimed) 100 more users join, so every round sees the
 * same line length.
 */
async function admissionRounds(redis: Redis, prefix: string, waiting: number): Promise<AdmissionRound> {
  const queue = new RedisQueue(redis, { prefix });
  const tokens = new RandomTokenGenerator();
  const start = Date.now();
  let users = 0;
  const join = async (count: number) => {
    for (let done = 0; done < count; done += 1_000) {
      const batch = Array.from({ length: Math.min(1_000, count - done) }, () => `line-${users++}`);
      await Promise.all(batch.map((userId) => queue.issue(userId, tokens.next(), new Date(start))));
    }
  };
  try {
    await join(waiting);
    const samples: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const t = performance.now();
      const result = await queue.admit(new Date(start + round * TTL_MS), ADMIT_PER_ROUND, TTL_MS);
      samples.push(performance.now() - t);
      if (result.admitted !== ADMIT_PER_ROUND) throw new Error(`round ${round} admitted ${result.admitted}, not ${ADMIT_PER_ROUND}`);
      await join(ADMIT_PER_ROUND);
    }
    // The first round has nothing to expire (and warms the script cache): the steady state is the rest.
    return { waiting, admittedPerRound: ADMIT_PER_ROUND, rounds: ROUNDS, round: summarise(samples.slice(1)) };
  } finally {
    await redis.del(...['waiting', 'active', 'seq', 'token-user', 'user-token', 'admitted'].map((name) => `${prefix}queue:${name}`));
  }
}
