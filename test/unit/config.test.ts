import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config.js';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the defaults of API.md for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      databaseUrl: undefined,
      dataDir: './data',
      databasePoolSize: 20,
      redisUrl: undefined,
      redisPrefix: 'ticketing:',
      adminToken: undefined,
      seedDemo: true,
      holdTtlSeconds: 300,
      queue: { activeMax: 100, admitIntervalMs: 1_000, tokenTtlSeconds: 600 },
      logLevel: 'info',
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://app:secret@db:5432/tickets',
      DATA_DIR: '/var/lib/tickets',
      DATABASE_POOL_SIZE: '32',
      REDIS_URL: 'redis://cache:6379/0',
      REDIS_PREFIX: 'blue:',
      ADMIN_TOKEN: 'a-long-admin-token',
      SEED_DEMO: 'false',
      HOLD_TTL_SECONDS: '60',
      QUEUE_ACTIVE_MAX: '5',
      QUEUE_ADMIT_INTERVAL_MS: '250',
      QUEUE_TOKEN_TTL_SECONDS: '120',
      LOG_LEVEL: 'debug',
    });
    expect(config).toEqual({
      port: 8080,
      databaseUrl: 'postgres://app:secret@db:5432/tickets',
      dataDir: '/var/lib/tickets',
      databasePoolSize: 32,
      redisUrl: 'redis://cache:6379/0',
      redisPrefix: 'blue:',
      adminToken: 'a-long-admin-token',
      seedDemo: false,
      holdTtlSeconds: 60,
      queue: { activeMax: 5, admitIntervalMs: 250, tokenTtlSeconds: 120 },
      logLevel: 'debug',
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '', LOG_LEVEL: '' })).toMatchObject({ port: 3000, databaseUrl: undefined, logLevel: 'info' });
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
    ['ADMIN_TOKEN', 'short'],
    ['SEED_DEMO', 'yes'],
    ['HOLD_TTL_SECONDS', '0'],
    ['HOLD_TTL_SECONDS', '5m'],
    ['QUEUE_ACTIVE_MAX', '0'],
    ['QUEUE_ADMIT_INTERVAL_MS', '1e3'],
    ['QUEUE_TOKEN_TTL_SECONDS', ' 600'],
    ['LOG_LEVEL', 'verbose'],
  ])('refuses %s=%j with a message naming the variable', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name} `));
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`Invalid configuration: ${name} `));
  });

  it('names every bad variable at once', () => {
    const problems = problemsOf({ PORT: 'x', LOG_LEVEL: 'loud', SEED_DEMO: 'maybe' });
    expect(problems.map((problem) => problem.split(' ')[0]).sort()).toEqual(['LOG_LEVEL', 'PORT', 'SEED_DEMO']);
  });
});
