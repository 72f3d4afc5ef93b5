import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { boundAddress, startingFields } from '../../app/startup-log.js';

describe('start-up log lines', () => {
  it('say the mode and what the slow part does: the data folder when embedded', () => {
    expect(startingFields(loadConfig({ DATA_DIR: '/var/lib/ticketing' }))).toEqual({
      mode: 'embedded',
      dataDir: '/var/lib/ticketing',
      doing: 'opening the embedded Postgres in /var/lib/ticketing, migrating, seeding the demo catalog',
    });
  });

  it('name the database and Redis when distributed, never their passwords', () => {
    const fields = startingFields(
      loadConfig({
        DATABASE_URL: 'postgres://app:s3cret-pw@db.internal:5432/ticketing',
        REDIS_URL: 'redis://:r3dis-pw@cache.internal:6379',
        AUTH_JWT_SECRET: 'a-secret-of-at-least-thirty-two-characters',
        SEED_DEMO: 'false',
      }),
    );
    expect(fields).toEqual({ mode: 'distributed', database: 'db.internal:5432/ticketing', redis: 'cache.internal:6379', doing: 'connecting, migrating' });
    expect(JSON.stringify(fields)).not.toMatch(/s3cret|r3dis/);
  });

  it('give the real bind address: every interface is said so, not passed off as loopback', () => {
    expect(boundAddress({ address: '::', family: 'IPv6', port: 3000 })).toBe('[::]:3000 (every interface)');
    expect(boundAddress({ address: '0.0.0.0', family: 'IPv4', port: 3000 })).toBe('0.0.0.0:3000 (every interface)');
    expect(boundAddress({ address: '127.0.0.1', family: 'IPv4', port: 8080 })).toBe('127.0.0.1:8080');
  });
});
