import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMBEDDED_SECRET_FILE, loadOrCreateEmbeddedSecret } from '../../app/auth/embedded-secret.js';

describe('loadOrCreateEmbeddedSecret', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'embedded-secret-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the secret once, readable by its owner only, in a data folder it makes', async () => {
    const dataDir = join(root, 'not', 'yet', 'there');
    const secret = await loadOrCreateEmbeddedSecret(dataDir);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    const file = join(dataDir, EMBEDDED_SECRET_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toBe(secret);
    // No temporary file is left behind.
    expect(await readdir(dataDir)).toEqual([EMBEDDED_SECRET_FILE]);
  });

  it('gives the same secret on the next call', async () => {
    const first = await loadOrCreateEmbeddedSecret(root);
    await expect(loadOrCreateEmbeddedSecret(root)).resolves.toBe(first);
  });

  it('makes one secret for concurrent callers', async () => {
    const secrets = await Promise.all(Array.from({ length: 20 }, () => loadOrCreateEmbeddedSecret(root)));
    expect(new Set(secrets).size).toBe(1);
    await expect(readFile(join(root, EMBEDDED_SECRET_FILE), 'utf8')).resolves.toBe(`${secrets[0]}\n`);
    expect(await readdir(root)).toEqual([EMBEDDED_SECRET_FILE]);
  });

  it('makes one secret per folder for processes racing over many folders', async () => {
    // Separate processes, each walking the same 40 fresh folders from the same instant: a
    // create that lets a loser read the winner's file before it is written, or that
    // overwrites it, shows up here as disagreeing secrets or a refused empty file.
    const folders = Array.from({ length: 40 }, (_, index) => join(root, `d${index}`));
    const startAt = Date.now() + 2_000;
    const racer = `
      const { loadOrCreateEmbeddedSecret } = await import(process.env.MODULE);
      while (Date.now() < Number(process.env.START_AT)) {}
      const secrets = [];
      for (const folder of JSON.parse(process.env.FOLDERS)) {
        secrets.push(await loadOrCreateEmbeddedSecret(folder).catch((error) => 'refused: ' + error.message));
      }
      process.stdout.write(JSON.stringify(secrets));`;
    const env = {
      ...process.env,
      MODULE: fileURLToPath(new URL('../../app/auth/embedded-secret.ts', import.meta.url)),
      FOLDERS: JSON.stringify(folders),
      START_AT: String(startAt),
    };
    const runs = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<string[]>((resolve, reject) => {
            const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', racer], { env });
            let stdout = '';
            let stderr = '';
            child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
            child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
            child.on('error', reject);
            child.on('close', (code) =>
              code === 0 ? resolve(JSON.parse(stdout) as string[]) : reject(new Error(`racer exited ${code}: ${stderr}`)),
            );
          }),
      ),
    );
    for (const [index, folder] of folders.entries()) {
      const seen = new Set(runs.map((secrets) => secrets[index]));
      expect(seen.size, folder).toBe(1);
      const [secret] = seen;
      await expect(readFile(join(folder, EMBEDDED_SECRET_FILE), 'utf8')).resolves.toBe(`${secret}\n`);
    }
  });

  it('reads a secret it did not make, trimmed', async () => {
    const own = 'an-operator-provided-secret-of-40-chars!!';
    await writeFile(join(root, EMBEDDED_SECRET_FILE), `  ${own}\n\n`);
    await expect(loadOrCreateEmbeddedSecret(root)).resolves.toBe(own);
  });

  it('refuses a file holding fewer than 32 characters, naming it', async () => {
    await writeFile(join(root, EMBEDDED_SECRET_FILE), `${'x'.repeat(31)}\n`);
    await expect(loadOrCreateEmbeddedSecret(root)).rejects.toThrow(join(root, EMBEDDED_SECRET_FILE));
    await writeFile(join(root, EMBEDDED_SECRET_FILE), '');
    await expect(loadOrCreateEmbeddedSecret(root)).rejects.toThrow(/at least 32/);
  });
});
