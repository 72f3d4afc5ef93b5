/**
 * `/docs` with no network: the API reference renders from the service's own
 * assets. Every request the page makes to another host is aborted (and
 * recorded: the test fails if there was any), and the page must still list
 * the routes. A CDN-loaded Swagger UI shows a blank page here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import type { RunningServer } from '../../app/server.js';
import { startServer } from '../../app/server.js';
import { artifactPath, launchChromium } from '../support/browser.js';

describe('/docs offline in a real browser', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ticketing-docs-'));
    server = await startServer(loadConfig({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lists the routes with every request to another host blocked', async () => {
    const origin = new URL(server.url).origin;
    const context = await browser.newContext();
    const page = await context.newPage();
    const blocked: string[] = [];
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith(origin) || url.startsWith('data:')) return route.continue();
      blocked.push(url);
      return route.abort('internetdisconnected');
    });

    await page.goto(`${origin}/`);
    expect(page.url(), 'GET / leads to the API reference').toBe(`${origin}/docs`);
    // Swagger UI renders one block per operation once it has read /openapi.json.
    await page.locator('.opblock').first().waitFor({ timeout: 20_000 });
    const paths = await page.locator('.opblock-summary-path').allInnerTexts();
    await page.screenshot({ path: await artifactPath('docs-offline.png'), fullPage: true });
    await context.close();

    expect(blocked, 'the page asked another host for something').toEqual([]);
    const shown = paths.map((text) => text.replace(/\u200b/g, '').trim());
    for (const route of ['/concerts', '/users/{userId}/points/charge', '/queue/tokens', '/reservations/{reservationId}/payment']) {
      expect(shown, `the page lists ${route}`).toContain(route);
    }
  }, 60_000);
});
