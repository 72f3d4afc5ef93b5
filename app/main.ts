import { ConfigError, loadConfig } from './config.js';
import type { RunningServer } from './server.js';
import { startServer } from './server.js';
import { StartupError } from './startup-error.js';
import { SHUTDOWN_EXIT_MS } from './time-bounds.js';

/*
 * The process: configuration, start, and a bounded stop on SIGTERM or
 * SIGINT. `npm start` execs node (package.json), so a SIGTERM sent to npm is
 * forwarded by npm straight to this process; through a shell that did not
 * exec, the shell would die and leave this process running.
 */
let server: RunningServer | undefined;
let stopping = false;

function stop(running: RunningServer, reason: string): void {
  running.application.logger.info({ reason }, 'shutting down');
  running.close().then(
    () => process.exit(0),
    (error: unknown) => {
      running.application.logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
}

// Listening from the start: a signal while the service starts stops it once started (or at the hard bound).
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    // Once only: Ctrl-C under npm arrives twice, from the terminal and forwarded by npm.
    if (stopping) return;
    stopping = true;
    // The hard bound, whatever is still pending (a handler, a pool waiting for a stuck query): exiting
    // closes every socket, and Postgres rolls back the transactions of connections that are gone.
    setTimeout(() => {
      server?.application.logger.error({ boundMs: SHUTDOWN_EXIT_MS }, 'shutdown bound reached: exiting');
      process.exit(1);
    }, SHUTDOWN_EXIT_MS).unref();
    if (server !== undefined) stop(server, signal);
  });
}

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

try {
  server = await startServer(config);
} catch (error) {
  // A busy port, a data folder in use: one line saying what, no stack.
  if (!(error instanceof StartupError)) throw error;
  console.error(error.message);
  process.exit(1);
}
if (stopping) stop(server, 'signal during start');
