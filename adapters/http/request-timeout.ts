import type { Context, MiddlewareHandler } from 'hono';
import { DomainError } from '../../core/domain/errors.js';

/**
 * The request ran past the HTTP request timeout: 503 SERVICE_UNAVAILABLE.
 * Its work may still be running, so unlike a dependency's 503 this one
 * cannot promise that nothing was written: a client retries a write with
 * the same Idempotency-Key, which replays it if it did commit.
 */
export class RequestTimeoutError extends DomainError {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(readonly timeoutMs: number) {
    super(`the request did not finish within ${timeoutMs} ms; retry (a write with the same Idempotency-Key)`);
  }
}

export interface RequestTimeoutOptions {
  /** app/time-bounds.ts: HTTP_REQUEST_TIMEOUT_MS. */
  readonly timeoutMs: number;
  /** Told when a request timed out (to log it: a timeout here means some dependency call inside had no bound). */
  readonly onTimeout?: (c: Context) => void;
}

/**
 * Answers 503 to a request whose handler has not finished within
 * `timeoutMs`, so that no client waits on the service forever.
 *
 * A middleware, not the Node server's `requestTimeout`/`headersTimeout`:
 * those bound how long the server waits to *receive* a request from a slow
 * client (slowloris), not how long a handler runs; a handler stuck on a
 * dependency would keep its client waiting whatever they say.
 *
 * A backstop: it cannot stop the handler (JavaScript has no way to cancel
 * it), which runs on, bounded by its own dependency bounds. The timeout is
 * therefore set above the worst case of those bounds, so it fires only when
 * one is missing, and never while a write could still be deciding.
 */
export function requestTimeout(options: RequestTimeoutOptions): MiddlewareHandler {
  return async (c, next) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), options.timeoutMs);
    });
    const handled = next().then(() => 'handled' as const);
    try {
      if ((await Promise.race([handled, expired])) === 'expired') {
        // The handler goes on; whatever it ends with is no one's answer now.
        handled.catch(() => undefined);
        options.onTimeout?.(c);
        throw new RequestTimeoutError(options.timeoutMs);
      }
    } finally {
      clearTimeout(timer);
    }
  };
}
