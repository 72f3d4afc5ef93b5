import { access, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The pages' scripts (web/<name>.ts, bundled) and stylesheet, as served under /app/assets/. */
export interface WebAsset {
  readonly body: string;
  readonly type: string;
}

const ENTRIES = ['buyer', 'live'] as const;
const STYLESHEET = 'app.css';

/** web/ at the repository's root: three folders up from here under tsx, four from the compiled dist/adapters/http/app/. */
async function webFolder(): Promise<string> {
  for (const up of ['../../../web/', '../../../../web/']) {
    const folder = fileURLToPath(new URL(up, import.meta.url));
    try {
      await access(join(folder, 'buyer.ts'));
      return folder;
    } catch {
      // not this one
    }
  }
  throw new Error("the buyer's page sources (web/) are not beside the service: it builds them when first asked for");
}

/**
 * Bundles the pages' TypeScript with esbuild (tsx's own dependency, so
 * nothing more to install), in memory: the repository holds no build
 * output, and `npm ci && npm start` serves the page. esbuild's helper
 * process is stopped once the bundle is made.
 */
async function build(): Promise<Map<string, WebAsset>> {
  const folder = await webFolder();
  const esbuild = await import('esbuild');
  try {
    const result = await esbuild.build({
      entryPoints: ENTRIES.map((entry) => join(folder, `${entry}.ts`)),
      bundle: true,
      write: false,
      format: 'esm',
      target: 'es2020',
      outdir: join(folder, 'out'),
      tsconfig: join(folder, 'tsconfig.json'),
      legalComments: 'none',
      logLevel: 'silent',
    });
    const assets = new Map<string, WebAsset>();
    for (const file of result.outputFiles) assets.set(basename(file.path), { body: file.text, type: 'text/javascript; charset=utf-8' });
    assets.set(STYLESHEET, { body: await readFile(join(folder, STYLESHEET), 'utf8'), type: 'text/css; charset=utf-8' });
    return assets;
  } finally {
    await esbuild.stop();
  }
}

let built: Promise<Map<string, WebAsset>> | undefined;

/** The assets, built once per process on first request (not at start: a service nobody browses never pays for it). A failed build is tried again next time. */
export function webAssets(): Promise<Map<string, WebAsset>> {
  if (built === undefined) {
    const started = build();
    started.catch(() => {
      if (built === started) built = undefined;
    });
    built = started;
  }
  return built;
}
