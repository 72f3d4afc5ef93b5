import { z } from 'zod';

/**
 * The whole configuration, read once from the environment at start (API.md,
 * "Configuration"). Adapters receive the values they need; none reads
 * `process.env` itself.
 */
export interface Config {
  readonly port: number;
  /** Unset: embedded PGlite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** Postgres connections per instance. */
  readonly databasePoolSize: number;
  /** Unset: the in-process lock, cache and queue. */
  readonly redisUrl: string | undefined;
  /** Put before every Redis key, so that several deployments (or test files) can share one Redis. */
  readonly redisPrefix: string;
  /** Unset: admin routes refuse everyone. */
  readonly adminToken: string | undefined;
  readonly seedDemo: boolean;
  readonly holdTtlSeconds: number;
  readonly queue: {
    readonly activeMax: number;
    readonly admitIntervalMs: number;
    readonly tokenTtlSeconds: number;
  };
  readonly logLevel: LogLevel;
}

/**
 * A lock holder waits for a pooled connection like everyone else, so a pool
 * too small for the requests in flight stretches every lock hold (measured:
 * 10 → 32 gave reserve +15 %); 20 per instance keeps five instances within
 * Postgres's default 100 connections.
 */
export const DEFAULT_DATABASE_POOL_SIZE = 20;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A variable that is set but empty counts as unset (`PORT= npm start`). */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
}

function integer(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `must be an integer from ${min} to ${max}`);
}

function url(protocols: readonly string[]) {
  return z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
}

const boolean = z
  .string()
  .transform((value) => value.toLowerCase())
  .refine((value) => ['true', 'false', '1', '0'].includes(value), 'must be true or false')
  .transform((value) => value === 'true' || value === '1');

const EnvSchema = z.object({
  PORT: optional(integer(0, 65_535)),
  DATABASE_URL: optional(url(['postgres:', 'postgresql:'])),
  DATA_DIR: optional(z.string()),
  DATABASE_POOL_SIZE: optional(integer(1, 1_000)),
  REDIS_URL: optional(url(['redis:', 'rediss:'])),
  REDIS_PREFIX: optional(z.string().max(64, 'must be at most 64 characters')),
  ADMIN_TOKEN: optional(z.string().min(8, 'must be at least 8 characters')),
  SEED_DEMO: optional(boolean),
  HOLD_TTL_SECONDS: optional(integer(1, 86_400)),
  QUEUE_ACTIVE_MAX: optional(integer(1, 1_000_000)),
  QUEUE_ADMIT_INTERVAL_MS: optional(integer(10, 3_600_000)),
  QUEUE_TOKEN_TTL_SECONDS: optional(integer(1, 86_400)),
  LOG_LEVEL: optional(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })),
});

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws `ConfigError` naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`));
  }
  const e = parsed.data;
  return {
    port: e.PORT ?? 3000,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR ?? './data',
    databasePoolSize: e.DATABASE_POOL_SIZE ?? DEFAULT_DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX ?? 'ticketing:',
    adminToken: e.ADMIN_TOKEN,
    seedDemo: e.SEED_DEMO ?? true,
    holdTtlSeconds: e.HOLD_TTL_SECONDS ?? 300,
    queue: {
      activeMax: e.QUEUE_ACTIVE_MAX ?? 100,
      admitIntervalMs: e.QUEUE_ADMIT_INTERVAL_MS ?? 1_000,
      tokenTtlSeconds: e.QUEUE_TOKEN_TTL_SECONDS ?? 600,
    },
    logLevel: e.LOG_LEVEL ?? 'info',
  };
}
