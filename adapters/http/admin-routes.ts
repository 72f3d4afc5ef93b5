import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { MAX_PRICE, MAX_SEATS_PER_SCHEDULE } from '../../core/domain/catalog.js';
import { DATE_TIME_PATTERN, DATE_TIME_RULE, MAX_TEXT_LENGTH, TEXT_RULE } from '../../core/domain/catalog-rules.js';
import type { CreateConcert } from '../../core/usecases/catalog/create-concert.js';
import type { CreateSchedule } from '../../core/usecases/catalog/create-schedule.js';
import { concertBody, ConcertSchema, scheduleBody, ScheduleSchema } from './catalog-routes.js';
import { errorResponses, idParam } from './schemas.js';
import { requireStaticToken } from './static-token.js';
import { createRouter } from './validation.js';

export interface AdminDeps {
  readonly createConcert: CreateConcert;
  readonly createSchedule: CreateSchedule;
  /** ADMIN_TOKEN; unset: every admin request is refused. */
  readonly adminToken: string | undefined;
}

const ADMIN_SCHEME = 'adminToken';
const adminSecurity = [{ [ADMIN_SCHEME]: [] }];

function text(example: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : TEXT_RULE) })
    .max(MAX_TEXT_LENGTH, TEXT_RULE)
    .openapi({ example });
}

function integer(min: number, max: number, example: number) {
  const rule = `must be an integer from ${min} to ${max}`;
  return z
    .number({ error: (issue) => (issue.input === undefined ? 'is required' : rule) })
    .int(rule)
    .min(min, rule)
    .max(max, rule)
    .openapi({ example });
}

const CreateConcertSchema = z
  .object({ title: text('Spring Tour'), venue: text('Olympic Hall') }, { error: 'must be a JSON object' })
  .openapi('CreateConcertRequest');

const CreateScheduleSchema = z
  .object(
    {
      startsAt: z
        .string({ error: (issue) => (issue.input === undefined ? 'is required' : DATE_TIME_RULE) })
        .regex(DATE_TIME_PATTERN, DATE_TIME_RULE)
        .openapi({ format: 'date-time', example: '2026-05-01T19:00:00Z' }),
      seatCount: integer(1, MAX_SEATS_PER_SCHEDULE, 50),
      price: integer(0, MAX_PRICE, 50_000),
    },
    { error: 'must be a JSON object' },
  )
  .openapi('CreateScheduleRequest');

const forbidden = { 401: 'UNAUTHENTICATED: no admin token', 403: 'FORBIDDEN: wrong admin token, or ADMIN_TOKEN is not set' } as const;

function routes(guard: MiddlewareHandler) {
  const createConcertRoute = createRoute({
    method: 'post',
    path: '/admin/concerts',
    tags: ['admin'],
    summary: 'Add a concert',
    security: adminSecurity,
    middleware: [guard] as const,
    request: { body: { required: true, content: { 'application/json': { schema: CreateConcertSchema } } } },
    responses: {
      201: { description: 'the concert', content: { 'application/json': { schema: ConcertSchema } } },
      ...errorResponses(forbidden),
    },
  });

  const createScheduleRoute = createRoute({
    method: 'post',
    path: '/admin/concerts/{concertId}/schedules',
    tags: ['admin'],
    summary: 'Add a date to a concert, with its seats 1..seatCount at one price',
    security: adminSecurity,
    middleware: [guard] as const,
    request: {
      params: z.object({ concertId: idParam('concertId', 'demo-concert') }),
      body: { required: true, content: { 'application/json': { schema: CreateScheduleSchema } } },
    },
    responses: {
      201: {
        description: 'the schedule, every seat AVAILABLE',
        content: { 'application/json': { schema: ScheduleSchema.extend({ price: z.number().int() }).openapi('CreatedSchedule') } },
      },
      ...errorResponses({ ...forbidden, 404: 'NOT_FOUND: no such concert' }),
    },
  });

  return { createConcertRoute, createScheduleRoute };
}

export function adminRoutes(deps: AdminDeps): OpenAPIHono {
  const app = createRouter();
  app.openAPIRegistry.registerComponent('securitySchemes', ADMIN_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'The ADMIN_TOKEN of the deployment.',
  });
  const { createConcertRoute, createScheduleRoute } = routes(requireStaticToken('ADMIN_TOKEN', deps.adminToken));

  app.openapi(createConcertRoute, async (c) => {
    return c.json(concertBody(await deps.createConcert.execute(c.req.valid('json'))), 201);
  });

  app.openapi(createScheduleRoute, async (c) => {
    const { concertId } = c.req.valid('param');
    const schedule = await deps.createSchedule.execute({ concertId, ...c.req.valid('json') });
    return c.json({ ...scheduleBody(schedule), price: schedule.price }, 201);
  });

  return app;
}
