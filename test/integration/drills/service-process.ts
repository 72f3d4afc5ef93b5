/**
 * The service as an operator runs it, in an OS process of its own (`node
 * --import tsx app/main.ts`, or `npm start`), for the drills that need a
 * real exit, a real signal, or a second process: what it prints, when it
 * listens, when and how it exits.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** The URL from the 'listening' log line, once it is printed (the line pino writes once the service is ready). */
  readonly listening: (timeoutMs: number) => Promise<string>;
  /** How the process ended, or 'still running' after `timeoutMs`. */
  readonly exited: (timeoutMs: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'>;
  /** SIGKILL to this process and, for `npm start`, to the node it started, if still running. For cleanup. */
  readonly kill: () => Promise<void>;
}

/**
 * The service's own variables, dropped from the inherited environment: CI
 * exports DATABASE_URL and REDIS_URL for the tests, and a child that inherited
 * them would start distributed instead of the mode the drill asks for.
 */
const SERVICE_VARIABLES = /^(DATABASE_URL|REDIS_URL|REDIS_PREFIX|DATA_DIR|PORT|AUTH_[A-Z_]+|ADMIN_TOKEN|METRICS_TOKEN)$/;

function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !SERVICE_VARIABLES.test(entry[0])));
}

/** Starts `node --import tsx app/main.ts` (or `npm start` with `viaNpm`) with `env` on top of this process's environment, minus the service's own variables. */
export function startService(env: Record<string, string>, options: { viaNpm?: boolean } = {}): ServiceProcess {
  const [command, args] = options.viaNpm === true ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx', 'app/main.ts']];
  const child = spawn(command as string, args as string[], { cwd: ROOT, env: { ...inheritedEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const changed = new Set<() => void>();
  const notify = (): void => changed.forEach((wake) => wake());
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    notify();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    notify();
  });
  child.once('exit', (code, signal) => {
    exit = { code, signal };
    notify();
  });

  /** Resolves with `check()`'s first defined answer, re-checked on every output and on exit, or undefined at the deadline. */
  const until = <T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> =>
    new Promise((resolve) => {
      const wake = (): void => {
        const found = check();
        if (found === undefined) return;
        finish(found);
      };
      const finish = (value: T | undefined): void => {
        clearTimeout(timer);
        changed.delete(wake);
        resolve(value);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      changed.add(wake);
      wake();
    });

  const listeningUrl = (): string | undefined => {
    for (const line of stdout.split('\n')) {
      if (!line.includes('"listening"')) continue;
      const parsed = JSON.parse(line) as { msg?: string; url?: string };
      if (parsed.msg === 'listening') return parsed.url;
    }
    return undefined;
  };

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    listening: async (timeoutMs) => {
      const url = await until(() => listeningUrl() ?? (exit === undefined ? undefined : null), timeoutMs);
      if (typeof url !== 'string') throw new Error(`the service did not listen (${exit === undefined ? 'timeout' : `exited ${JSON.stringify(exit)}`}): ${stdout} ${stderr}`);
      return url;
    },
    exited: async (timeoutMs) => (await until(() => exit, timeoutMs)) ?? 'still running',
    kill: async () => {
      const pids = [...(await childPids(child.pid!)), child.pid!];
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}

/** The children of `pid` (Linux: /proc). For `npm start`: the node process npm started. */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.trim() === '' ? [] : text.trim().split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** Whether a process with this pid exists. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
