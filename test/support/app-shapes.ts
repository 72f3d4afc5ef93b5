/**
 * The two running modes of the application, for end-to-end tests: the
 * embedded one (PGlite in a temporary folder, in-process lock, queue and
 * cache) and the distributed one (a database of its own on the test
 * Postgres, a key prefix of its own on the test Redis). Each cleans up after
 * itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { signAccessToken } from '../../adapters/auth/sign-access-token.js';
import type { Application } from '../../app/application.js';
import { createApplication } from '../../app/application.js';
import { loadOrCreateEmbeddedSecret } from '../../app/auth/embedded-secret.js';
import { loadConfig } from '../../app/config.js';
import type { ContainerOptions } from '../../app/container.js';
import { TOKENS } from '../../app/tokens.js';
import { createIsolatedDatabase } from './isolated-database.js';
import { createIsolatedRedis } from './isolated-redis.js';

export type Env = Record<string, string>;

export interface AppShape {
  readonly application: Application;
  /** An access token for `userId` that this application accepts (valid 24 h), made the way a client of that shape gets one. */
  readonly tokenFor: (userId: string) => Promise<string>;
  readonly cleanup: () => Promise<void>;
}

/** The HS256 secret the distributed shape is configured with, unless a test passes its own AUTH_* variables. */
export const TEST_JWT_SECRET = 'test-secret-of-the-distributed-shape-0123456789';

/**
 * The embedded default: no auth variable, so the service makes its own
 * secret in DATA_DIR, and tokens are signed with that file's secret, as
 * `npm run token` does.
 */
export async function embeddedApp(env: Env, options: ContainerOptions = {}): Promise<AppShape> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ticketing-e2e-'));
  const application = await createApplication(loadConfig({ ...env, DATA_DIR: dataDir }), options);
  const secret = env.AUTH_JWT_SECRET ?? (await loadOrCreateEmbeddedSecret(dataDir));
  return {
    application,
    tokenFor: (userId) => signAccessToken(secret, userId),
    cleanup: async () => {
      await application.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function distributedApp(env: Env, options: ContainerOptions = {}): Promise<AppShape> {
  const database = await createIsolatedDatabase(inject('databaseUrl'));
  const redis = createIsolatedRedis(inject('redisUrl'));
  const auth = env.AUTH_JWT_SECRET === undefined && env.AUTH_JWKS_URL === undefined ? { AUTH_JWT_SECRET: TEST_JWT_SECRET } : {};
  const application = await createApplication(
    loadConfig({ ...auth, ...env, DATABASE_URL: database.url, REDIS_URL: inject('redisUrl'), REDIS_PREFIX: redis.prefix }),
    options,
  );
  if (!application.container.isBound(TOKENS.Redis)) throw new Error('expected Redis adapters in the distributed shape');
  const secret = env.AUTH_JWT_SECRET ?? TEST_JWT_SECRET;
  return {
    application,
    tokenFor: (userId) =>
      signAccessToken(secret, userId, {
        ...(env.AUTH_JWT_ISSUER === undefined ? {} : { issuer: env.AUTH_JWT_ISSUER }),
        ...(env.AUTH_JWT_AUDIENCE === undefined ? {} : { audience: env.AUTH_JWT_AUDIENCE }),
      }),
    cleanup: async () => {
      await application.close();
      await redis.cleanup();
      await database.drop();
    },
  };
}

/** A user of one's own per test: tests share one database and one queue, and never see each other's data. */
export function aUser(): string {
  return `u-${randomBytes(5).toString('hex')}`;
}
