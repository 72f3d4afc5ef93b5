import { SignJWT } from 'jose';

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 86_400;

export interface SignAccessTokenOptions {
  readonly ttlSeconds?: number;
  readonly issuer?: string;
  readonly audience?: string;
  readonly now?: Date;
}

/**
 * An HS256 access token for `userId`, as an identity provider sharing
 * AUTH_JWT_SECRET (or the embedded default) would issue it. The service
 * itself never signs on a request; the token CLI, tests and benchmarks do.
 */
export async function signAccessToken(secret: string, userId: string, options: SignAccessTokenOptions = {}): Promise<string> {
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1_000);
  const jwt = new SignJWT()
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (options.ttlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS));
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
