import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JWK, JWTPayload, KeyLike } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CLOCK_SKEW_SECONDS,
  JoseAccessTokenVerifier,
  JWKS_FETCH_TIMEOUT_MS,
} from '../../adapters/auth/jose-access-token-verifier.js';
import { signAccessToken } from '../../adapters/auth/sign-access-token.js';
import { DependencyUnavailableError, UnauthenticatedError } from '../../core/domain/errors.js';

const SECRET = 'a-test-secret-of-more-than-thirty-two-characters';
const SECRET_BYTES = new TextEncoder().encode(SECRET);
/** Whole seconds, as JWT times are. */
const T = new Date(Date.UTC(2030, 0, 1, 12, 0, 0));
const seconds = (date: Date): number => Math.floor(date.getTime() / 1_000);
const at = (offsetSeconds: number): Date => new Date(T.getTime() + offsetSeconds * 1_000);

async function expectUnauthenticated(verifying: Promise<unknown>): Promise<void> {
  await expect(verifying).rejects.toBeInstanceOf(UnauthenticatedError);
}

async function expectIdentityUnavailable(verifying: Promise<unknown>): Promise<void> {
  const error: unknown = await verifying.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DependencyUnavailableError);
  expect((error as DependencyUnavailableError).dependency).toBe('identity');
}

/** An HMAC token with any header and claims, for the shapes signAccessToken will not make. */
function signHmac(alg: string, claims: JWTPayload, key: Uint8Array = SECRET_BYTES): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(key);
}

const valid = (extra: JWTPayload = {}): JWTPayload => ({ sub: 'u1', iat: seconds(T), exp: seconds(T) + 3_600, ...extra });
/** Valid claims by the real clock, for verifiers that read it. */
const validNow = (): JWTPayload => ({ sub: 'u1', iat: seconds(new Date()), exp: seconds(new Date()) + 3_600 });

