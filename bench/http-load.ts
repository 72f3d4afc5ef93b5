import autocannon from 'autocannon';
import { summarise } from './support.js';

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly durationS: number;
  readonly method?: 'GET' | 'POST';
  /** The path of every request; or `nextPath` for one per request. */
  readonly path?: string;
  /** Called once per request: a rotating path (a distinct user each time). */
  readonly nextPath?: () => string;
  readonly body?: string;
}

export interface LoadResult {
  /** Every answered request, per second. */
  readonly rps: number;
  /** 2xx answers per second: the work actually done. */
  readonly okRps: number;
  /** Latency of 2xx answers, ms, from every response (not autocannon's whole-ms histogram). */
  readonly p50: number;
  readonly p99: number;
  readonly total: number;
  readonly non2xx: number;
  /** Connection errors and timeouts. */
  readonly errors: number;
  readonly statusCounts: Readonly<Record<string, number>>;
}

/**
 * autocannon in this process, against 127.0.0.1 only. The server under load
 * is always a child process: it gets its own event loop (and core) instead of
 * sharing one with the load generator.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  if (!new URL(options.url).hostname.startsWith('127.')) throw new Error(`refusing to load ${options.url}: 127.0.0.1 only`);
  const { nextPath } = options;
  // autocannon's own latency histogram has whole-millisecond resolution, too coarse
  // for sub-millisecond routes: keep every 2xx response time (hrtime, fractional ms) instead.
  const okTimes: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationS,
        requests: [
          {
            method: options.method ?? 'GET',
            path: options.path ?? '/',
            headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
            body: options.body,
            // setupRequest runs before every request: a fresh path each time. (autocannon calls it if the key is there at all.)
            ...(nextPath === undefined ? {} : { setupRequest: (request: autocannon.Request) => ({ ...request, path: nextPath() }) }),
          },
        ],
      },
      (error, done) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) okTimes.push(responseTime);
    });
  });
  const latency = summarise(okTimes);
  const statusCounts = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]));
  const total = Object.values(statusCounts).reduce((sum, n) => sum + n, 0);
  return {
    rps: total / result.duration,
    okRps: result['2xx'] / result.duration,
    p50: latency.p50,
    p99: latency.p99,
    total,
    non2xx: result.non2xx,
    errors: result.errors,
    statusCounts,
  };
}
