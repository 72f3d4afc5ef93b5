/**
 * The waiting queue never touches Postgres: each of its operations is one
 * Lua script in Redis (adapters/redis/queue-scripts.ts), one round trip,
 * atomic. This is the report's list of them, read from that file: which
 * request sends which script, the commands inside, and what they cost.
 * N is the number of waiters, M the number of ACTIVE tokens.
 */
export interface QueueScript {
  readonly script: string;
  readonly sentBy: string;
  readonly commands: string;
  readonly complexity: string;
}

export const QUEUE_SCRIPTS: readonly QueueScript[] = [
  {
    script: 'ISSUE',
    sentBy: 'POST /queue/tokens',
    commands: 'HGET, ZRANK, ZADD GT or ZSCORE; for a new token INCR, ZADD ×2, HSET ×2, ZCARD',
    complexity: 'O(log N)',
  },
  {
    script: 'CURRENT',
    sentBy: 'GET /queue/tokens/current (the waiting page polls it)',
    commands: 'HGET, ZRANK, ZADD GT or ZSCORE',
    complexity: 'O(log N)',
  },
  {
    script: 'STATUS',
    sentBy: 'the Queue-Token guard of every reserve and payment',
    commands: 'HGET, HMGET (spent token), ZRANK, ZSCORE',
    complexity: 'O(log N)',
  },
  {
    script: 'EXTEND',
    sentBy: 'a reserve whose hold outlives its token',
    commands: 'ZSCORE, ZADD GT',
    complexity: 'O(log M)',
  },
  {
    script: 'EXPIRE',
    sentBy: 'a payment that leaves its buyer no PENDING hold (the token is spent)',
    commands: 'HGET, ZSCORE ×2, HDEL ×2, ZREM ×3, HSET, PEXPIRE',
    complexity: 'O(log N + log M)',
  },
  {
    script: 'LEAVE',
    sentBy: 'DELETE /queue/tokens/current',
    commands: 'HGET, ZSCORE ×2, ZREM ×3, HDEL ×2',
    complexity: 'O(log N + log M)',
  },
  {
    script: 'ADMIT',
    sentBy: 'every instance, every QUEUE_ADMIT_INTERVAL_MS',
    commands: 'ZRANGEBYSCORE + ZREMRANGEBYSCORE (expired ACTIVE, absent waiters), ZCARD, ZRANGE of the front, ZADD/ZREM in chunks, INCRBY',
    complexity: 'O((admitted + expired + dropped) · log N): never a scan of the line',
  },
];
