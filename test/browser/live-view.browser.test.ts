/**
 * The live view of a schedule (/app/schedules/{id}) in headless Chromium:
 * it follows a sale made through the API seat by seat (HELD, then SOLD,
 * and the counts), with the line's length and admission rate; it falls
 * back to polling when the stream is refused; and an open stream does not
 * hold the server's shutdown. `npm run sellout` is the same at scale, by
 * hand (README, "The buyer's page").
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aUser } from '../support/app-shapes.js';
import { artifactPath, launchChromium } from '../support/browser.js';
import type { EmbeddedServer } from './buyer-page.js';
import { ApiBuyer, DEMO_PRICE, DEMO_SCHEDULE, seat, startEmbedded } from './buyer-page.js';

/** A committed write reaches the seat map within 1 s (API.md), and the map is pushed every second: 2 s, plus slack for a busy machine. */
const SHOWN_WITHIN_MS = 3_000;

const text = (page: Page, id: string) => page.locator(`#${id}`).innerText();

async function openLiveView(browser: Browser, origin: string, query = ''): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await page.goto(`${origin}/app/schedules/${DEMO_SCHEDULE}${query}`);
  await seat(page, 50).waitFor();
  return page;
}

describe('the live view in a real browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  describe('following a sale', () => {
    let service: EmbeddedServer;

    beforeAll(async () => {
      // One buyer ACTIVE at a time: a line forms behind them, for the view to show.
      service = await startEmbedded({ QUEUE_ACTIVE_MAX: '1' });
    }, 120_000);

    afterAll(async () => {
      await service?.stop();
    });

    it('turns seats HELD and then SOLD as buyers buy through the API, with the counts and the line', async () => {
      const page = await openLiveView(browser, service.origin);
      await page.locator('body[data-live-mode="stream"]').waitFor();
      expect([await text(page, 'count-available'), await text(page, 'count-held'), await text(page, 'count-sold')]).toEqual(['50', '0', '0']);

      const buyers = await Promise.all([aUser(), aUser(), aUser()].map(async (user) => new ApiBuyer(service.origin, await service.tokenFor(user))));
      const [first, second, third] = buyers as [ApiBuyer, ApiBuyer, ApiBuyer];
      await first.queueUntilActive();
      await second.join();
      await third.join();
      await expect.poll(() => text(page, 'queue-waiting'), { timeout: SHOWN_WITHIN_MS }).toBe('2');
      expect(await text(page, 'queue-active')).toBe('1');

      let sold = 0;
      for (const [buyer, seats] of [
        [first, [1, 2]],
        [second, [3]],
        [third, [4, 5]],
      ] as const) {
        await buyer.queueUntilActive();
        const holds: string[] = [];
        for (const seatNo of seats) holds.push(await buyer.hold(DEMO_SCHEDULE, seatNo));
        for (const seatNo of seats) await expect.poll(() => seat(page, seatNo).getAttribute('data-status'), { timeout: SHOWN_WITHIN_MS }).toBe('HELD');
        await expect.poll(() => text(page, 'count-held'), { timeout: SHOWN_WITHIN_MS }).toBe(String(seats.length));

        await buyer.charge(DEMO_PRICE * seats.length);
        for (const reservationId of holds) await buyer.pay(reservationId);
        sold += seats.length;
        for (const seatNo of seats) await expect.poll(() => seat(page, seatNo).getAttribute('data-status'), { timeout: SHOWN_WITHIN_MS }).toBe('SOLD');
        await expect.poll(() => text(page, 'count-sold'), { timeout: SHOWN_WITHIN_MS }).toBe(String(sold));
        expect(await text(page, 'count-available')).toBe(String(50 - sold));
      }
      expect(await seat(page, 1).getAttribute('aria-label')).toBe('Seat 1, sold, 50,000 points');
      // The line moved while backlogged: the view shows the measured admission rate.
      await expect.poll(() => text(page, 'queue-rate'), { timeout: SHOWN_WITHIN_MS }).toMatch(/^\d+(\.\d+)? per minute$/);
      expect(await page.locator('body').getAttribute('data-live-mode')).toBe('stream');
      await page.screenshot({ path: await artifactPath('live-view-sale.png'), fullPage: true });
      await page.context().close();
    }, 120_000);

    it('falls back to polling when the stream is refused, and still follows the sale', async () => {
      const context = await browser.newContext();
      await context.route('**/seats/stream', (route) =>
        route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'SERVICE_UNAVAILABLE', message: 'full' } }) }),
      );
      const page = await context.newPage();
      await page.goto(`${service.origin}/app/schedules/${DEMO_SCHEDULE}`);
      await page.locator('body[data-live-mode="polling"]').waitFor();

      const buyer = new ApiBuyer(service.origin, await service.tokenFor(aUser()));
      await buyer.queueUntilActive();
      await buyer.hold(DEMO_SCHEDULE, 40);
      await expect.poll(() => seat(page, 40).getAttribute('data-status'), { timeout: SHOWN_WITHIN_MS }).toBe('HELD');
      await context.close();
    }, 120_000);
  });

  it('ends its stream when the server shuts down, so an open live view does not hold the drain to its bound', async () => {
    const service = await startEmbedded();
    try {
      const page = await openLiveView(browser, service.origin);
      await page.locator('body[data-live-mode="stream"]').waitFor();
      const started = Date.now();
      await service.server.close();
      // The drain bound is SHUTDOWN_DRAIN_MS (8 s): an open stream left to it would take all of it.
      expect(Date.now() - started).toBeLessThan(2_000);
      await page.context().close();
    } finally {
      await service.stop();
    }
  }, 120_000);
});
