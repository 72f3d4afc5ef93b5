import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config.js';
import { MAX_SEATS_PER_SCHEDULE } from '../../core/domain/catalog.js';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** An HS256 secret of exactly the least length API.md allows. */
const SECRET_32 = 's'.repeat(32);
const POSTGRES = 'postgres://app:secret@db:5432/tickets';
const REDIS = 'redis://cache:6379/0';

describe('loadConfig', () => {
  it('gives the defaults of API.md for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      databaseUrl: undefined,
      dataDir: './data',
      databasePoolSize: 20,
      redisUrl: undefined,
      redisPrefix: 'ticketing:',
      auth: { kind: 'embedded' },
      adminToken: undefined,
      metricsToken: undefined,
      seedDemo: true,
      holdTtlSeconds: 300,
      maxSeatsPerUser: 4,
      queue: { activeMax: 100, admitIntervalMs: 1_000, tokenTtlSeconds: 600, presenceTimeoutSeconds: 120 },
      idempotencyRetentionHours: 24,
      cacheEnabled: true,
      seatMapCacheStrategy: 'refresh',
      logLevel: 'info',
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: POSTGRES,
      DATA_DIR: '/var/lib/tickets',
      DATABASE_POOL_SIZE: '32',
      REDIS_URL: REDIS,
      REDIS_PREFIX: 'blue:',
      AUTH_JWT_SECRET: SECRET_32,
      AUTH_JWT_ISSUER: 'https://id.example.com/',
      AUTH_JWT_AUDIENCE: 'tickets',
      ADMIN_TOKEN: 'a-long-admin-token',
      METRICS_TOKEN: 'a-long-metrics-token',
      SEED_DEMO: 'false',
      HOLD_TTL_SECONDS: '60',
      MAX_SEATS_PER_USER: '2',
      QUEUE_ACTIVE_MAX: '5',
      QUEUE_ADMIT_INTERVAL_MS: '250',
      QUEUE_TOKEN_TTL_SECONDS: '120',
      QUEUE_PRESENCE_TIMEOUT_SECONDS: '30',
      IDEMPOTENCY_RETENTION_HOURS: '48',
      CACHE_ENABLED: 'false',
      SEAT_MAP_CACHE_STRATEGY: 'ttl',
      LOG_LEVEL: 'debug',
    });
    expect(config).toEqual({
      port: 8080,
      databaseUrl: POSTGRES,
      dataDir: '/var/lib/tickets',
      databasePoolSize: 32,
      redisUrl: REDIS,
      redisPrefix: 'blue:',
      auth: { kind: 'secret', secret: SECRET_32, issuer: 'https://id.example.com/', audience: 'tickets' },
      adminToken: 'a-long-admin-token',
      metricsToken: 'a-long-metrics-token',
      seedDemo: false,
      holdTtlSeconds: 60,
      maxSeatsPerUser: 2,
      queue: { activeMax: 5, admitIntervalMs: 250, tokenTtlSeconds: 120, presenceTimeoutSeconds: 30 },
      idempotencyRetentionHours: 48,
      cacheEnabled: false,
      seatMapCacheStrategy: 'ttl',
      logLevel: 'debug',
    });
  });

  describe('access tokens (API.md, "Authentication")', () => {
    it('verifies with AUTH_JWT_SECRET, issuer and audience only when set', () => {
      expect(loadConfig({ AUTH_JWT_SECRET: SECRET_32 }).auth).toEqual({ kind: 'secret', secret: SECRET_32 });
      expect(loadConfig({ AUTH_JWT_SECRET: SECRET_32, AUTH_JWT_ISSUER: 'idp' }).auth).toEqual({ kind: 'secret', secret: SECRET_32, issuer: 'idp' });
    });

    it('verifies with AUTH_JWKS_URL, in the distributed shape too', () => {
      const jwksUrl = 'https://id.example.com/.well-known/jwks.json';
      expect(loadConfig({ AUTH_JWKS_URL: jwksUrl, AUTH_JWT_AUDIENCE: 'tickets', DATABASE_URL: POSTGRES, REDIS_URL: REDIS }).auth).toEqual({
        kind: 'jwks',
        jwksUrl,
        audience: 'tickets',
      });
    });

    it('uses the embedded secret with neither variable and no DATABASE_URL or REDIS_URL; an empty variable counts as unset', () => {
      expect(loadConfig({ AUTH_JWT_SECRET: '', AUTH_JWKS_URL: '' }).auth).toEqual({ kind: 'embedded' });
    });

    it('accepts an AUTH_JWT_SECRET of 32 characters', () => {
      expect(loadConfig({ AUTH_JWT_SECRET: SECRET_32 }).auth).toMatchObject({ kind: 'secret' });
    });

    it('refuses an AUTH_JWT_SECRET under 32 characters, naming it', () => {
      const problems = problemsOf({ AUTH_JWT_SECRET: 's'.repeat(31) });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^AUTH_JWT_SECRET /);
      expect(problems[0]).toContain('32');
      // Refused the same way in the distributed shape, rather than as "no auth variable".
      expect(problemsOf({ AUTH_JWT_SECRET: 's'.repeat(31), DATABASE_URL: POSTGRES })).toEqual(problems);
    });

    it.each([
      ['DATABASE_URL', { DATABASE_URL: POSTGRES }],
      ['REDIS_URL', { REDIS_URL: REDIS }],
      ['DATABASE_URL and REDIS_URL', { DATABASE_URL: POSTGRES, REDIS_URL: REDIS }],
    ])('refuses %s without AUTH_JWT_SECRET or AUTH_JWKS_URL, naming the variables', (_name, env) => {
      const problems = problemsOf(env);
      expect(problems).toHaveLength(1);
      for (const name of ['DATABASE_URL', 'REDIS_URL', 'AUTH_JWT_SECRET', 'AUTH_JWKS_URL']) expect(problems[0]).toContain(name);
      expect(() => loadConfig(env)).toThrow(/Invalid configuration: .*AUTH_JWT_SECRET/);
      // Either variable lifts the refusal.
      expect(loadConfig({ ...env, AUTH_JWT_SECRET: SECRET_32 }).auth.kind).toBe('secret');
      expect(loadConfig({ ...env, AUTH_JWKS_URL: 'https://id.example.com/jwks' }).auth.kind).toBe('jwks');
    });

    it('refuses both AUTH_JWT_SECRET and AUTH_JWKS_URL, naming both', () => {
      const problems = problemsOf({ AUTH_JWT_SECRET: SECRET_32, AUTH_JWKS_URL: 'https://id.example.com/jwks' });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('AUTH_JWT_SECRET');
      expect(problems[0]).toContain('AUTH_JWKS_URL');
    });
  });

  describe('HOLD_TTL_SECONDS against QUEUE_TOKEN_TTL_SECONDS', () => {
    it('accepts a hold as long as a queue token', () => {
      expect(loadConfig({ HOLD_TTL_SECONDS: '600', QUEUE_TOKEN_TTL_SECONDS: '600' })).toMatchObject({ holdTtlSeconds: 600 });
    });

    it.each([
      ['both set', { HOLD_TTL_SECONDS: '601', QUEUE_TOKEN_TTL_SECONDS: '600' }],
      ['the hold against the default token TTL (600)', { HOLD_TTL_SECONDS: '601' }],
      ['the token TTL against the default hold (300)', { QUEUE_TOKEN_TTL_SECONDS: '299' }],
    ])('refuses a hold longer than a queue token, %s, naming both variables', (_name, env) => {
      const problems = problemsOf(env);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('HOLD_TTL_SECONDS');
      expect(problems[0]).toContain('QUEUE_TOKEN_TTL_SECONDS');
    });
  });

  it('reads MAX_SEATS_PER_USER and QUEUE_PRESENCE_TIMEOUT_SECONDS at their bounds', () => {
    expect(loadConfig({ MAX_SEATS_PER_USER: '1' }).maxSeatsPerUser).toBe(1);
    expect(loadConfig({ MAX_SEATS_PER_USER: String(MAX_SEATS_PER_SCHEDULE) }).maxSeatsPerUser).toBe(MAX_SEATS_PER_SCHEDULE);
    expect(loadConfig({ QUEUE_PRESENCE_TIMEOUT_SECONDS: '1' }).queue.presenceTimeoutSeconds).toBe(1);
  });

  it('reads IDEMPOTENCY_RETENTION_HOURS from an hour to a year; empty is the default, 24', () => {
    expect(loadConfig({ IDEMPOTENCY_RETENTION_HOURS: '1' }).idempotencyRetentionHours).toBe(1);
    expect(loadConfig({ IDEMPOTENCY_RETENTION_HOURS: '8760' }).idempotencyRetentionHours).toBe(8_760);
    expect(loadConfig({ IDEMPOTENCY_RETENTION_HOURS: '' }).idempotencyRetentionHours).toBe(24);
  });

  it('treats an empty variable as unset', () => {
    expect(
      loadConfig({ PORT: '', DATABASE_URL: '', LOG_LEVEL: '', METRICS_TOKEN: '', MAX_SEATS_PER_USER: '', QUEUE_PRESENCE_TIMEOUT_SECONDS: '' }),
    ).toMatchObject({ port: 3000, databaseUrl: undefined, logLevel: 'info', metricsToken: undefined, maxSeatsPerUser: 4, queue: { presenceTimeoutSeconds: 120 } });
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root' }).port).toBe(3000);
  });

  it.each([
    ['1', true],
    ['0', false],
    ['TRUE', true],
    ['False', false],
  ])('reads SEED_DEMO=%s as %s', (value, expected) => {
    expect(loadConfig({ SEED_DEMO: value }).seedDemo).toBe(expected);
  });

  it('accepts PORT=0 (a free port, for tests)', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://db/x'],
    ['REDIS_URL', 'localhost:6379'],
    ['AUTH_JWT_SECRET', 'short'],
    ['AUTH_JWKS_URL', 'not a url'],
    ['AUTH_JWKS_URL', 'ftp://id.example.com/jwks'],
    ['AUTH_JWT_ISSUER', 'i'.repeat(257)],
    ['AUTH_JWT_AUDIENCE', 'a'.repeat(257)],
    ['ADMIN_TOKEN', 'short'],
    ['METRICS_TOKEN', 'short'],
    ['SEED_DEMO', 'yes'],
    ['HOLD_TTL_SECONDS', '0'],
    ['HOLD_TTL_SECONDS', '5m'],
    ['MAX_SEATS_PER_USER', '0'],
    ['MAX_SEATS_PER_USER', String(MAX_SEATS_PER_SCHEDULE + 1)],
    ['MAX_SEATS_PER_USER', 'four'],
    ['QUEUE_ACTIVE_MAX', '0'],
    ['QUEUE_ADMIT_INTERVAL_MS', '1e3'],
    ['QUEUE_TOKEN_TTL_SECONDS', ' 600'],
    ['QUEUE_PRESENCE_TIMEOUT_SECONDS', '0'],
    ['QUEUE_PRESENCE_TIMEOUT_SECONDS', '2m'],
    ['IDEMPOTENCY_RETENTION_HOURS', '0'],
    ['IDEMPOTENCY_RETENTION_HOURS', '8761'],
    ['IDEMPOTENCY_RETENTION_HOURS', '1.5'],
    ['IDEMPOTENCY_RETENTION_HOURS', '24h'],
    ['LOG_LEVEL', 'verbose'],
    ['CACHE_ENABLED', 'off'],
    ['SEAT_MAP_CACHE_STRATEGY', 'write-through'],
  ])('refuses %s=%j with a message naming the variable', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name} `));
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`Invalid configuration: ${name} `));
  });

  it('names every bad variable at once', () => {
    const problems = problemsOf({ PORT: 'x', LOG_LEVEL: 'loud', SEED_DEMO: 'maybe', MAX_SEATS_PER_USER: '0' });
    expect(problems.map((problem) => problem.split(' ')[0]).sort()).toEqual(['LOG_LEVEL', 'MAX_SEATS_PER_USER', 'PORT', 'SEED_DEMO']);
  });

  it('names the cross-variable refusals together', () => {
    const problems = problemsOf({ DATABASE_URL: POSTGRES, HOLD_TTL_SECONDS: '700' });
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toContain('AUTH_JWT_SECRET');
    expect(problems.join('\n')).toContain('HOLD_TTL_SECONDS');
  });
});
