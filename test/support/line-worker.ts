/**
 * A worker process a test steers while it runs: it prints events on
 * stdout, one JSON object per line, and reads commands on stdin, one JSON
 * object per line. For drills that must tell running processes what to do
 * next and kill one of them at a chosen moment; spawn-worker.ts is for a
 * worker whose last line is all a test needs.
 *
 * Waiting is on the events themselves: `next` resolves when a matching line
 * arrives (or has arrived), never after a sleep.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LineWorker<E> {
  readonly pid: number;
  /** Every event printed so far, in order. */
  readonly events: readonly E[];
  /** The first event, printed already or to come, that `matches`; rejects naming `what` at the deadline or when the process exits first. */
  next(what: string, matches: (event: E) => boolean, timeoutMs: number): Promise<E>;
  /** Writes one command line to the worker's stdin. */
  send(command: unknown): void;
  /** Sends `signal`, and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Resolves when the process exits, with how. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  readonly stderr: () => string;
}

/** Runs `node --import tsx <script>` with `env` on top of this process's environment. */
export function startLineWorker<E>(scriptUrl: URL, env: Record<string, string>): LineWorker<E> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(scriptUrl)], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: E[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let partial = '';
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const wakeAll = (): void => waiters.forEach((wake) => wake());

  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        events.push(JSON.parse(line) as E);
      } catch {
        stderr += `(not JSON on stdout) ${line}\n`;
      }
    }
    wakeAll();
  });
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  // A worker that is killed or exits closes its stdin: writing to it then must not crash the test.
  child.stdin!.on('error', () => undefined);
  // 'close', not 'exit': it comes once stdout is drained too, so that no last line is missed.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      gone = { code, signal };
      resolve(gone);
      wakeAll();
    }),
  );
  // A test that fails half-way must not leave workers behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  return {
    pid: child.pid!,
    events,
    next: (what, matches, timeoutMs) =>
      new Promise<E>((resolve, reject) => {
        let seen = 0;
        const wake = (): void => {
          for (; seen < events.length; seen++) {
            const event = events[seen] as E;
            if (matches(event)) return finish(() => resolve(event));
          }
          if (gone !== undefined) finish(() => reject(new Error(`${what}: the worker exited (${JSON.stringify(gone)}) first: ${stderr}`)));
        };
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(wake);
          settle();
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`${what}: not within ${timeoutMs} ms: ${stderr}`))), timeoutMs);
        waiters.add(wake);
        wake();
      }),
    send: (command) => void child.stdin!.write(`${JSON.stringify(command)}\n`),
    kill: async (signal) => {
      if (gone === undefined) child.kill(signal);
      await exited;
    },
    exited,
    stderr: () => stderr,
  };
}
