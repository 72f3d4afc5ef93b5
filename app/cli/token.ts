import { MIN_SECRET_LENGTH } from '../../adapters/auth/jose-access-token-verifier.js';
import { signAccessToken } from '../../adapters/auth/sign-access-token.js';
import { ID_PATTERN, ID_RULE } from '../../core/domain/validation.js';
import { loadOrCreateEmbeddedSecret } from '../auth/embedded-secret.js';

/**
 * `npm run -s token -- <userId>`: prints an access token for that user,
 * valid 24 h, and nothing else on stdout, so that `TOKEN=$(npm run -s token -- u1)`
 * works. Everything else goes to stderr.
 */

const USAGE = `usage: npm run -s token -- <userId>
  prints an access token for <userId> (valid 24 h) on stdout
  <userId> ${ID_RULE}`;

/** As in app/config.ts, an empty variable counts as unset. */
function variable(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

async function main(args: readonly string[]): Promise<number> {
  const [userId, ...extra] = args;
  if (userId === undefined || extra.length > 0 || !ID_PATTERN.test(userId)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }

  let token: string;
  const sharedSecret = variable('AUTH_JWT_SECRET');
  if (sharedSecret !== undefined) {
    if (sharedSecret.length < MIN_SECRET_LENGTH) {
      process.stderr.write(`AUTH_JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters (the service refuses shorter ones)\n`);
      return 1;
    }
    const issuer = variable('AUTH_JWT_ISSUER');
    const audience = variable('AUTH_JWT_AUDIENCE');
    token = await signAccessToken(sharedSecret, userId, {
      ...(issuer === undefined ? {} : { issuer }),
      ...(audience === undefined ? {} : { audience }),
    });
  } else if (variable('AUTH_JWKS_URL') !== undefined) {
    process.stderr.write(
      'AUTH_JWKS_URL is set: access tokens come from the identity provider that publishes that key set; this service cannot sign them\n',
    );
    return 1;
  } else {
    token = await signAccessToken(await loadOrCreateEmbeddedSecret(variable('DATA_DIR') ?? './data'), userId);
  }
  process.stdout.write(`${token}\n`);
  return 0;
}

// exitCode rather than exit(): stdout may be a pipe, and exit() could cut the token short.
main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
