import { createSecretKey } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { JWTVerifyGetKey, JWTVerifyOptions, JWTVerifyResult } from 'jose';
import { DependencyUnavailableError, UnauthenticatedError } from '../../core/domain/errors.js';
import { ID_PATTERN } from '../../core/domain/validation.js';
import type { AccessTokenVerifier, Identity } from '../../core/ports/access-token-verifier.port.js';

/**
 * How far the identity provider's clock and ours may disagree. Without it a
 * token minted a moment ago by a provider whose clock runs ahead is "not yet
 * valid" here, and one at its last second is refused by a clock running
 * behind; a few seconds absorbs NTP drift without meaningfully lengthening a
 * token's life.
 */
export const CLOCK_SKEW_SECONDS = 5;

/** A key set that does not answer in this time is down: the request gets 503 rather than hanging. */
export const JWKS_FETCH_TIMEOUT_MS = 2_000;

/**
 * The least time between two fetches of the key set caused by an unknown
 * `kid`, so that tokens with made-up key ids cannot make us hammer the
 * provider. Providers publish a new key before they sign with it, so a
 * rotated key is still picked up on its first use after the cooldown.
 */
export const JWKS_REFETCH_COOLDOWN_MS = 30_000;

/**
 * Verified tokens remembered, so that a buyer's repeated requests skip the
 * signature check. Bounded so that memory stays flat however many users
 * there are; only tokens that verified get in, so a caller cannot fill it
 * with garbage. A remembered token stays good until its `exp` even if its
 * key leaves the key set meanwhile: no more than a JWT's usual lifetime,
 * since a JWT cannot be revoked anyway.
 */
export const VERIFIED_TOKEN_CACHE_MAX_ENTRIES = 10_000;

/**
 * HS256's own key size (RFC 7518 §3.2 asks for at least the hash length); API.md promises the same floor.
 * app/config.ts, the embedded secret and the token CLI hold AUTH_JWT_SECRET to it too.
 */
export const MIN_SECRET_LENGTH = 32;

export type AuthVerification =
  | { readonly kind: 'secret'; readonly secret: string; readonly issuer?: string; readonly audience?: string }
  | { readonly kind: 'jwks'; readonly jwksUrl: string; readonly issuer?: string; readonly audience?: string };

export interface JoseAccessTokenVerifierOptions {
  readonly clockSkewSeconds?: number;
  readonly now?: () => Date;
  readonly jwksTimeoutMs?: number;
  readonly jwksCooldownMs?: number;
  readonly cacheMaxEntries?: number;
}

interface VerifiedToken {
  readonly identity: Identity;
  /** The first instant jose would refuse the token as expired (exp plus the skew). */
  readonly refusedFromMs: number;
}

/**
 * Errors of a key set that concern the token's choice of key rather than the
 * set itself: the token is at fault, 401. Anything else from the key set
 * (unreachable, timed out, not 200, not a key set) is the provider's fault.
 */
const KEY_CHOICE_ERRORS = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported];

export class JoseAccessTokenVerifier implements AccessTokenVerifier {
  /** jwtVerify with the HS256 secret, or with the key set's lookup. */
  private readonly verifyWith: (token: string, options: JWTVerifyOptions) => Promise<JWTVerifyResult>;
  private readonly verifyOptions: JWTVerifyOptions;
  private readonly now: () => Date;
  private readonly clockSkewSeconds: number;
  private readonly cacheMaxEntries: number;
  /** Insertion-ordered, so the first entry is the oldest one to evict. */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(verification: AuthVerification, options: JoseAccessTokenVerifierOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.cacheMaxEntries = options.cacheMaxEntries ?? VERIFIED_TOKEN_CACHE_MAX_ENTRIES;
    this.clockSkewSeconds = options.clockSkewSeconds ?? CLOCK_SKEW_SECONDS;
    const claims = {
      requiredClaims: ['sub', 'exp'],
      clockTolerance: this.clockSkewSeconds,
      ...(verification.issuer === undefined ? {} : { issuer: verification.issuer }),
      ...(verification.audience === undefined ? {} : { audience: verification.audience }),
    };

    if (verification.kind === 'secret') {
      if (verification.secret.length < MIN_SECRET_LENGTH) {
        throw new Error(`AUTH_JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
      }
      // A node:crypto KeyObject, made once: jose 5's Node build then verifies with node:crypto's HMAC
      // in the calling thread (~10 µs); jose 6 goes through WebCrypto, whose hop to the thread pool cost ~90 µs of CPU.
      const key = createSecretKey(Buffer.from(verification.secret, 'utf8'));
      this.verifyWith = (token, verifyOptions) => jwtVerify(token, key, verifyOptions);
      this.verifyOptions = { ...claims, algorithms: ['HS256'] };
    } else {
      const remote = createRemoteJWKSet(new URL(verification.jwksUrl), {
        timeoutDuration: options.jwksTimeoutMs ?? JWKS_FETCH_TIMEOUT_MS,
        cooldownDuration: options.jwksCooldownMs ?? JWKS_REFETCH_COOLDOWN_MS,
      });
      const getKey: JWTVerifyGetKey = async (header, token) => {
        try {
          return await remote(header, token);
        } catch (error) {
          if (KEY_CHOICE_ERRORS.some((kind) => error instanceof kind)) throw error;
          throw new DependencyUnavailableError('identity', { cause: error });
        }
      };
      this.verifyWith = (token, verifyOptions) => jwtVerify(token, getKey, verifyOptions);
      this.verifyOptions = { ...claims, algorithms: ['RS256', 'ES256'] };
    }
  }

  async verify(token: string): Promise<Identity> {
    const now = this.now();
    const cached = this.verified.get(token);
    if (cached !== undefined) {
      if (now.getTime() < cached.refusedFromMs) return cached.identity;
      this.verified.delete(token);
    }

    let userId: string | undefined;
    let exp: number | undefined;
    try {
      const { payload } = await this.verifyWith(token, { ...this.verifyOptions, currentDate: now });
      ({ sub: userId, exp } = payload);
    } catch (error) {
      if (error instanceof DependencyUnavailableError) throw error;
      throw new UnauthenticatedError();
    }
    // The sub becomes a key in locks, rows and cache entries: it must obey the same rule as any id.
    if (userId === undefined || exp === undefined || !ID_PATTERN.test(userId)) throw new UnauthenticatedError();

    const identity: Identity = { userId };
    this.remember(token, { identity, refusedFromMs: (exp + this.clockSkewSeconds) * 1_000 });
    return identity;
  }

  /** How many verified tokens are remembered; for tests of the bound. */
  get cachedTokenCount(): number {
    return this.verified.size;
  }

  private remember(token: string, entry: VerifiedToken): void {
    if (this.cacheMaxEntries <= 0) return;
    while (this.verified.size >= this.cacheMaxEntries) {
      const oldest = this.verified.keys().next();
      if (oldest.done === true) break;
      this.verified.delete(oldest.value);
    }
    this.verified.set(token, entry);
  }
}
