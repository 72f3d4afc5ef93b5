import { randomBytes } from 'node:crypto';
import type { ScheduleWithAvailability } from '../../core/domain/catalog.js';
import type { CreateConcert } from '../../core/usecases/catalog/create-concert.js';
import type { CreateSchedule } from '../../core/usecases/catalog/create-schedule.js';

/** A unique name, so that tests sharing a database never collide. */
export function aName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A concert with one schedule: the fixture most reservation tests start from. */
export async function aSchedule(
  useCases: { readonly createConcert: CreateConcert; readonly createSchedule: CreateSchedule },
  options: { readonly seatCount?: number; readonly price?: number; readonly startsAt?: string } = {},
): Promise<ScheduleWithAvailability & { readonly price: number }> {
  const concert = await useCases.createConcert.execute({ title: aName('concert'), venue: 'Test Hall' });
  return useCases.createSchedule.execute({
    concertId: concert.id,
    startsAt: options.startsAt ?? '2026-06-01T19:00:00Z',
    seatCount: options.seatCount ?? 5,
    price: options.price ?? 1_000,
  });
}
