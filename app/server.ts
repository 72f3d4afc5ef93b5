import type { AddressInfo } from 'node:net';
import type { ServerType } from '@hono/node-server';
import { createAdaptorServer } from '@hono/node-server';
import type { Application } from './application.js';
import { createApplication } from './application.js';
import type { Config } from './config.js';
import { InFlight } from './in-flight.js';
import { createLogger } from './observability/logger.js';
import { boundAddress, startingFields } from './startup-log.js';
import { StartupError } from './startup-error.js';
import { TOKENS } from './tokens.js';
// The bounds and why they have their values: app/time-bounds.ts, "Shutdown".
import { SHUTDOWN_CLOSE_MS, SHUTDOWN_DRAIN_MS } from './time-bounds.js';

export interface RunningServer {
  /** `http://127.0.0.1:<port>`, with the port actually bound (PORT=0 picks a free one). */
  readonly url: string;
  readonly application: Application;
  /** The Node server, for who needs its events or connection counts (tests, the benchmark). */
  readonly server: ServerType;
  /**
   * Graceful stop, bounded: stop accepting connections, let requests in
   * flight finish (at most `shutdownTimeoutMs`, then cut their connections),
   * then close the jobs, Redis and the database pool (at most
   * SHUTDOWN_CLOSE_MS, leaving behind what does not end). Resolves within
   * both bounds. Safe to call twice. main.ts calls it on SIGTERM and SIGINT.
   */
  close(): Promise<void>;
}

export interface ServerOptions {
  /** The drain bound; SHUTDOWN_DRAIN_MS unless set. */
  readonly shutdownTimeoutMs?: number;
}

/**
 * Starts the application on `config.port`; for main.ts, tests and the
 * benchmark. The port is bound first: a busy port is refused (StartupError,
 * one line naming it) before the data folder is locked, opened or seeded.
 * Until the application is ready, requests get 503 SERVICE_UNAVAILABLE.
 */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const inFlight = new InFlight();
  let application: Application | undefined;
  let closing: Promise<void> | undefined;
  const server = createAdaptorServer({
    fetch: (request, env) => {
      const ready = application;
      if (ready === undefined) return starting();
      return inFlight.track(async () => {
        const response = await ready.app.fetch(request, env);
        return closing === undefined ? response : lastOnItsConnection(response);
      });
    },
  });
  await listen(server, config.port);
  // Logged once the data folder is ours: a second process on it is refused having logged nothing.
  const onStarting = () => createLogger(config.logLevel).info(startingFields(config), 'starting');
  try {
    application = await createApplication(config, { onStarting });
  } catch (error) {
    await new Promise((resolve) => {
      server.close(resolve);
      if ('closeAllConnections' in server) server.closeAllConnections();
    });
    throw error;
  }
  const running = application;
  const address = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${address.port}`;
  running.logger.info({ url, bound: boundAddress(address) }, 'listening');

  const close = () =>
    (closing ??= (async () => {
      const timeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_DRAIN_MS;
      const deadline = Date.now() + timeoutMs;
      // A live seat-map stream never finishes on its own: end every one now, or each would hold the drain to its bound.
      running.container.get(TOKENS.SeatStreams).close();
      await drain(server, timeoutMs);
      // A handler whose client hung up is still running: let it finish on live connections.
      if (!(await inFlight.idle(Math.max(0, deadline - Date.now())))) {
        running.logger.warn({ handlers: inFlight.count }, 'drain bound reached: closing Redis and the database under handlers still running');
      }
      await running.close(SHUTDOWN_CLOSE_MS);
      running.logger.info('stopped');
    })());
  return { url, application: running, server, close };
}

/**
 * While draining, an answer tells its client not to send on this connection
 * again (`Connection: close`), so that the connection ends with the answer.
 * A kept-alive connection closed by the drain's sweep instead could meet a
 * request the client sent at that moment: a reset, with the client left
 * not knowing whether its request ran.
 */
function lastOnItsConnection(response: Response): Response {
  try {
    response.headers.set('Connection', 'close');
    return response;
  } catch {
    // Headers of some responses are immutable: the same answer, with headers of its own.
    const headers = new Headers(response.headers);
    headers.set('Connection', 'close');
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

/** A request that arrives while the service starts is told to come back (the contract's 503), not left waiting on a start that may fail. */
function starting(): Response {
  return Response.json({ error: { code: 'SERVICE_UNAVAILABLE', message: 'starting' } }, { status: 503, headers: { 'Retry-After': '1' } });
}

/** Binds the port; a busy or forbidden one becomes a StartupError naming it, not an EADDRINUSE stack. */
function listen(server: ServerType, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') reject(new StartupError(`port ${port} is in use by another process: stop it or set PORT to a free one (0 picks any)`, { cause: error }));
      else if (error.code === 'EACCES') reject(new StartupError(`port ${port} needs privileges this process lacks: set PORT above 1023`, { cause: error }));
      else reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port);
  });
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