describe('JoseAccessTokenVerifier with a shared secret (HS256)', () => {
  const secretVerifier = (claims: { issuer?: string; audience?: string } = {}) =>
    new JoseAccessTokenVerifier({ kind: 'secret', secret: SECRET, ...claims }, { now: () => T });

  it('gives the identity of a valid token', async () => {
    const token = await signAccessToken(SECRET, 'user_1.a:b-c', { now: T });
    await expect(secretVerifier().verify(token)).resolves.toEqual({ userId: 'user_1.a:b-c' });
  });

  it(`refuses a token expired beyond the ${CLOCK_SKEW_SECONDS} s skew and accepts one within it`, async () => {
    const verifier = secretVerifier();
    const withinSkew = await signAccessToken(SECRET, 'u1', { now: at(-100), ttlSeconds: 100 - (CLOCK_SKEW_SECONDS - 1) });
    const beyondSkew = await signAccessToken(SECRET, 'u1', { now: at(-100), ttlSeconds: 100 - CLOCK_SKEW_SECONDS });
    await expect(verifier.verify(withinSkew)).resolves.toEqual({ userId: 'u1' });
    await expectUnauthenticated(verifier.verify(beyondSkew));
    await expectUnauthenticated(verifier.verify(await signAccessToken(SECRET, 'u1', { now: at(-90_000) })));
  });

  it('refuses a token not yet valid beyond the skew', async () => {
    const verifier = secretVerifier();
    await expect(verifier.verify(await signHmac('HS256', valid({ nbf: seconds(T) + CLOCK_SKEW_SECONDS })))).resolves.toEqual({
      userId: 'u1',
    });
    await expectUnauthenticated(verifier.verify(await signHmac('HS256', valid({ nbf: seconds(T) + CLOCK_SKEW_SECONDS + 1 }))));
  });

  it('refuses a token signed with another secret', async () => {
    const token = await signAccessToken('another-secret-of-more-than-thirty-two-chars', 'u1', { now: T });
    await expectUnauthenticated(secretVerifier().verify(token));
  });

  it('refuses an unsecured token (alg: none)', async () => {
    const encode = (value: object) => base64url.encode(JSON.stringify(value));
    const unsecured = `${encode({ alg: 'none', typ: 'JWT' })}.${encode(valid())}.`;
    await expectUnauthenticated(secretVerifier().verify(unsecured));
  });

  it('refuses HS384 and HS512 even with the right secret', async () => {
    const verifier = secretVerifier();
    await expectUnauthenticated(verifier.verify(await signHmac('HS384', valid())));
    await expectUnauthenticated(verifier.verify(await signHmac('HS512', valid())));
    // The same claims under HS256 pass, so the algorithm alone is what is refused.
    await expect(verifier.verify(await signHmac('HS256', valid()))).resolves.toEqual({ userId: 'u1' });
  });

  it('refuses an asymmetric token in secret mode', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(valid()).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
    await expectUnauthenticated(secretVerifier().verify(token));
  });

  it('refuses a token without sub or without exp', async () => {
    const verifier = secretVerifier();
    const { sub: _sub, ...noSub } = valid();
    const { exp: _exp, ...noExp } = valid();
    await expectUnauthenticated(verifier.verify(await signHmac('HS256', noSub)));
    await expectUnauthenticated(verifier.verify(await signHmac('HS256', noExp)));
  });

  it('refuses a sub that breaks the id rule', async () => {
    const verifier = secretVerifier();
    for (const sub of ['has space', 'x'.repeat(65), '', 'u1/../admin', 'ü']) {
      await expectUnauthenticated(verifier.verify(await signHmac('HS256', valid({ sub }))));
    }
    await expect(verifier.verify(await signHmac('HS256', valid({ sub: 'x'.repeat(64) })))).resolves.toEqual({
      userId: 'x'.repeat(64),
    });
  });

  it('refuses garbage', async () => {
    const verifier = secretVerifier();
    const token = await signAccessToken(SECRET, 'u1', { now: T });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const tampered = `${header}.${base64url.encode(JSON.stringify(valid({ sub: 'u2' })))}.${signature}`;
    for (const garbage of ['', 'garbage', 'a.b.c', '...', `${header}.${payload}`, `${token}.x`, tampered, `${header}.${payload}.`]) {
      await expectUnauthenticated(verifier.verify(garbage));
    }
  });

  it('checks iss and aud when configured', async () => {
    const verifier = secretVerifier({ issuer: 'https://idp.example', audience: 'tickets' });
    const sign = (options: { issuer?: string; audience?: string }) => signAccessToken(SECRET, 'u1', { now: T, ...options });
    await expect(verifier.verify(await sign({ issuer: 'https://idp.example', audience: 'tickets' }))).resolves.toEqual({
      userId: 'u1',
    });
    await expectUnauthenticated(verifier.verify(await sign({ issuer: 'https://evil.example', audience: 'tickets' })));
    await expectUnauthenticated(verifier.verify(await sign({ issuer: 'https://idp.example', audience: 'other' })));
    await expectUnauthenticated(verifier.verify(await sign({ audience: 'tickets' })));
    await expectUnauthenticated(verifier.verify(await sign({ issuer: 'https://idp.example' })));
  });

  it('refuses a secret under 32 characters at construction, naming AUTH_JWT_SECRET', () => {
    expect(() => new JoseAccessTokenVerifier({ kind: 'secret', secret: 'x'.repeat(31) })).toThrow(/AUTH_JWT_SECRET/);
    expect(() => new JoseAccessTokenVerifier({ kind: 'secret', secret: 'x'.repeat(32) })).not.toThrow();
  });

  describe('verified-token cache', () => {
    let now: Date;
    beforeEach(() => {
      now = T;
    });

    it('refuses a cached token once it has expired, with the same skew as a fresh check', async () => {
      const verifier = new JoseAccessTokenVerifier({ kind: 'secret', secret: SECRET }, { now: () => now });
      const token = await signAccessToken(SECRET, 'u1', { now: T, ttlSeconds: 60 });
      await expect(verifier.verify(token)).resolves.toEqual({ userId: 'u1' });
      await expect(verifier.verify(token)).resolves.toEqual({ userId: 'u1' });
      expect(verifier.cachedTokenCount).toBe(1);

      now = at(60 + CLOCK_SKEW_SECONDS - 1);
      await expect(verifier.verify(token)).resolves.toEqual({ userId: 'u1' });
      now = at(60 + CLOCK_SKEW_SECONDS);
      await expectUnauthenticated(verifier.verify(token));
      expect(verifier.cachedTokenCount).toBe(0);
    });

    it('stays bounded, evicting the oldest', async () => {
      const verifier = new JoseAccessTokenVerifier({ kind: 'secret', secret: SECRET }, { now: () => now, cacheMaxEntries: 3 });
      const tokens = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((user) => signAccessToken(SECRET, user, { now: T })));
      for (const token of tokens) await verifier.verify(token);
      expect(verifier.cachedTokenCount).toBe(3);
      // Evicted tokens still verify (the long way) and the bound holds.
      for (const [index, token] of tokens.entries()) {
        await expect(verifier.verify(token)).resolves.toEqual({ userId: ['a', 'b', 'c', 'd', 'e'][index] });
      }
      expect(verifier.cachedTokenCount).toBe(3);
    });

    it('never caches a token that failed', async () => {
      const verifier = new JoseAccessTokenVerifier({ kind: 'secret', secret: SECRET }, { now: () => now });
      const token = await signAccessToken('another-secret-of-more-than-thirty-two-chars', 'u1', { now: T });
      await expectUnauthenticated(verifier.verify(token));
      await expectUnauthenticated(verifier.verify(token));
      expect(verifier.cachedTokenCount).toBe(0);
    });
  });
});

interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: KeyLike;
  readonly jwk: JWK;
}

async function aSigningKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function signWith(key: SigningKey, claims: JWTPayload = {}, kid: string = key.kid): Promise<string> {
  return new SignJWT({ ...validNow(), ...claims }).setProtectedHeader({ alg: key.alg, kid }).sign(key.privateKey);
}

/** A key-set server whose answer the test changes at will. */
class JwksServer {
  keys: JWK[] = [];
  status = 200;
  fetches = 0;
  private readonly server: Server = createServer((request, response) => {
    this.fetches++;
    response.writeHead(this.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: this.keys }));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('JoseAccessTokenVerifier with a key set (RS256, ES256)', () => {
  const jwks = new JwksServer();
  let jwksUrl: string;
  let rsa: SigningKey;
  let ec: SigningKey;
  const hanging = createServer(() => {
    // Never answers: a provider that accepted the connection and then stalled.
  });
  let hangingUrl: string;

  beforeAll(async () => {
    [rsa, ec] = await Promise.all([aSigningKey('RS256', 'rsa-1'), aSigningKey('ES256', 'ec-1')]);
    jwksUrl = await jwks.start();
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(async () => {
    await jwks.stop();
    hanging.closeAllConnections();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
  });
  beforeEach(() => {
    jwks.keys = [rsa.jwk, ec.jwk];
    jwks.status = 200;
    jwks.fetches = 0;
  });

  it('verifies RS256 and ES256 tokens from the key set', async () => {
    const verifier = new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl });
    await expect(verifier.verify(await signWith(rsa, { sub: 'rsa-user' }))).resolves.toEqual({ userId: 'rsa-user' });
    await expect(verifier.verify(await signWith(ec, { sub: 'ec-user' }))).resolves.toEqual({ userId: 'ec-user' });
    expect(jwks.fetches).toBe(1);
  });

  it('refuses a token signed by a key not in the set, after refetching once', async () => {
    const verifier = new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl }, { jwksCooldownMs: 0 });
    const stranger = await aSigningKey('RS256', 'stranger');
    await expectUnauthenticated(verifier.verify(await signWith(stranger)));
    expect(jwks.fetches).toBe(2);
    // A stranger's key under a known kid fails on the signature.
    await expectUnauthenticated(verifier.verify(await signWith(stranger, {}, rsa.kid)));
  });

