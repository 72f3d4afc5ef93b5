import { ID_PATTERN, ID_RULE } from '../../core/domain/validation.js';
import { accessTokenFor, CliError } from './access-token.js';

/**
 * `npm run -s token -- <userId>`: prints an access token for that user,
 * valid 24 h, and nothing else on stdout, so that `TOKEN=$(npm run -s token -- u1)`
 * works. Everything else goes to stderr.
 */

const USAGE = `usage: npm run -s token -- <userId>
  prints an access token for <userId> (valid 24 h) on stdout
  <userId> ${ID_RULE}`;

async function main(args: readonly string[]): Promise<number> {
  const [userId, ...extra] = args;
  if (userId === undefined || extra.length > 0 || !ID_PATTERN.test(userId)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    process.stdout.write(`${await accessTokenFor(userId)}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
}

// exitCode rather than exit(): stdout may be a pipe, and exit() could cut the token short.
main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
