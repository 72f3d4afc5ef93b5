/**
 * One HTTP request to one instance over a keep-alive agent, as a value:
 * an answer (any status, its JSON body and error code) or no answer (the
 * connection refused or reset, the client's timeout, the run's deadline).
 * Never throws: what to do about each is the caller's decision.
 */
import http from 'node:http';

export interface Answer {
  readonly answered: true;
  readonly status: number;
  /** Parsed JSON, or undefined for an empty or non-JSON body. */
  readonly body: unknown;
  /** `error.code` of an error body (API.md, "Errors"). */
  readonly code: string | undefined;
  /** Retry-After, in ms, when the service sent one (503, IDEMPOTENCY_IN_PROGRESS). */
  readonly retryAfterMs: number | undefined;
}

export interface NoAnswer {
  readonly answered: false;
  /** ECONNREFUSED, ECONNRESET, TIMEOUT, ABORTED, … */
  readonly code: string;
}

export type Result = Answer | NoAnswer;

export interface Request {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

function errorCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = body.error;
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function send(agent: http.Agent, base: URL, request: Request, timeoutMs: number, signal: AbortSignal): Promise<Result> {
  return new Promise<Result>((resolve) => {
    if (signal.aborted) {
      resolve({ answered: false, code: 'ABORTED' });
      return;
    }
    const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
    const headers: Record<string, string> = { ...request.headers };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const outgoing = http.request({ agent, hostname: base.hostname, port: base.port, method: request.method, path: request.path, headers });
    let settled = false;
    const finish = (result: Result): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const giveUp = (code: string): void => {
      finish({ answered: false, code });
      outgoing.destroy();
    };
    const onAbort = (): void => giveUp('ABORTED');
    const timer = setTimeout(() => giveUp('TIMEOUT'), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (error: NodeJS.ErrnoException) => finish({ answered: false, code: error.code ?? error.message }));
    outgoing.on('response', (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', (error: NodeJS.ErrnoException) => finish({ answered: false, code: error.code ?? error.message }));
      incoming.on('end', () => {
        const body = parseJson(Buffer.concat(chunks).toString('utf8'));
        const retryAfter = Number(incoming.headers['retry-after']);
        finish({
          answered: true,
          status: incoming.statusCode ?? 0,
          body,
          code: errorCode(body),
          retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1_000 : undefined,
        });
      });
    });
    outgoing.end(payload);
  });
}
