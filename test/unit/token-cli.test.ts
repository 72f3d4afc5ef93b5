import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JoseAccessTokenVerifier } from '../../adapters/auth/jose-access-token-verifier.js';
import { loadOrCreateEmbeddedSecret } from '../../app/auth/embedded-secret.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const JWT_LINE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/;
const DAY_SECONDS = 86_400;
const SHARED_SECRET = 'a-shared-secret-of-more-than-thirty-two-chars';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a fresh shell: none of the variables that choose where secrets come from. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AUTH_') || ['DATABASE_URL', 'REDIS_URL', 'DATA_DIR'].includes(name)) delete env[name];
  }
  return { ...env, ...extra };
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const token = (args: readonly string[], env: NodeJS.ProcessEnv) => run(process.execPath, ['--import', 'tsx', 'app/cli/token.ts', ...args], env);

function expectAbout(actual: number | undefined, expected: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected - 30);
  expect(actual).toBeLessThanOrEqual(expected + 30);
}

describe('npm run token', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'token-cli-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints only a 24 h token for the user, signed with the embedded secret', async () => {
    const result = await token(['u1'], cleanEnv({ DATA_DIR: dataDir }));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(JWT_LINE);
    const printed = result.stdout.trim();

    const verifier = new JoseAccessTokenVerifier({ kind: 'secret', secret: await loadOrCreateEmbeddedSecret(dataDir) });
    await expect(verifier.verify(printed)).resolves.toEqual({ userId: 'u1' });
    const now = Math.floor(Date.now() / 1_000);
    const { exp, iat } = decodeJwt(printed);
    expectAbout(exp, now + DAY_SECONDS);
    expectAbout(iat, now);
  });

  it('keeps to the one secret across runs', async () => {
    const env = cleanEnv({ DATA_DIR: dataDir });
    const [first, second] = [await token(['u1'], env), await token(['u2'], env)];
    const verifier = new JoseAccessTokenVerifier({ kind: 'secret', secret: await loadOrCreateEmbeddedSecret(dataDir) });
    await expect(verifier.verify(first.stdout.trim())).resolves.toEqual({ userId: 'u1' });
    await expect(verifier.verify(second.stdout.trim())).resolves.toEqual({ userId: 'u2' });
  });

  it('works through npm: -s prints the token alone, without -s it is the last line', async () => {
    const env = cleanEnv({ DATA_DIR: dataDir });
    const silent = await run('npm', ['run', '-s', 'token', '--', 'u1'], env);
    expect(silent.code).toBe(0);
    expect(silent.stdout).toMatch(JWT_LINE);

    const plain = await run('npm', ['run', 'token', '--', 'u1'], env);
    expect(plain.code).toBe(0);
    const lastLine = plain.stdout.trimEnd().split('\n').at(-1);
    const verifier = new JoseAccessTokenVerifier({ kind: 'secret', secret: await loadOrCreateEmbeddedSecret(dataDir) });
    await expect(verifier.verify(silent.stdout.trim())).resolves.toEqual({ userId: 'u1' });
    await expect(verifier.verify(lastLine ?? '')).resolves.toEqual({ userId: 'u1' });
  });

  it('signs with AUTH_JWT_SECRET, and its issuer and audience, when set; the data folder is left alone', async () => {
    const result = await token(
      ['u1'],
      cleanEnv({ DATA_DIR: dataDir, AUTH_JWT_SECRET: SHARED_SECRET, AUTH_JWT_ISSUER: 'https://idp.example', AUTH_JWT_AUDIENCE: 'tickets' }),
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(JWT_LINE);
    const verifier = new JoseAccessTokenVerifier({
      kind: 'secret',
      secret: SHARED_SECRET,
      issuer: 'https://idp.example',
      audience: 'tickets',
    });
    await expect(verifier.verify(result.stdout.trim())).resolves.toEqual({ userId: 'u1' });
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('refuses with AUTH_JWKS_URL set: tokens come from the identity provider', async () => {
    const result = await token(['u1'], cleanEnv({ DATA_DIR: dataDir, AUTH_JWKS_URL: 'https://idp.example/jwks.json' }));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/identity provider/);
  });

  it('refuses a short AUTH_JWT_SECRET', async () => {
    const result = await token(['u1'], cleanEnv({ DATA_DIR: dataDir, AUTH_JWT_SECRET: 'too-short' }));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/AUTH_JWT_SECRET/);
  });

  it('exits 2 with the usage for a missing or invalid user id', async () => {
    for (const args of [[], ['has space'], ['x'.repeat(65)], ['u1', 'u2']]) {
      const result = await token(args, cleanEnv({ DATA_DIR: dataDir }));
      expect(result.code, JSON.stringify(args)).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/usage/);
    }
    expect(await readdir(dataDir)).toEqual([]);
  });
});
