/**
 * A redis-server of the sell-out's own, for `--fault redis-restart`: the
 * shared Redis is never stopped. It persists the way docker-compose runs
 * Redis (AOF, fsync every second; no RDB snapshots), in a temporary folder,
 * on a free port, so that a restart on the same folder brings the line back.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Loading an AOF of a sale takes milliseconds; this only catches a server that cannot start. */
const READY_WITHIN_MS = 10_000;

export interface OwnRedis {
  readonly url: string;
  readonly port: number;
  /** `redis-cli shutdown` (which fsyncs the AOF), and waits for the process to end. */
  shutdown(): Promise<void>;
  /** Starts it again on the same port and folder; resolves once it has loaded its data and answers PING. */
  start(): Promise<void>;
  /** Ends it and deletes its folder. */
  remove(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'sellout-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  // A sell-out that dies on an uncaught error must not leave a redis-server behind.
  const killOnExit = (): void => void child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const start = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir];
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    child = started;
    await untilReady(port, started);
  };
  const shutdown = async (): Promise<void> => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    await run('redis-cli', ['-p', String(port), 'shutdown']).catch(() => running.kill('SIGTERM'));
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    shutdown,
    start,
    remove: async () => {
      await shutdown();
      process.off('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/** PING until it answers PONG (not LOADING), or fail when the process exits or the deadline passes. */
async function untilReady(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    const answer = await run('redis-cli', ['-p', String(port), 'ping']).then(
      ({ stdout }) => stdout.trim(),
      () => '',
    );
    if (answer === 'PONG') return;
    await sleep(50); // a poll interval: the loop waits for the condition, not for a fixed time
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer within ${READY_WITHIN_MS} ms`);
}
