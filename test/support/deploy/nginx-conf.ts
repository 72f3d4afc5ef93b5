/**
 * deploy/nginx.conf parsed into its directives and blocks (nginx's own
 * grammar: words, quoted strings, `;`, `{ }`, `#` comments), then checked
 * for what the compose shape needs from its load balancer.
 */
import { HTTP_REQUEST_TIMEOUT_MS } from '../../../app/time-bounds.js';

export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  /** The block's directives, for `http { ... }`, `location / { ... }`, `map ... { ... }`. */
  readonly block?: readonly Directive[];
}

export function parseNginx(text: string): Directive[] {
  const tokens = [...text.replace(/#[^\n]*/g, '').matchAll(/"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"']+)/g)].map((m) => ({
    word: m[1] ?? m[2] ?? m[4] ?? m[3]!,
    punctuation: m[3] !== undefined,
  }));
  let at = 0;
  const parseBlock = (): Directive[] => {
    const directives: Directive[] = [];
    while (at < tokens.length) {
      const first = tokens[at++]!;
      if (first.punctuation && first.word === '}') return directives;
      if (first.punctuation) throw new Error(`unexpected "${first.word}"`);
      const args: string[] = [];
      for (;;) {
        const token = tokens[at++];
        if (token === undefined) throw new Error(`"${first.word}" is not terminated`);
        if (!token.punctuation) {
          args.push(token.word);
          continue;
        }
        if (token.word === ';') directives.push({ name: first.word, args });
        else if (token.word === '{') directives.push({ name: first.word, args, block: parseBlock() });
        else throw new Error(`unexpected "}" in "${first.word}"`);
        break;
      }
    }
    return directives;
  };
  return parseBlock();
}

const find = (block: readonly Directive[] | undefined, name: string): Directive[] => (block ?? []).filter((d) => d.name === name);

/** `35s`, `1m`, `500ms`, `30` (seconds): nginx's time values, in ms. */
export function nginxTimeMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text);
  if (match === null) return Number.NaN;
  return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

/** nginx's default for proxy_read_timeout and proxy_send_timeout. */
const NGINX_PROXY_TIMEOUT_DEFAULT_MS = 60_000;

/**
 * What is wrong with the config, each as a sentence; [] when nothing.
 * `app` is where the app listens in the compose network (`app:3000`),
 * `listen` the port the lb service publishes.
 */
export function nginxProblems(conf: readonly Directive[], app: { host: string; port: number }, listen: number): string[] {
  const problems: string[] = [];
  const http = find(conf, 'http')[0]?.block;
  if (http === undefined) return ['no http block'];
  const servers = find(http, 'server');
  const server = servers.find((s) => find(s.block, 'listen').some((l) => l.args[0] === String(listen)));
  if (server === undefined) return [`no server listens on ${listen}`];
  const location = find(server.block, 'location').find((l) => l.args.length === 1 && l.args[0] === '/');
  if (location === undefined) return ['no location /'];

  // Re-resolving: a variable in proxy_pass, looked up through Docker's DNS with a short cache.
  const resolver = [...find(http, 'resolver'), ...find(server.block, 'resolver'), ...find(location.block, 'resolver')][0];
  const valid = resolver?.args.find((arg) => arg.startsWith('valid='));
  if (resolver === undefined || !resolver.args.includes('127.0.0.11')) problems.push("no resolver at Docker's DNS (127.0.0.11)");
  else if (valid === undefined || !(nginxTimeMs(valid.slice('valid='.length)) <= 30_000)) problems.push(`the resolver caches answers longer than 30 s (${valid ?? 'the records TTL'})`);
  const proxyPass = find(location.block, 'proxy_pass')[0]?.args[0] ?? '';
  const variable = /^\$(\w+)$/.exec(proxyPass)?.[1];
  if (variable === undefined) {
    problems.push(`proxy_pass ${proxyPass} is resolved once at start, not per request (no variable)`);
  } else {
    const target = [...find(server.block, 'set'), ...find(location.block, 'set')].find((d) => d.args[0] === `$${variable}`)?.args[1];
    const url = target === undefined ? undefined : new URL(target);
    if (url === undefined || url.hostname !== app.host || Number(url.port) !== app.port) problems.push(`proxy_pass $${variable} is not set to http://${app.host}:${app.port} (${target})`);
  }
  for (const upstream of find(http, 'upstream')) {
    if (find(upstream.block, 'server').some((s) => !s.args.includes('resolve'))) problems.push(`upstream ${upstream.args[0]} has a server resolved once at start`);
  }

  // X-Request-Id: the client's when sent, else nginx's $request_id.
  const header = find(location.block, 'proxy_set_header').find((d) => d.args[0]?.toLowerCase() === 'x-request-id')?.args[1];
  const map = find(http, 'map').find((m) => m.args[1] === header);
  const mapped = new Map((map?.block ?? []).map((entry) => [entry.name, entry.args[0]]));
  if (header === undefined) problems.push('X-Request-Id is not passed to the app');
  else if (header === '$request_id') problems.push("X-Request-Id is always nginx's own: a client's is dropped");
  else if (map === undefined || map.args[0] !== '$http_x_request_id' || mapped.get('default') !== '$http_x_request_id' || mapped.get('') !== '$request_id') {
    problems.push(`X-Request-Id ${header} is not the client's, or $request_id when the client sent none`);
  }

  // Longer than the app's own bound: the app answers (503 at worst) before nginx gives up.
  for (const name of ['proxy_read_timeout', 'proxy_send_timeout']) {
    const value = find(location.block, name)[0]?.args[0] ?? find(server.block, name)[0]?.args[0] ?? find(http, name)[0]?.args[0];
    const ms = value === undefined ? NGINX_PROXY_TIMEOUT_DEFAULT_MS : nginxTimeMs(value);
    if (!(ms > HTTP_REQUEST_TIMEOUT_MS)) problems.push(`${name} ${value} is not above the app's request timeout (${HTTP_REQUEST_TIMEOUT_MS} ms)`);
  }
  return problems;
}
