import { z } from 'zod';
import type { AuthVerification } from '../adapters/auth/jose-access-token-verifier.js';
import { MIN_SECRET_LENGTH } from '../adapters/auth/jose-access-token-verifier.js';
import { MAX_SEATS_PER_SCHEDULE } from '../core/domain/catalog.js';
import type { SeatMapCacheStrategy } from '../core/usecases/catalog/catalog-cache.js';
import { SEAT_MAP_CACHE_STRATEGIES } from '../core/usecases/catalog/catalog-cache.js';

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
  /** How access tokens are verified (API.md, "Authentication"). */
  readonly auth: AuthConfig;
  /** Unset: admin routes refuse everyone. */
  readonly adminToken: string | undefined;
  /** Unset: /metrics is public. */
  readonly metricsToken: string | undefined;
  readonly seedDemo: boolean;
  readonly holdTtlSeconds: number;
  /** Seats one user may hold or buy per schedule. */
  readonly maxSeatsPerUser: number;
  readonly queue: {
    readonly activeMax: number;
    readonly admitIntervalMs: number;
    readonly tokenTtlSeconds: number;
    readonly presenceTimeoutSeconds: number;
  };
  /** How long a stored Idempotency-Key replays its answer before the purge job deletes it. */
  readonly idempotencyRetentionHours: number;
  /** false: every catalog read goes to the database (to measure what the cache saves). */
  readonly cacheEnabled: boolean;
  /** How the seat maps and availabilities keep up with a sale's writes (DESIGN.md, "During a sale"); a tuning and bench knob. */
  readonly seatMapCacheStrategy: SeatMapCacheStrategy;
  readonly logLevel: LogLevel;
}

/**
 * A lock holder waits for a pooled connection like everyone else, so a pool
 * too small for the requests in flight stretches every lock hold (measured:
 * 10 → 32 gave reserve +15 %); 20 per instance keeps five instances within
 * Postgres's default 100 connections.
 */
export const DEFAULT_DATABASE_POOL_SIZE = 20;

/**
 * Where access tokens come from: an HS256 secret shared with the identity
 * provider, the provider's key set (RS256/ES256), or, in the embedded
 * default only, a secret the service makes for itself in DATA_DIR (and
 * `npm run token` signs with).
 */
