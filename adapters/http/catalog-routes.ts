import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Concert, ScheduleWithAvailability, Seat } from '../../core/domain/catalog.js';
import type { GetSeatMap } from '../../core/usecases/catalog/get-seat-map.js';
import type { ListConcerts } from '../../core/usecases/catalog/list-concerts.js';
import type { ListSchedules } from '../../core/usecases/catalog/list-schedules.js';
import { errorResponses, idParam } from './schemas.js';
import { createRouter } from './validation.js';

export interface CatalogDeps {
  readonly listConcerts: ListConcerts;
  readonly listSchedules: ListSchedules;
  readonly getSeatMap: GetSeatMap;
}

const dateTime = z.string().openapi({ format: 'date-time', example: '2026-05-01T19:00:00.000Z' });

export const ConcertSchema = z
  .object({ id: z.string(), title: z.string().openapi({ example: 'Spring Tour' }), venue: z.string().openapi({ example: 'Olympic Hall' }) })
  .openapi('Concert');

export const ScheduleSchema = z
  .object({
    id: z.string(),
    concertId: z.string(),
    startsAt: dateTime,
    totalSeats: z.number().int().openapi({ example: 50 }),
    availableSeats: z.number().int().openapi({ description: 'AVAILABLE now, counting seats whose hold has ended', example: 48 }),
  })
  .openapi('Schedule');

const SeatMapSchema = z
  .object({
    scheduleId: z.string(),
    seats: z.array(
      z.object({
        seatNo: z.number().int().openapi({ example: 7 }),
        price: z.number().int().openapi({ example: 50_000 }),
        status: z.enum(['AVAILABLE', 'HELD', 'SOLD']).openapi({ description: 'a seat whose hold has ended shows AVAILABLE' }),
      }),
    ),
  })
  .openapi('SeatMap');

const listConcertsRoute = createRoute({
  method: 'get',
  path: '/concerts',
  tags: ['catalog'],
  summary: 'Every concert, oldest first',
  responses: {
    200: { description: 'the concerts', content: { 'application/json': { schema: z.object({ concerts: z.array(ConcertSchema) }) } } },
    ...errorResponses(),
  },
});

const listSchedulesRoute = createRoute({
  method: 'get',
  path: '/concerts/{concertId}/schedules',
  tags: ['catalog'],
  summary: 'The dates of a concert, with the seats still available',
  request: { params: z.object({ concertId: idParam('concertId', 'demo-concert') }) },
  responses: {
    200: { description: 'the schedules by start time', content: { 'application/json': { schema: z.object({ schedules: z.array(ScheduleSchema) }) } } },
    ...errorResponses({ 404: 'NOT_FOUND: no such concert' }),
  },
});

const seatMapRoute = createRoute({
  method: 'get',
  path: '/schedules/{scheduleId}/seats',
  tags: ['catalog'],
  summary: 'The seat map of a schedule',
  request: { params: z.object({ scheduleId: idParam('scheduleId', 'demo-schedule-1') }) },
  responses: {
    200: { description: 'every seat by number', content: { 'application/json': { schema: SeatMapSchema } } },
    ...errorResponses({ 404: 'NOT_FOUND: no such schedule' }),
  },
});

export function concertBody(concert: Concert) {
  return { id: concert.id, title: concert.title, venue: concert.venue };
}

export function scheduleBody(schedule: ScheduleWithAvailability) {
  return {
    id: schedule.id,
    concertId: schedule.concertId,
    startsAt: schedule.startsAt.toISOString(),
    totalSeats: schedule.totalSeats,
    availableSeats: schedule.availableSeats,
  };
}

function seatBody(seat: Seat) {
  return { seatNo: seat.seatNo, price: seat.price, status: seat.status };
}

export function catalogRoutes(deps: CatalogDeps): OpenAPIHono {
  const app = createRouter();

  app.openapi(listConcertsRoute, async (c) => {
    return c.json({ concerts: (await deps.listConcerts.execute()).map(concertBody) }, 200);
  });

  app.openapi(listSchedulesRoute, async (c) => {
    const { concertId } = c.req.valid('param');
    return c.json({ schedules: (await deps.listSchedules.execute(concertId)).map(scheduleBody) }, 200);
  });

  app.openapi(seatMapRoute, async (c) => {
    const { scheduleId } = c.req.valid('param');
    return c.json({ scheduleId, seats: (await deps.getSeatMap.execute(scheduleId)).map(seatBody) }, 200);
  });

  return app;
}
