/**
 * Child process for the HTTP benchmarks: the real service, configured only
 * through the environment (as in production), on PORT=0. Prints
 * `BENCH_READY <url>` on stdout once listening; SIGTERM closes it gracefully.
 */
import { loadConfig } from '../app/config.js';
import { startServer } from '../app/server.js';
import { READY_MARK } from './support.js';

const server = await startServer(loadConfig(process.env), { shutdownTimeoutMs: 2_000 });
process.stdout.write(`${READY_MARK}${server.url}\n`);
process.once('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