  it('does not refetch for unknown kids within the cooldown', async () => {
    const verifier = new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl });
    await verifier.verify(await signWith(rsa));
    for (let i = 0; i < 5; i++) await expectUnauthenticated(verifier.verify(await signWith(rsa, {}, `made-up-${i}`)));
    expect(jwks.fetches).toBe(1);
  });

  it('picks up a rotated key on its first use', async () => {
    const verifier = new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl }, { jwksCooldownMs: 0 });
    await expect(verifier.verify(await signWith(rsa))).resolves.toEqual({ userId: 'u1' });
    const rotated = await aSigningKey('ES256', 'ec-2');
    jwks.keys = [ec.jwk, rotated.jwk];
    await expect(verifier.verify(await signWith(rotated, { sub: 'after-rotation' }))).resolves.toEqual({
      userId: 'after-rotation',
    });
    expect(jwks.fetches).toBe(2);
  });

  it('refuses HS256 (also one signed with a public key as the secret) and alg none', async () => {
    const verifier = new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl });
    const publicKeyAsSecret = new TextEncoder().encode(JSON.stringify(rsa.jwk));
    await expectUnauthenticated(verifier.verify(await signHmac('HS256', validNow(), publicKeyAsSecret)));
    const encode = (value: object) => base64url.encode(JSON.stringify(value));
    await expectUnauthenticated(verifier.verify(`${encode({ alg: 'none', kid: rsa.kid })}.${encode(validNow())}.`));
    expect(jwks.fetches).toBe(0);
  });

  it('checks claims as in secret mode', async () => {
    const verifier = new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl, issuer: 'https://idp.example', audience: 'tickets' });
    await expect(verifier.verify(await signWith(rsa, { iss: 'https://idp.example', aud: 'tickets' }))).resolves.toEqual({
      userId: 'u1',
    });
    await expectUnauthenticated(verifier.verify(await signWith(rsa, { iss: 'https://idp.example', aud: 'other' })));
    await expectUnauthenticated(verifier.verify(await signWith(rsa, { iss: 'https://idp.example', aud: 'tickets', sub: 'not ok' })));
    await expectUnauthenticated(
      verifier.verify(await signWith(rsa, { iss: 'https://idp.example', aud: 'tickets', exp: seconds(new Date()) - 60 })),
    );
  });

  it('is unavailable, not 401, when the key set cannot be fetched: connection refused', async () => {
    const gone = new JwksServer();
    const goneUrl = await gone.start();
    await gone.stop();
    const verifier = new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl: goneUrl });
    await expectIdentityUnavailable(verifier.verify(await signWith(rsa)));
  });

  it('is unavailable when the key set server stops and a new kid appears', async () => {
    const stopping = new JwksServer();
    stopping.keys = [rsa.jwk];
    const verifier = new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl: await stopping.start() }, { jwksCooldownMs: 0 });
    await expect(verifier.verify(await signWith(rsa))).resolves.toEqual({ userId: 'u1' });
    await stopping.stop();
    await expectIdentityUnavailable(verifier.verify(await signWith(ec)));
  });

  it(`is unavailable within the ${JWKS_FETCH_TIMEOUT_MS} ms timeout when the key set hangs`, async () => {
    const verifier = new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl: hangingUrl });
    const started = performance.now();
    await expectIdentityUnavailable(verifier.verify(await signWith(rsa)));
    expect(performance.now() - started).toBeLessThan(JWKS_FETCH_TIMEOUT_MS + 1_000);
  });

  it('is unavailable when the key set answers an error or no key set', async () => {
    jwks.status = 500;
    await expectIdentityUnavailable(new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl }).verify(await signWith(rsa)));
    jwks.status = 200;
    jwks.keys = 'not keys' as unknown as JWK[];
    await expectIdentityUnavailable(new JoseAccessTokenVerifier({ kind: 'jwks', jwksUrl }).verify(await signWith(rsa)));
  });
});
