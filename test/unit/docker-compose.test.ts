/**
 * The deployment files, checked without a Docker engine: docker-compose.yml
 * (interpolated as Compose does, the app's environment through the
 * service's own config loader), deploy/nginx.conf (parsed), the Dockerfile
 * (parsed into stages). Each check is shown able to fail: the same files
 * with one point broken (most of them the way they once were) must be
 * reported, naming that point.
 *
 * Redis in compose must also keep the waiting line, the ACTIVE tokens and
 * the fencing counter across a restart (AOF, fsynced every second, on a
 * volume). The drill that shows what AOF keeps and what is lost without it
 * is test/integration/drills/redis-restart.drill.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Compose, ComposeService } from '../support/deploy/compose-file.js';
import { composeProblems, environmentOf, interpolate, interpolateAll, MissingVariable, requiredVariables } from '../support/deploy/compose-file.js';
import type { Stage } from '../support/deploy/dockerfile.js';
import { dockerfileProblems, healthcheckOf, parseDockerfile } from '../support/deploy/dockerfile.js';
import { nginxProblems, parseNginx } from '../support/deploy/nginx-conf.js';

const read = (file: string) => readFile(new URL(`../../${file}`, import.meta.url), 'utf8');
const composeText = await read('docker-compose.yml');
const nginxText = await read('deploy/nginx.conf');
const dockerfileText = await read('Dockerfile');
const buildConfig = JSON.parse(await read('tsconfig.build.json')) as { compilerOptions: { outDir: string } };

/** Where the compiled entry point lands: tsconfig.build.json's outDir, rootDir `.`. */
const ENTRY = `${buildConfig.compilerOptions.outDir}/app/main.js`;
const APP = { host: 'app', port: 3000 };
const LB_PORT = 3000;

/** Every variable the file requires, set as an operator would (hex: URL-safe). */
const ENV: Record<string, string> = Object.fromEntries(requiredVariables(composeText).map((name, i) => [name, `${name.toLowerCase()}-${i}`.padEnd(40, '0')]));

const compose = (): Compose => structuredClone(parse(composeText) as Compose);
const dockerfile = (text = dockerfileText): Stage[] => parseDockerfile(text);
const withService = (c: Compose, name: string, change: (s: ComposeService) => ComposeService): Compose => ({ ...c, services: { ...c.services, [name]: change(c.services[name]!) } });
const withEnv = (c: Compose, name: string, env: Record<string, string>): Compose => withService(c, name, (s) => ({ ...s, environment: { ...environmentOf(s), ...env } }));
const composeCheck = (c: Compose, text = composeText) => composeProblems(text, c, ENV, healthcheckOf(dockerfile()));

/** A line of a file replaced, failing loudly if the line is not there (a mutant of nothing proves nothing). */
function replaced(text: string, from: string | RegExp, to: string): string {
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`mutation did not apply: ${String(from)}`);
  return changed;
}

/** `--name value` pairs of a redis-server command line (the last one wins, as in Redis). */
function redisOptions(command: string | readonly string[] | undefined): Map<string, string> {
  const args = typeof command === 'string' ? command.split(/\s+/) : [...(command ?? [])];
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg.startsWith('--')) options.set(arg.slice(2).toLowerCase(), (args[i + 1] ?? '').toLowerCase());
  }
  return options;
}

