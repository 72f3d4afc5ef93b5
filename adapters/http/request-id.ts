import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** What a caller or a proxy may send as a request id: short and printable, so it cannot forge log lines or bloat them. */
const ACCEPTED = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

const context = new AsyncLocalStorage<string>();

/** The id of the request whose work is running now, or undefined outside a request (jobs, start-up). */
export function currentRequestId(): string | undefined {
  return context.getStore();
}

/**
 * Every request gets an id: the caller's (or nginx's) `X-Request-Id` when it
 * is a sane one, a new UUID otherwise. It is returned in the same header and
 * rides along the request's async work, so that every log line written
 * while serving it (the request line, a use case's warning, an unexpected
 * error) carries it: see the logger's mixin in app/observability/logger.ts.
 */
export function requestId(): MiddlewareHandler {
  return async (c, next) => {
    const sent = c.req.header(REQUEST_ID_HEADER);
    const id = sent !== undefined && ACCEPTED.test(sent) ? sent : randomUUID();
    c.header(REQUEST_ID_HEADER, id);
    await context.run(id, next);
    // An error answer is a new Response made by onError: it must carry the id too.
    c.res.headers.set(REQUEST_ID_HEADER, id);
  };
}
