import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';

/**
 * The API reference at `/docs`: Swagger UI from the swagger-ui-dist package
 * in node_modules (pinned by the lockfile), so the page renders with no
 * network at all. A CDN copy would show a blank page offline, and an
 * unpinned one could change under the service.
 */
const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
} as const;
type Asset = keyof typeof ASSETS;

const isAsset = (name: string): name is Asset => Object.hasOwn(ASSETS, name);

const assetFolder = (): string => path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The assets' version in their URLs: a deploy with another swagger-ui-dist gets new URLs, so a long browser cache is safe. */
const assetVersion = (): string => (createRequire(import.meta.url)('swagger-ui-dist/package.json') as { version: string }).version;

function page(openApiUrl: string, assetsPath: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Concert ticketing API</title>
<link rel="icon" type="image/png" href="${assetsPath}/favicon-32x32.png">
<link rel="stylesheet" href="${assetsPath}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${assetsPath}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: ${JSON.stringify(openApiUrl)}, dom_id: '#swagger-ui', deepLinking: true });
</script>
</body>
</html>
`;
}

/** Mounts `GET /docs` and its assets under `/docs/assets/<version>/`. Each asset is read from disk once, on first request. */
export function mountApiDocs(app: OpenAPIHono, openApiUrl: string): void {
  const version = assetVersion();
  const assetsPath = `/docs/assets/${version}`;
  const html = page(openApiUrl, assetsPath);
  const loaded = new Map<Asset, Promise<Buffer>>();
  const load = (name: Asset): Promise<Buffer> => {
    let content = loaded.get(name);
    if (content === undefined) {
      content = readFile(path.join(assetFolder(), name));
      // A failed read is tried again next time, not remembered.
      content.catch(() => loaded.delete(name));
      loaded.set(name, content);
    }
    return content;
  };

  app.get('/docs', (c) => c.html(html));
  app.get(`${assetsPath}/:name`, async (c) => {
    const name = c.req.param('name');
    if (!isAsset(name)) return c.notFound();
    const content = await load(name);
    return c.body(new Uint8Array(content), 200, { 'Content-Type': ASSETS[name], 'Cache-Control': 'public, max-age=31536000, immutable' });
  });
}
