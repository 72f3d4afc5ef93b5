/**
 * The dev sign-in exists only where the service made its own auth secret.
 * In distributed mode (Postgres and Redis, tokens from an identity provider
 * sharing AUTH_JWT_SECRET) `POST /app/dev-sign-in` is 404 and /app offers
 * only to paste a token, with which a buyer signs in as usual.
 */
import type { AddressInfo } from 'node:net';
import type { ServerType } from '@hono/node-server';
import { createAdaptorServer } from '@hono/node-server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppShape } from '../support/app-shapes.js';
import { aUser, distributedApp } from '../support/app-shapes.js';
import { artifactPath, launchChromium } from '../support/browser.js';

describe('the dev sign-in in distributed mode', () => {
  let shape: AppShape;
  let server: ServerType;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    shape = await distributedApp({ LOG_LEVEL: 'silent' });
    server = createAdaptorServer({ fetch: shape.application.app.fetch });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => {
      server?.close(resolve);
      if (server !== undefined && 'closeAllConnections' in server) server.closeAllConnections();
    });
    await shape?.cleanup();
  });

  it('answers 404 to POST /app/dev-sign-in and leaves it out of the API reference', async () => {
    const response = await fetch(`${origin}/app/dev-sign-in`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ userId: 'u1' }) });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const openApi = (await (await fetch(`${origin}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openApi.paths)).not.toContain('/app/dev-sign-in');
    expect(Object.keys(openApi.paths)).toContain('/queue/stats');
  });

  it('offers no dev sign-in on /app, only pasting a token, which signs the buyer in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/app`);
    await page.locator('#paste-token').waitFor();
    // Not hidden: absent from the page.
    expect(await page.locator('#dev-sign-in-form, #dev-sign-in').count()).toBe(0);
    expect(await page.locator('#paste-hint').innerText()).toContain('paste one');
    await page.screenshot({ path: await artifactPath('app-distributed-sign-in.png'), fullPage: true });

    const user = aUser();
    await page.locator('#paste-token').fill(await shape.tokenFor(user));
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.locator('#user-id', { hasText: user }).waitFor();
    await page.locator('#balance', { hasText: '0 points' }).waitFor();
    await context.close();
  }, 120_000);
});
