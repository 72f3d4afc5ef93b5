/**
 * The buyer's page (/app) in headless Chromium, against the embedded
 * default: a whole purchase through the page, and two buyers in two
 * browser contexts racing for one seat. Screenshots go to test-artifacts/.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aUser } from '../support/app-shapes.js';
import { artifactPath, launchChromium } from '../support/browser.js';
import type { EmbeddedServer } from './buyer-page.js';
import { DEMO_PRICE, DEMO_SCHEDULE, joinUntilActive, seat, seatMapShown, signIn, startEmbedded } from './buyer-page.js';

describe("the buyer's page in a real browser", () => {
  let service: EmbeddedServer;
  let browser: Browser;

  beforeAll(async () => {
    service = await startEmbedded();
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('makes a whole purchase: sign in, queue, ACTIVE, hold, charge, pay, SOLD', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const user = aUser();
    await signIn(page, service.origin, user);
    await seatMapShown(page, 7);

    await joinUntilActive(page);
    await seat(page, 7).click();
    const hold = page.locator('#hold-list li[data-seat="7"]');
    await hold.waitFor();
    await expect.poll(() => hold.locator('.countdown').innerText()).toMatch(/^hold ends in \d+:\d\d$/);

    // Paying before charging: the page shows the API's refusal.
    await hold.getByRole('button', { name: 'Pay for seat 7' }).click();
    await page.locator('#notice[data-code="INSUFFICIENT_POINTS"]').waitFor();
    expect(await page.locator('#notice').innerText()).toMatch(/^Not enough points: balance 0 is less than 50000$/);

    await expect.poll(() => page.locator('#charge-amount').inputValue()).toBe(String(DEMO_PRICE));
    await page.getByRole('button', { name: 'Charge' }).click();
    await page.locator('#balance', { hasText: '50,000 points' }).waitFor();
    await hold.getByRole('button', { name: 'Pay for seat 7' }).click();

    await page.locator('#ticket-list li[data-seat="7"]', { hasText: 'CONFIRMED' }).waitFor();
    await page.locator('#balance', { hasText: '0 points' }).waitFor();
    // The map turns the seat SOLD (bought by this buyer) within the live update's bound.
    await expect.poll(() => seat(page, 7).getAttribute('data-status'), { timeout: 5_000 }).toBe('SOLD');
    expect(await seat(page, 7).getAttribute('aria-label')).toBe('Seat 7, bought by you, 50,000 points');
    // Paying the last hold spends the queue token: the page shows the buyer out of line.
    await page.locator('#queue[data-status="NONE"]').waitFor();
    await page.screenshot({ path: await artifactPath('buyer-whole-sale.png'), fullPage: true });

    // The service agrees: the reservation is CONFIRMED and the seat SOLD.
    const reservations = (await (await fetch(`${service.origin}/users/me/reservations`, { headers: { Authorization: `Bearer ${await service.tokenFor(user)}` } })).json()) as {
      items: { seatNo: number; status: string }[];
    };
    expect(reservations.items).toEqual([expect.objectContaining({ seatNo: 7, status: 'CONFIRMED' })]);
    await context.close();
  }, 120_000);

  it('two buyers race for one seat: exactly one gets it, the other sees "seat taken" and the seat HELD within a second', async () => {
    const contexts = await Promise.all([browser.newContext(), browser.newContext()]);
    const pages = await Promise.all(contexts.map((context) => context.newPage()));
    await Promise.all(pages.map((page) => signIn(page, service.origin, aUser())));
    await Promise.all(pages.map((page) => joinUntilActive(page)));
    await Promise.all(pages.map((page) => seatMapShown(page, 12)));
    expect(await Promise.all(pages.map((page) => seat(page, 12).getAttribute('data-status')))).toEqual(['AVAILABLE', 'AVAILABLE']);

    await Promise.all(pages.map((page) => seat(page, 12).click()));
    // Each page ends in one of two states: a hold, or the API's refusal.
    const outcome = (page: (typeof pages)[number]) =>
      Promise.race([
        page.locator('#hold-list li[data-seat="12"]').waitFor().then(() => 'hold' as const),
        page.locator('#notice[data-code]').waitFor().then(() => 'refused' as const),
      ]);
    const outcomes = await Promise.all(pages.map(outcome));
    expect([...outcomes].sort()).toEqual(['hold', 'refused']);
    const loser = pages[outcomes.indexOf('refused')]!;
    const refusedAt = Date.now();

    expect(await loser.locator('#notice').getAttribute('data-code')).toBe('SEAT_UNAVAILABLE');
    expect(await loser.locator('#notice').innerText()).toBe(`Seat taken: seat 12 of schedule ${DEMO_SCHEDULE} is held or sold`);
    await expect.poll(() => seat(loser, 12).getAttribute('data-status'), { timeout: 1_000, interval: 50 }).toBe('HELD');
    expect(Date.now() - refusedAt).toBeLessThan(1_000);
    expect(await seat(loser, 12).getAttribute('aria-label')).toBe('Seat 12, held, 50,000 points');
    await loser.screenshot({ path: await artifactPath('buyer-race-loser.png'), fullPage: true });

    // Not only the refusal's mark: the live map itself comes to show the seat HELD, and it stays so.
    await expect.poll(() => seat(loser, 12).getAttribute('data-override'), { timeout: 5_000 }).toBeNull();
    expect(await seat(loser, 12).getAttribute('data-status')).toBe('HELD');
    await Promise.all(contexts.map((context) => context.close()));
  }, 120_000);

  it('shows the API\'s refusal when a buyer passes the seat limit', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, service.origin, aUser());
    await joinUntilActive(page);
    for (const seatNo of [21, 22, 23, 24]) {
      await seat(page, seatNo).click();
      await page.locator(`#hold-list li[data-seat="${seatNo}"]`).waitFor();
    }
    await seat(page, 25).click();
    await page.locator('#notice[data-code="SEAT_LIMIT_REACHED"]').waitFor();
    expect(await page.locator('#notice').innerText()).toBe(`Limit reached: you already hold or have bought 4 seats of schedule ${DEMO_SCHEDULE}, the most one buyer may`);
    await context.close();
  }, 120_000);

  it('is usable from the keyboard: a seat is a button reached by Tab and taken with Enter', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, service.origin, aUser());
    await joinUntilActive(page);
    await seatMapShown(page, 31);
    await seat(page, 30).focus();
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').getAttribute('data-seat')).toBe('31');
    await page.keyboard.press('Enter');
    await page.locator('#hold-list li[data-seat="31"]').waitFor();
    // The live map redraws every second without moving the focus away from the seat.
    await expect.poll(() => seat(page, 31).getAttribute('data-mine')).toBe('held');
    expect(await page.locator(':focus').getAttribute('data-seat')).toBe('31');
    await context.close();
  }, 120_000);

  describe('with holds of 2 s', () => {
    let shortHolds: EmbeddedServer;

    beforeAll(async () => {
      shortHolds = await startEmbedded({ HOLD_TTL_SECONDS: '2' });
    }, 120_000);

    afterAll(async () => {
      await shortHolds?.stop();
    });

    it('counts a hold down to its end, then shows the API\'s "hold ended" when paying it, and the seat free again', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, shortHolds.origin, aUser());
      await joinUntilActive(page);
      await seat(page, 9).click();
      const hold = page.locator('#hold-list li[data-seat="9"]');
      await hold.locator('.countdown[data-ended="true"]', { hasText: 'hold ended' }).waitFor({ timeout: 10_000 });
      const reservationId = await hold.getAttribute('data-reservation');

      await hold.getByRole('button', { name: 'Pay for seat 9' }).click();
      await page.locator('#notice[data-code="RESERVATION_EXPIRED"]').waitFor();
      expect(await page.locator('#notice').innerText()).toBe(`Hold ended: the hold of reservation ${reservationId} has ended`);
      await hold.waitFor({ state: 'detached' });
      await expect.poll(() => seat(page, 9).getAttribute('data-status'), { timeout: 5_000 }).toBe('AVAILABLE');
      expect(await seat(page, 9).getAttribute('data-mine')).toBeNull();
      await context.close();
    }, 120_000);
  });
});
