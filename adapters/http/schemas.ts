import { z } from '@hono/zod-openapi';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../../core/domain/cursor.js';
import { ID_PATTERN, ID_RULE, IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE } from '../../core/domain/validation.js';
import type { ErrorCode } from './error-mapper.js';
import { STATUS_BY_CODE } from './error-mapper.js';

/** The one error body of API.md, for every status. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'VALIDATION_FAILED' }),
      message: z.string().openapi({ example: 'amount: must be an integer' }),
    }),
  })
  .openapi('Error');

export type ErrorBody = z.infer<typeof ErrorSchema>;

const ALWAYS = {
  400: 'VALIDATION_FAILED: bad JSON, wrong type or out of range (the message names the field)',
  500: 'INTERNAL: a bug, logged',
  503: 'SERVICE_UNAVAILABLE: a dependency is down, nothing was written',
} as const;

type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 500 | 503;
type ErrorResponseConfig = {
  description: string;
  content: { 'application/json': { schema: z.ZodType<ErrorBody> } };
  headers?: Record<string, { description: string; schema: { type: 'integer' } }>;
};

/** The codes a description names: each `;`-separated part starts with one (`LOCK_BUSY (the wallet stayed busy)`). */
function codesIn(status: number, description: string): [ErrorCode, ...ErrorCode[]] {
  const codes = description.split(';').map((part) => /^\s*([A-Z][A-Z_]+)/.exec(part)?.[1]);
  const known = codes.filter((code): code is ErrorCode => code !== undefined && Object.hasOwn(STATUS_BY_CODE, code) && STATUS_BY_CODE[code as ErrorCode] === status);
  // A typo or a code under the wrong status would document an answer the service never gives: refuse it where routes are declared.
  if (known.length === 0 || known.length !== codes.length) throw new Error(`errorResponses: "${description}" must list codes of status ${status}, each part starting with one`);
  return known as [ErrorCode, ...ErrorCode[]];
}

/** The error body of one response, its `code` narrowed to what that response can carry. */
function errorSchemaOf(codes: [ErrorCode, ...ErrorCode[]]) {
  return z.object({ error: z.object({ code: z.enum(codes).openapi({ example: codes[0] }), message: z.string() }) });
}

/**
 * The error responses of a route, for its OpenAPI entry: 400, 500 and 503
 * always, plus the statuses this route can answer, each described by its
 * codes, one per `;`-separated part: `errorResponses({ 409: 'BALANCE_LIMIT_EXCEEDED; LOCK_BUSY (the wallet stayed busy)' })`.
 * Each response's `code` is an enum of the codes its description names, and
 * one that can answer IDEMPOTENCY_IN_PROGRESS declares its Retry-After.
 */
export function errorResponses<const S extends ErrorStatus = never>(codes: Partial<Record<S, string>> = {}) {
  const described: Record<number, string> = { ...ALWAYS, ...codes };
  return Object.fromEntries(
    Object.entries(described).map(([status, description]) => {
      const listed = codesIn(Number(status), description);
      const response: ErrorResponseConfig = { description, content: { 'application/json': { schema: errorSchemaOf(listed) } } };
      if (listed.includes('IDEMPOTENCY_IN_PROGRESS')) {
        response.headers = { 'Retry-After': { description: 'with IDEMPOTENCY_IN_PROGRESS: seconds to wait before retrying with the same key', schema: { type: 'integer' } } };
      }
      return [status, response];
    }),
  ) as Record<400 | 500 | 503 | S, ErrorResponseConfig>;
}

/** Declared on a success answer that may be a replay: `Idempotent-Replayed: true` when it is the stored first answer. */
export const IDEMPOTENT_REPLAYED_HEADER = {
  'Idempotent-Replayed': { description: '`true` when this is the stored answer of an earlier request with the same Idempotency-Key', schema: { type: 'string' as const, enum: ['true'] } },
};

export function idParam(name: string, example: string) {
  return z
    .string()
    .regex(ID_PATTERN, ID_RULE)
    .openapi({ param: { name, in: 'path' }, example });
}

export const IdempotencyKeyHeader = z
  .string()
  .regex(IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE)
  .optional()
  .openapi({
    param: { name: 'Idempotency-Key', in: 'header' },
    description: 'Retrying with the same key replays the first answer instead of acting twice.',
    example: '3f1c9a52-charge-1',
  });

const limitRule = `must be an integer from 1 to ${MAX_PAGE_LIMIT}`;

/** `?limit&cursor` of a paged list (API.md): newest first, follow `nextCursor` for the next page. */
export const PageQuery = z.object({
  limit: z
    .string()
    .regex(/^\d{1,4}$/, limitRule)
    .transform(Number)
    .refine((value) => value >= 1 && value <= MAX_PAGE_LIMIT, limitRule)
    .optional()
    .openapi({ param: { name: 'limit', in: 'query' }, description: `1 to ${MAX_PAGE_LIMIT}, default ${DEFAULT_PAGE_LIMIT}`, example: '20' }),
  cursor: z
    .string()
    .max(64, 'is not a cursor this service issued')
    .optional()
    .openapi({ param: { name: 'cursor', in: 'query' }, description: 'the `nextCursor` of the previous page' }),
});

/** `nextCursor` of a paged answer: null on the last page. */
export const NextCursor = z.string().nullable().openapi({ description: 'pass as `cursor` for the next page; null on the last page', example: 'c1.2s' });
