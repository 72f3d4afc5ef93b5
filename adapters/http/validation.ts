import type { Hook } from '@hono/zod-openapi';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Env } from 'hono';
import type { ZodError } from 'zod';
import { ValidationError } from '../../core/domain/errors.js';

const TARGET_NAMES: Record<string, string> = { json: 'body', param: 'path', query: 'query', header: 'header', cookie: 'cookie', form: 'body' };

/**
 * Turns the first zod issue into the core's ValidationError, named by its
 * field path (`amount`, `items.0.seatNo`, `userId`; `body` for the body as a
 * whole), so that the error mapper answers 400 VALIDATION_FAILED like for a
 * rule the core checks itself.
 */
export function toValidationError(error: ZodError, target: string): ValidationError {
  const issue = error.issues[0];
  if (issue === undefined) return new ValidationError(TARGET_NAMES[target] ?? target, 'is invalid');
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : (TARGET_NAMES[target] ?? target);
  return new ValidationError(field, issue.message);
}

export const validationHook: Hook<unknown, Env, string, void> = (result) => {
  if (!result.success) throw toValidationError(result.error, result.target);
};

/**
 * A route group: an OpenAPIHono whose request validation answers like the
 * rest of the API. Every route file starts from this.
 */
export function createRouter(): OpenAPIHono {
  return new OpenAPIHono({ defaultHook: validationHook });
}
