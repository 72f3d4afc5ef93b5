/**
 * What goes on sale, made the way an operator makes it: through the admin
 * API (ADMIN_TOKEN), one concert with `schedules` dates of `seats` seats
 * each, at one price.
 */
import { z } from 'zod';
import type { Sale } from './buyer.js';

/** Points per seat: any price works; a round one reads well in the history. */
export const SEAT_PRICE = 50_000;

const CreatedSchema = z.object({ id: z.string() });

async function post(url: string, adminToken: string, body: unknown): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST ${new URL(url).pathname} answered ${response.status}: ${text}`);
  return CreatedSchema.parse(JSON.parse(text)).id;
}

export async function createSale(baseUrl: string, adminToken: string, schedules: number, seats: number): Promise<Sale> {
  const concertId = await post(`${baseUrl}/admin/concerts`, adminToken, { title: 'Sell-out', venue: 'Local stage' });
  const scheduleIds: string[] = [];
  for (let i = 0; i < schedules; i++) {
    // A month ahead (the API refuses a date in the past), one day apart.
    const startsAt = new Date(Date.now() + (30 + i) * 86_400_000).toISOString();
    scheduleIds.push(await post(`${baseUrl}/admin/concerts/${concertId}/schedules`, adminToken, { startsAt, seatCount: seats, price: SEAT_PRICE }));
  }
  return { concertId, scheduleIds };
}