export type AuthConfig = AuthVerification | { readonly kind: 'embedded' };

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
  AUTH_JWT_SECRET: optional(z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`)),
  AUTH_JWKS_URL: optional(url(['https:', 'http:'])),
  AUTH_JWT_ISSUER: optional(z.string().max(256, 'must be at most 256 characters')),
  AUTH_JWT_AUDIENCE: optional(z.string().max(256, 'must be at most 256 characters')),
  ADMIN_TOKEN: optional(z.string().min(8, 'must be at least 8 characters')),
  METRICS_TOKEN: optional(z.string().min(8, 'must be at least 8 characters')),
  SEED_DEMO: optional(boolean),
  HOLD_TTL_SECONDS: optional(integer(1, 86_400)),
  MAX_SEATS_PER_USER: optional(integer(1, MAX_SEATS_PER_SCHEDULE)),
  QUEUE_ACTIVE_MAX: optional(integer(1, 1_000_000)),
  QUEUE_ADMIT_INTERVAL_MS: optional(integer(10, 3_600_000)),
  QUEUE_TOKEN_TTL_SECONDS: optional(integer(1, 86_400)),
  QUEUE_PRESENCE_TIMEOUT_SECONDS: optional(integer(1, 86_400)),
  // At least an hour: a client retrying a request that timed out must still get the stored answer.
  IDEMPOTENCY_RETENTION_HOURS: optional(integer(1, 8_760)),
  CACHE_ENABLED: optional(boolean),
  SEAT_MAP_CACHE_STRATEGY: optional(z.enum(SEAT_MAP_CACHE_STRATEGIES, { error: `must be one of ${SEAT_MAP_CACHE_STRATEGIES.join(', ')}` })),
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
  const holdTtlSeconds = e.HOLD_TTL_SECONDS ?? 300;
  const tokenTtlSeconds = e.QUEUE_TOKEN_TTL_SECONDS ?? 600;
  const problems = [...authProblems(e), ...ttlProblems(holdTtlSeconds, tokenTtlSeconds)];
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: e.PORT ?? 3000,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR ?? './data',
    databasePoolSize: e.DATABASE_POOL_SIZE ?? DEFAULT_DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX ?? 'ticketing:',
    auth: authConfig(e),
    adminToken: e.ADMIN_TOKEN,
    metricsToken: e.METRICS_TOKEN,
    seedDemo: e.SEED_DEMO ?? true,
    holdTtlSeconds,
    maxSeatsPerUser: e.MAX_SEATS_PER_USER ?? 4,
    queue: {
      activeMax: e.QUEUE_ACTIVE_MAX ?? 100,
      admitIntervalMs: e.QUEUE_ADMIT_INTERVAL_MS ?? 1_000,
      tokenTtlSeconds,
      presenceTimeoutSeconds: e.QUEUE_PRESENCE_TIMEOUT_SECONDS ?? 120,
    },
    idempotencyRetentionHours: e.IDEMPOTENCY_RETENTION_HOURS ?? 24,
    cacheEnabled: e.CACHE_ENABLED ?? true,
    seatMapCacheStrategy: e.SEAT_MAP_CACHE_STRATEGY ?? 'refresh',
    logLevel: e.LOG_LEVEL ?? 'info',
  };
}

type Env = z.infer<typeof EnvSchema>;

/**
 * A service that shares Postgres or Redis with others must verify the
 * tokens of a real identity provider: a secret of its own, in one
 * instance's data folder, would let each instance accept only its own.
 */
function authProblems(e: Env): string[] {
  if (e.AUTH_JWT_SECRET !== undefined && e.AUTH_JWKS_URL !== undefined) {
    return ['AUTH_JWT_SECRET and AUTH_JWKS_URL are both set: choose one way to verify access tokens'];
  }
  const distributed = e.DATABASE_URL !== undefined || e.REDIS_URL !== undefined;
  if (distributed && e.AUTH_JWT_SECRET === undefined && e.AUTH_JWKS_URL === undefined) {
    return ['DATABASE_URL or REDIS_URL is set, so AUTH_JWT_SECRET or AUTH_JWKS_URL must be set too (the embedded auth secret serves one process only)'];
  }
  return [];
}

/**
 * A hold extends its user's ACTIVE token to the hold's end, so a token
 * lives at most HOLD_TTL_SECONDS past its own TTL; a hold longer than a
 * whole token would let one admission outlast itself more than twice over.
 */
function ttlProblems(holdTtlSeconds: number, tokenTtlSeconds: number): string[] {
  if (holdTtlSeconds <= tokenTtlSeconds) return [];
  return [`HOLD_TTL_SECONDS (${holdTtlSeconds}) must not be longer than QUEUE_TOKEN_TTL_SECONDS (${tokenTtlSeconds}): a buyer must be able to pay a hold with the token that made it`];
}

function authConfig(e: Env): AuthConfig {
  const claims = { ...(e.AUTH_JWT_ISSUER === undefined ? {} : { issuer: e.AUTH_JWT_ISSUER }), ...(e.AUTH_JWT_AUDIENCE === undefined ? {} : { audience: e.AUTH_JWT_AUDIENCE }) };
  if (e.AUTH_JWT_SECRET !== undefined) return { kind: 'secret', secret: e.AUTH_JWT_SECRET, ...claims };
  if (e.AUTH_JWKS_URL !== undefined) return { kind: 'jwks', jwksUrl: e.AUTH_JWKS_URL, ...claims };
  return { kind: 'embedded' };
}
