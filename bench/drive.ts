import autocannon from 'autocannon';
import type { LoadResult } from './http-load.js';
import { summarise } from './support.js';

/** One request of a driven load: each may have its own path, body and headers (its own user's token). */
export interface DriveRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface DriveOptions {
  readonly url: string;
  readonly connections: number;
  /** Either a time window, or a number of requests (setup steps: exactly one request per user). */
  readonly durationS?: number;
  readonly amount?: number;
  /**
   * Request number `i` (0, 1, 2, … in the order they are built), or
   * undefined when there is nothing left to send: the load then stops early,
   * and `exhausted` says so.
   */
  readonly request: (i: number) => DriveRequest | undefined;
  /** Every answer, with the number of the request it answers. */
  readonly onResponse?: (i: number, status: number, body: string) => void;
  /** What counts as done work, for `okRps` and the latency percentiles; 2xx unless told. */
  readonly ok?: (status: number) => boolean;
}

export interface DriveResult extends LoadResult {
  /** The requests ran out before the window ended (the window was cut short; the rates are over the time it lasted). */
  readonly exhausted: boolean;
  readonly elapsedS: number;
  /** How many requests were built (numbers 0 … built − 1), sent or not: the next load can go on from there. */
  readonly built: number;
}

/** A request no route answers (404 at once), sent in place of a real one once the requests have run out, while autocannon stops. */
const NOTHING_LEFT: DriveRequest = { method: 'GET', path: '/bench-nothing-left' };

/**
 * autocannon with a request built per request (setupRequest) and every
 * answer handed back with the number of its request (onResponse, through
 * autocannon's per-request context). 127.0.0.1 only.
 */
export async function drive(options: DriveOptions): Promise<DriveResult> {
  if (!new URL(options.url).hostname.startsWith('127.')) throw new Error(`refusing to load ${options.url}: 127.0.0.1 only`);
  if ((options.durationS === undefined) === (options.amount === undefined)) throw new Error('drive: give either durationS or amount');
  const ok = options.ok ?? ((status: number) => status >= 200 && status < 300);
  const okTimes: number[] = [];
  const statusCounts: Record<string, number> = {};
  let next = 0;
  let exhausted = false;
  let exhaustedAt = 0;
  // onResponse (which knows the request) runs just before the 'response' event of the same answer.
  let filler = false;
  let instance: autocannon.Instance | undefined;
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        // autocannon acts on stop() at its next sample tick: every 100 ms rather than every second.
        sampleInt: 100,
        ...(options.amount === undefined ? { duration: options.durationS } : { amount: options.amount }),
        requests: [
          {
            setupRequest: (request: autocannon.Request, context: object) => {
              const slot = context as { i?: number };
              const i = next++;
              const built = exhausted ? undefined : options.request(i);
              if (built === undefined) {
                if (!exhausted) {
                  exhausted = true;
                  exhaustedAt = performance.now();
                  // Not from inside autocannon's own call stack.
                  setImmediate(() => instance?.stop());
                }
                slot.i = -1;
                return { ...request, ...NOTHING_LEFT, headers: {}, body: undefined };
              }
              slot.i = i;
              const headers = { ...(built.body === undefined ? {} : { 'content-type': 'application/json' }), ...built.headers };
              return { ...request, method: built.method, path: built.path, headers, body: built.body };
            },
            onResponse: (status: number, body: string, context: object) => {
              const i = (context as { i?: number }).i ?? -1;
              filler = i < 0;
              if (!filler) options.onResponse?.(i, status, body);
            },
          },
        ],
      },
      (error, done) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done)),
    );
    instance.on('response', (_client, status, _bytes, responseTime) => {
      if (filler) return;
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      // autocannon's own histogram has whole-millisecond resolution: keep every answer's time instead.
      if (ok(status)) okTimes.push(responseTime);
    });
  });
  const elapsedS = (performance.now() - started) / 1000;
  const total = Object.values(statusCounts).reduce((sum, n) => sum + n, 0);
  const okCount = okTimes.length;
  const latency = summarise(okTimes);
  // Cut short: the rates are over the time until the requests ran out (what follows is filler while autocannon stops).
  const duration = exhausted ? Math.max((exhaustedAt - started) / 1000, 1e-3) : Math.max(result.duration, 1e-3);
  return {
    rps: total / duration,
    okRps: okCount / duration,
    p50: latency.p50,
    p99: latency.p99,
    total,
    non2xx: total - Object.entries(statusCounts).reduce((sum, [code, n]) => sum + (code.startsWith('2') ? n : 0), 0),
    errors: result.errors,
    statusCounts,
    exhausted,
    elapsedS,
    built: next,
  };
}
