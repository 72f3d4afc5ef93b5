/**
 * The HTTP request timeout: a handler that never finishes still gets its
 * client an answer (503) at the bound, and one that finishes is untouched.
 * Fake timers: the bound passes when the test moves time, not after a sleep.
 */
import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toErrorResponse } from '../../adapters/http/error-mapper.js';
import { requestTimeout } from '../../adapters/http/request-timeout.js';
import { NotFoundError } from '../../core/domain/errors.js';
import { deferred } from '../support/deferred.js';

const TIMEOUT_MS = 1_000;

function appWith(handler: () => Promise<Response>, onTimeout?: () => void) {
  const app = new Hono();
  app.use(requestTimeout({ timeoutMs: TIMEOUT_MS, ...(onTimeout === undefined ? {} : { onTimeout }) }));
  app.get('/work', () => handler());
  app.onError((error, c) => {
    const { status, body } = toErrorResponse(error);
    return c.json(body, status);
  });
  return app;
}

describe('requestTimeout', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers 503 SERVICE_UNAVAILABLE at the bound to a request whose handler never finishes, and says so', async () => {
    const stuck = deferred<Response>();
    const timedOut = vi.fn();
    const answer = Promise.resolve(appWith(() => stuck.promise, timedOut).request('/work'));
    let answered = false;
    void answer.then(() => (answered = true));

    await vi.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(answered).toBe(true);
    const response = await answer;
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: 'SERVICE_UNAVAILABLE' } });
    expect(timedOut).toHaveBeenCalledTimes(1);
    // The handler finishing later changes nothing, and throws nowhere.
    stuck.resolve(new Response('late'));
    await vi.advanceTimersByTimeAsync(0);
  });

  it("passes a handler's answer and its errors through untouched, and leaves no timer behind", async () => {
    const ok = await appWith(async () => new Response('done')).request('/work');
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('done');
    const failed = await appWith(async () => Promise.reject(new NotFoundError('nothing here'))).request('/work');
    expect(failed.status).toBe(404);
    expect(vi.getTimerCount()).toBe(0);
  });
});
