/**
 * The seat-map read load, in a process of its own so that it neither shares
 * an event loop with the writers and probers (whose timings it would
 * stretch) nor with the instances under load. Configured by CACHE_READER
 * (ReaderConfig as JSON, reader-protocol.ts); prints READER_STARTED once autocannon runs, then
 * one line of ReaderResult JSON, and exits.
 */
import autocannon from 'autocannon';
import { summarise } from '../support.js';
import type { ReaderConfig, ReaderResult } from './reader-protocol.js';
import { READER_STARTED } from './reader-protocol.js';

const config = JSON.parse(process.env.CACHE_READER ?? '') as ReaderConfig;
const okTimes: number[] = [];
let non2xx = 0;
let errors = 0;
const started = performance.now();
const runs = config.urls.map(
  (url) =>
    new Promise<void>((resolve, reject) => {
      if (!new URL(url).hostname.startsWith('127.')) throw new Error(`refusing to load ${url}: 127.0.0.1 only`);
      const instance = autocannon(
        {
          url: `${url}${config.path}`,
          connections: config.connections,
          duration: config.durationS,
          ...(config.rate === undefined ? {} : { overallRate: Math.max(1, config.rate / config.urls.length) }),
        },
        (error, done) => {
          if (error) reject(error instanceof Error ? error : new Error(String(error)));
          else {
            errors += done.errors;
            resolve();
          }
        },
      );
      instance.on('response', (_client, status, _bytes, responseTime) => {
        if (status >= 200 && status < 300) okTimes.push(responseTime);
        else non2xx++;
      });
    }),
);
process.stdout.write(`${READER_STARTED}\n`);
await Promise.all(runs);
const latency = summarise(okTimes);
const result: ReaderResult = { ok: okTimes.length, non2xx, errors, elapsedS: (performance.now() - started) / 1000, p50: latency.p50, p99: latency.p99 };
process.stdout.write(`${JSON.stringify(result)}\n`);
