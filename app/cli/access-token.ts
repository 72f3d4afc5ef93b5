import { MIN_SECRET_LENGTH } from '../../adapters/auth/jose-access-token-verifier.js';
import { signAccessToken } from '../../adapters/auth/sign-access-token.js';
import { loadOrCreateEmbeddedSecret } from '../auth/embedded-secret.js';

/** What a command-line tool tells its user instead of a stack: the line to print. */
export class CliError extends Error {}

/** As in app/config.ts, an empty variable counts as unset. */
export function variable(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * An access token for `userId` (valid 24 h), signed the way the service at
 * hand verifies it: with AUTH_JWT_SECRET (and its issuer and audience) when
 * set, else with the embedded secret in DATA_DIR, which an embedded service
 * made or will make there. With AUTH_JWKS_URL, only the identity provider
 * can sign.
 */
export async function accessTokenFor(userId: string): Promise<string> {
  const sharedSecret = variable('AUTH_JWT_SECRET');
  if (sharedSecret !== undefined) {
    if (sharedSecret.length < MIN_SECRET_LENGTH) throw new CliError(`AUTH_JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters (the service refuses shorter ones)`);
    const issuer = variable('AUTH_JWT_ISSUER');
    const audience = variable('AUTH_JWT_AUDIENCE');
    return signAccessToken(sharedSecret, userId, { ...(issuer === undefined ? {} : { issuer }), ...(audience === undefined ? {} : { audience }) });
  }
  if (variable('AUTH_JWKS_URL') !== undefined) {
    throw new CliError('AUTH_JWKS_URL is set: access tokens come from the identity provider that publishes that key set; this service cannot sign them');
  }
  return signAccessToken(await loadOrCreateEmbeddedSecret(variable('DATA_DIR') ?? './data'), userId);
}
