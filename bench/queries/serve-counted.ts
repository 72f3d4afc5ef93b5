/**
 * The service as bench/serve.ts starts it, with every statement its pool
 * sends counted (pg's Client.query, wrapped before the service loads): the
 * pool's own count of database queries, BEGIN and COMMIT included, since
 * pg_stat_statements needs a server restart to load and the shared Postgres
 * is not ours to restart. The counts are served as JSON by a second,
 * loopback-only HTTP server; its port rides on the ready line as the URL's
 * fragment (`BENCH_READY http://127.0.0.1:<service>#<counter port>`), so the
 * parent learns both from startChild without a second channel.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { loadConfig } from '../../app/config.js';
import { startServer } from '../../app/server.js';
import { READY_MARK } from '../support.js';
import { statementFamily } from './statement-family.js';

const counts: Record<string, number> = {};
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function countedQuery(this: pg.Client, ...args: unknown[]) {
  const first = args[0];
  const text = typeof first === 'string' ? first : typeof (first as { text?: unknown })?.text === 'string' ? (first as { text: string }).text : '';
  const family = statementFamily(text);
  counts[family] = (counts[family] ?? 0) + 1;
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;

const counter = http.createServer((_request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(counts));
});
await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));
const counterPort = (counter.address() as AddressInfo).port;

const server = await startServer(loadConfig(process.env), { shutdownTimeoutMs: 2_000 });
process.stdout.write(`${READY_MARK}${server.url}#${counterPort}\n`);
process.once('SIGTERM', () => {
  counter.close();
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
