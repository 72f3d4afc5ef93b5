/**
 * A redis-server of a drill's own, on a free port, so that a drill can stop,
 * pause and restart it without touching the shared Redis. By default nothing
 * is kept on disk (`--save "" --appendonly no`); with `persistence: 'aof'` it
 * runs as docker-compose runs it (`--appendonly yes --appendfsync everysec`),
 * in a temporary folder it starts again from. `remove()` ends it and deletes
 * the folder; a test process that dies first kills it on its way out.
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

export interface DrillRedisServer {
  readonly url: string;
  readonly port: number;
  /** Ends the server (SIGTERM) and waits for it to exit: connections are refused from then on. */
  stop(): Promise<void>;
  /** `redis-cli shutdown`, which fsyncs the AOF when it is on, and waits for the process to end. */
  shutdown(): Promise<void>;
  /** Starts it again on the same port and folder (empty, unless its AOF is there) and waits until it answers PING. */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers (a hung Redis). */
  pause(): void;
  /** SIGCONT: it answers again, running what it was sent meanwhile. */
  resume(): void;
  /** Stops it (resuming it first if paused) and deletes its folder. */
  remove(): Promise<void>;
}

const READY_WITHIN_MS = 10_000;

/** Starts a redis-server on a port the kernel just gave out (`--port 0` would disable TCP in Redis). */
export async function startDrillRedisServer(options: { readonly persistence?: 'aof' | 'none' } = {}): Promise<DrillRedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'drill-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let paused = false;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const start = async () => {
    const persistence = options.persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir], {
      stdio: 'ignore',
    });
    child = started;
    await untilAnswers(port, started);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    if (paused) running.kill('SIGCONT');
    paused = false;
    running.kill('SIGTERM');
    await exited;
  };
  const shutdown = async () => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    // The server closes the connection as it goes: redis-cli may report that; the exit is what counts.
    await run('redis-cli', ['-p', String(port), 'shutdown']).catch(() => undefined);
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    shutdown,
    pause: () => {
      child?.kill('SIGSTOP');
      paused = true;
    },
    resume: () => {
      child?.kill('SIGCONT');
      paused = false;
    },
    remove: async () => {
      await stop();
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
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls with PING until the server answers +PONG, or fails when it exits or the deadline passes. */
async function untilAnswers(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    if (await pings(port)) return;
    await sleep(20); // a poll interval, not a synchronisation: the loop waits for the condition
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer within ${READY_WITHIN_MS} ms`);
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
