import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MIN_SECRET_LENGTH } from '../../adapters/auth/jose-access-token-verifier.js';

export const EMBEDDED_SECRET_FILE = 'auth-secret';

/**
 * The HS256 secret of the embedded default (no AUTH_* variable): made once
 * in `<dataDir>/auth-secret` and read back afterwards, so that the service
 * and `npm run token` agree, before and while the service runs.
 *
 * Mode 0600: whoever reads the secret can mint a token for any user, so
 * only the account that runs the service may read it.
 */
export async function loadOrCreateEmbeddedSecret(dataDir: string): Promise<string> {
  const path = join(dataDir, EMBEDDED_SECRET_FILE);
  // Read first: once the secret exists nothing is written, so a read-only data folder works.
  let content = await readIfExists(path);
  if (content === undefined) {
    await mkdir(dataDir, { recursive: true });
    await createOnce(path, `${randomBytes(32).toString('base64url')}\n`);
    content = await readFile(path, 'utf8');
  }
  const secret = content.trim();
  // The verifier refuses shorter HS256 secrets; a file holding one was not written by us.
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `${path} holds a secret of ${secret.length} characters; at least ${MIN_SECRET_LENGTH} are needed. ` +
        'Delete the file to have a new one made (tokens signed with the old one stop working), or set AUTH_JWT_SECRET.',
    );
  }
  return secret;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

/**
 * Writes `content` to `path` unless the file exists. The content goes to a
 * private temporary file first and is then hard-linked into place: link
 * fails if the name exists, so of two processes racing exactly one wins, and
 * the loser never reads a file the winner has opened but not yet written.
 */
async function createOnce(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, content, { flag: 'wx', mode: 0o600 });
  try {
    await link(temporary, path);
  } catch (error) {
    if (!hasCode(error, 'EEXIST')) throw error;
  } finally {
    await unlink(temporary).catch(() => {});
  }
}