describe('docker-compose.yml', () => {
  it('runs Redis with AOF, fsynced every second, in /data on a named volume', () => {
    const parsed = compose();
    const redis = parsed.services['redis'];
    expect(redis, 'a redis service').toBeDefined();
    const options = redisOptions(redis?.command);
    expect(options.get('appendonly')).toBe('yes');
    expect(options.get('appendfsync')).toBe('everysec');
    // The image's working directory is /data; a --dir elsewhere would leave the volume empty.
    expect(options.has('dir') ? options.get('dir') : '/data').toBe('/data');
    const dataVolume = (redis?.volumes ?? []).map((mount) => mount.split(':')).find(([, target]) => target === '/data');
    expect(dataVolume, 'a volume mounted on /data').toBeDefined();
    const [source = ''] = dataVolume ?? [];
    // A named volume (declared at the top level) outlives `docker compose down`; a path would be a bind mount, fine too.
    if (!source.startsWith('.') && !source.startsWith('/')) expect(Object.keys(parsed.volumes ?? {})).toContain(source);
  });

  it('refuses to start without any of its secrets, each named', () => {
    expect(requiredVariables(composeText)).toEqual(expect.arrayContaining(['ADMIN_TOKEN', 'AUTH_JWT_SECRET', 'METRICS_TOKEN', 'REDIS_PASSWORD', 'POSTGRES_PASSWORD']));
    for (const name of requiredVariables(composeText)) {
      for (const missing of [undefined, '']) {
        const env = { ...ENV, [name]: missing };
        expect(() => interpolateAll(compose(), env), `${name} ${missing === undefined ? 'unset' : 'empty'}`).toThrow(MissingVariable);
      }
    }
  });

  it('interpolates as Compose does', () => {
    expect(interpolate('a${X:?need X}b', { X: '1' })).toBe('a1b');
    expect(() => interpolate('${X:?need X}', { X: '' })).toThrow('X: need X');
    expect(interpolate('${X:-change-me}', {})).toBe('change-me');
    expect(interpolate('${X-d}', { X: '' })).toBe('');
    expect(interpolate('$${X}', { X: '1' })).toBe('${X}');
  });

  it('is a production shape: secrets required, nothing but nginx published, Redis with a password, health-gated start, a stop grace above the drain', () => {
    expect(composeCheck(compose())).toEqual([]);
  });

  // Each point of the check, broken once: the check must name it.
  const mutants: [string, () => string[], RegExp][] = [
    ['ADMIN_TOKEN with a default, as it once was', () => composeCheck(withEnv(compose(), 'app', { ADMIN_TOKEN: '${ADMIN_TOKEN:-change-me}' }), composeText.replace(/\$\{ADMIN_TOKEN:\?[^}]*\}/g, '${ADMIN_TOKEN:-change-me}')), /ADMIN_TOKEN is not required/],
    ['AUTH_JWT_SECRET optional', () => composeCheck(compose(), composeText.replace(/\$\{AUTH_JWT_SECRET:\?[^}]*\}/g, '${AUTH_JWT_SECRET}')), /AUTH_JWT_SECRET is not required/],
    ['Postgres published on 5432', () => composeCheck(withService(compose(), 'postgres', (s) => ({ ...s, ports: ['5432:5432'] }))), /postgres publishes ports/],
    ['Redis published on 6379', () => composeCheck(withService(compose(), 'redis', (s) => ({ ...s, ports: ['6379:6379'] }))), /redis publishes ports/],
    ['Redis without a password', () => composeCheck(withService(compose(), 'redis', (s) => ({ ...s, command: ['redis-server', '--appendonly', 'yes'] }))), /without --requirepass/],
    ['REDIS_URL without the password', () => composeCheck(withEnv(compose(), 'app', { REDIS_URL: 'redis://redis:6379' })), /REDIS_URL does not reach redis with the password/],
    ['Redis healthcheck without the password', () => composeCheck(withService(compose(), 'redis', (s) => ({ ...s, environment: {} }))), /does not PING with the password/],
    ['Redis healthcheck trusting the exit code', () => composeCheck(withService(compose(), 'redis', (s) => ({ ...s, healthcheck: { test: ['CMD', 'redis-cli', 'ping'] } }))), /does not check for PONG/],
    ['SEED_DEMO on', () => composeCheck(withEnv(compose(), 'app', { SEED_DEMO: 'true' })), /seeds the demo catalog/],
    ['SEED_DEMO unset (defaults to true)', () => composeCheck(withService(compose(), 'app', (s) => ({ ...s, environment: Object.fromEntries(Object.entries(environmentOf(s)).filter(([k]) => k !== 'SEED_DEMO')) }))), /seeds the demo catalog/],
    ['the app healthcheck disabled', () => composeCheck(withService(compose(), 'app', (s) => ({ ...s, healthcheck: { disable: true } }))), /healthcheck does not probe \/health/],
    ['no healthcheck in the image either', () => composeProblems(composeText, compose(), ENV, undefined), /healthcheck does not probe \/health/],
    ['lb started before the app is healthy', () => composeCheck(withService(compose(), 'lb', (s) => ({ ...s, depends_on: ['app'] }))), /lb does not wait for app/],
    ['the app started before Redis is healthy', () => composeCheck(withService(compose(), 'app', (s) => ({ ...s, depends_on: { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_started' } } }))), /app does not wait for redis/],
    ["Docker's default stop grace (10 s, the app's own bound)", () => composeCheck(withService(compose(), 'app', (s) => ({ ...s, stop_grace_period: undefined }))), /stop_grace_period \(10000 ms\)/],
    ['a config the app refuses (a short ADMIN_TOKEN)', () => composeCheck(withEnv(compose(), 'app', { ADMIN_TOKEN: 'short' })), /would not start/],
  ];
  it.each(mutants)('names a broken point: %s', (_name, check, expected) => {
    expect(check()).toContainEqual(expect.stringMatching(expected));
  });
});

describe('deploy/nginx.conf', () => {
  const check = (text: string) => nginxProblems(parseNginx(text), APP, LB_PORT);

  it('re-resolves the app through Docker DNS, passes X-Request-Id, outwaits the app', () => {
    expect(check(nginxText)).toEqual([]);
  });

  it('listens where compose publishes it and proxies where the app listens', () => {
    const lb = compose().services['lb'];
    expect(lb?.ports).toContain(`${LB_PORT}:${LB_PORT}`);
    expect(lb?.volumes?.some((v) => v.startsWith('./deploy/nginx.conf:/etc/nginx/nginx.conf'))).toBe(true);
  });

  const mutants: [string, string, RegExp][] = [
    ['a name in proxy_pass, resolved once at start (as it once was)', replaced(nginxText, /proxy_pass \$app;/, 'proxy_pass http://app:3000;'), /resolved once at start/],
    ['an upstream block with a static server', replaced(nginxText, 'server_tokens off;', 'server_tokens off; upstream ticketing { server app:3000; }'), /upstream ticketing has a server resolved once/],
    ['no resolver', replaced(nginxText, /resolver 127\.0\.0\.11[^;]*;/, ''), /no resolver/],
    ['answers cached for the records TTL', replaced(nginxText, 'valid=10s', ''), /caches answers longer/],
    ['the variable pointing elsewhere', replaced(nginxText, 'set $app http://app:3000;', 'set $app http://app:8080;'), /not set to http:\/\/app:3000/],
    ["X-Request-Id always nginx's (as it once was)", replaced(nginxText, 'X-Request-Id $forwarded_request_id', 'X-Request-Id $request_id'), /a client's is dropped/],
    ['X-Request-Id not passed', replaced(nginxText, /proxy_set_header X-Request-Id [^;]*;/, ''), /not passed/],
    ['the map inverted', replaced(nginxText, /default \$http_x_request_id;\s*""\s*\$request_id;/, 'default $request_id; "" $http_x_request_id;'), /not the client's/],
    ['a read timeout below the app’s', replaced(nginxText, 'proxy_read_timeout 35s', 'proxy_read_timeout 20s'), /proxy_read_timeout 20s is not above/],
    ['a send timeout below the app’s', replaced(nginxText, 'proxy_send_timeout 35s', 'proxy_send_timeout 25s'), /proxy_send_timeout 25s is not above/],
    ['listening elsewhere', replaced(nginxText, 'listen 3000;', 'listen 80;'), /no server listens on 3000/],
  ];
  it.each(mutants)('names a broken point: %s', (_name, text, expected) => {
    expect(check(text)).toContainEqual(expect.stringMatching(expected));
  });
});

describe('Dockerfile', () => {
  const check = (text: string) => dockerfileProblems(dockerfile(text), { entry: ENTRY, port: APP.port });

  it('is multi-stage, runs the compiled output as node (non-root) with a writable DATA_DIR, healthchecks /health', () => {
    expect(check(dockerfileText)).toEqual([]);
    expect(dockerfile().length).toBeGreaterThanOrEqual(2);
  });

  it('keeps the build context free of secrets and local state', async () => {
    const ignored = (await read('.dockerignore')).split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['.env', 'node_modules', 'data', 'dist']));
  });

  const mutants: [string, string, RegExp][] = [
    ['one stage running TypeScript through tsx (as it once was)', `FROM node:22-slim\nWORKDIR /app\nENV DATA_DIR=/data\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev\nCOPY app ./app\nRUN mkdir -p /data && chown node:node /data\nEXPOSE 3000\nUSER node\nCMD ["node", "--import", "tsx", "app/main.ts"]\n`, /one stage/],
    ['dev dependencies in the final stage', replaced(dockerfileText, /(FROM node:22-slim\n[\s\S]*)npm ci --omit=dev/, '$1npm ci'), /npm ci --omit=dev only/],
    ['running as root', replaced(dockerfileText, 'USER node', 'USER root'), /runs as root/],
    ['no USER at all', replaced(dockerfileText, 'USER node\n', ''), /runs as root \(USER unset\)/],
    ['a data folder node cannot write (as it once was)', replaced(dockerfileText, /RUN mkdir -p \/data && chown node:node \/data\n/, ''), /DATA_DIR \(\/data\) is not a folder owned by node/],
    ['the folder chowned after the USER switch', replaced(dockerfileText, /RUN mkdir -p \/data && chown node:node \/data\nUSER node\n/, 'USER node\nRUN mkdir -p /data && chown node:node /data\n'), /not a folder owned by node/],
    ['shell-form CMD', replaced(dockerfileText, /CMD \["node", "dist\/app\/main.js"\]/, 'CMD node dist/app/main.js'), /not in exec form/],
    ['npm as PID 1', replaced(dockerfileText, /CMD \["node", "dist\/app\/main.js"\]/, 'CMD ["npm", "start"]'), /does not run dist\/app\/main.js with node/],
    ['the loader at run time', replaced(dockerfileText, /CMD \["node", "dist\/app\/main.js"\]/, 'CMD ["node", "--import", "tsx", "dist/app/main.js"]'), /does not run/],
    ['no HEALTHCHECK', replaced(dockerfileText, /HEALTHCHECK[^\n]*\\\n[^\n]*\n/, ''), /no HEALTHCHECK/],
    ['a HEALTHCHECK with curl, absent from node:slim', replaced(dockerfileText, /CMD \["node", "-e"[^\n]*\]/, 'CMD ["curl", "-f", "http://127.0.0.1:3000/health"]'), /needs curl/],
    ['nothing exposed', replaced(dockerfileText, 'EXPOSE 3000\n', ''), /port 3000 is not exposed/],
    ['the sources copied instead of the compiled output', replaced(dockerfileText, 'COPY --from=build /app/dist ./dist', 'COPY app ./app'), /does not copy the compiled output/],
  ];
  it.each(mutants)('names a broken point: %s', (_name, text, expected) => {
    expect(check(text)).toContainEqual(expect.stringMatching(expected));
  });
});
