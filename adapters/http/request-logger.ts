import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { routeTemplate } from './route-template.js';

/** One log line per request: method, route template, status, milliseconds. */
export function requestLogger(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    await next();
    const status = c.res.status;
    const fields = { method: c.req.method, route: routeTemplate(c), status, ms: Math.round((performance.now() - start) * 10) / 10 };
    if (status >= 500) logger.warn(fields, 'request failed');
    else logger.info(fields, 'request');
  };
}
