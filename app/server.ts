import type { AddressInfo } from 'node:net';
import type { ServerType } from '@hono/node-server';
import { serve } from '@hono/node-server';
import type { Application } from './application.js';
import { createApplication } from './application.js';
import type { Config } from './config.js';
import { InFlight } from './in-flight.js';

export interface RunningServer {
  /** `http://127.0.0.1:<port>`, with the port actually bound (PORT=0 picks a free one). */
  readonly url: string;
  readonly application: Application;
  /** The Node server, for who needs its events or connection counts (tests, the benchmark). */
  readonly server: ServerType;
  /**
   * Graceful stop: stop accepting connections, let requests in flight finish
   * (at most `shutdownTimeoutMs`, then cut them), then close Redis and the
   * database pool. Safe to call twice.
   */
  close(): Promise<void>;
}

export interface ServerOptions {
  readonly shutdownTimeoutMs?: number;
}

/** Starts the application on `config.port`; for main.ts, tests and the benchmark. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const application = await createApplication(config);
  const inFlight = new InFlight();
  let server: ServerType;
  try {
    server = await new Promise<ServerType>((resolve, reject) => {
      const started = serve({ fetch: (request, env) => inFlight.track(async () => application.app.fetch(request, env)), port: config.port }, () => resolve(started));
      started.once('error', reject);
    });
  } catch (error) {
    await application.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  application.logger.info({ url }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
      const deadline = Date.now() + timeoutMs;
      await drain(server, timeoutMs);
      // A handler whose client hung up is still running: let it finish on live connections.
      if (!(await inFlight.idle(Math.max(0, deadline - Date.now())))) {
        application.logger.warn({ handlers: inFlight.count }, 'closing with handlers still running');
      }
      await application.close();
      application.logger.info('stopped');
    })());
  return { url, application, server, close };
}

/** Resolves once every connection is gone: idle keep-alive ones at once, busy ones when their response is sent, all of them at the deadline. */
function drain(server: ServerType, timeoutMs: number): Promise<void> {
  if (!('closeIdleConnections' in server)) return new Promise((resolve) => server.close(() => resolve()));
  return new Promise((resolve) => {
    const sweeper = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearInterval(sweeper);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
