/**
 * docker-compose.yml read as Docker Compose reads it, without a Docker
 * engine: `${VAR}`, `${VAR:-default}`, `${VAR:?message}` interpolated from
 * an environment (a required variable that is missing refuses, as `docker
 * compose up` does), then checked for what a production shape needs. The
 * app's environment goes through the service's own `loadConfig`, so the
 * check is that the service would start with it, and how.
 */
import { loadConfig } from '../../../app/config.js';
import { SHUTDOWN_EXIT_MS } from '../../../app/time-bounds.js';

export interface ComposeService {
  readonly image?: string;
  readonly build?: unknown;
  readonly command?: string | readonly string[];
  readonly environment?: Readonly<Record<string, string | number | boolean | null>> | readonly string[];
  readonly ports?: readonly (string | number | Readonly<Record<string, unknown>>)[];
  readonly network_mode?: string;
  readonly volumes?: readonly string[];
  readonly healthcheck?: { readonly test?: string | readonly string[]; readonly disable?: boolean };
  readonly depends_on?: readonly string[] | Readonly<Record<string, { readonly condition?: string }>>;
  readonly stop_grace_period?: string;
}

export interface Compose {
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes?: Readonly<Record<string, unknown>>;
}

/** Compose's refusal: a required variable unset or empty. */
export class MissingVariable extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
  }
}

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g;

/** One string as Compose interpolates it. */
export function interpolate(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(REFERENCE, (whole, name: string | undefined, colon: string | undefined, kind: string | undefined, operand: string | undefined) => {
    if (whole === '$$') return '$';
    const value = env[name!];
    const unset = value === undefined || (colon === ':' && value === '');
    if (kind === '?' && unset) throw new MissingVariable(name!, operand ?? '');
    if (kind === '-' && unset) return operand ?? '';
    return value ?? '';
  });
}

/** The whole file interpolated, every string in it. */
export function interpolateAll<T>(value: T, env: Readonly<Record<string, string | undefined>>): T {
  if (typeof value === 'string') return interpolate(value, env) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => interpolateAll(item, env)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateAll(item, env)])) as T;
  return value;
}

/** Every variable the file requires with `${VAR:?...}`. */
export function requiredVariables(text: string): string[] {
  return [...new Set([...text.matchAll(REFERENCE)].filter((match) => match[3] === '?').map((match) => match[1]!))].sort();
}

export function environmentOf(service: ComposeService | undefined): Record<string, string> {
  const env = service?.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries((env as readonly string[]).map((line) => [line.split('=')[0]!, line.split('=').slice(1).join('=')]));
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

function commandArgs(command: string | readonly string[] | undefined): string[] {
  return typeof command === 'string' ? command.split(/\s+/) : [...(command ?? [])];
}

/** `15s`, `1m30s`, `500ms`: Compose's durations, in ms. */
export function durationMs(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)) {
    total += Number(amount) * { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001 }[unit as 'h' | 'm' | 's' | 'ms' | 'us'];
  }
  return total;
}

function dependsHealthy(service: ComposeService | undefined, on: string): boolean {
  const depends = service?.depends_on;
  if (depends === undefined || Array.isArray(depends)) return false;
  return (depends as Readonly<Record<string, { readonly condition?: string }>>)[on]?.condition === 'service_healthy';
}

/** At least this much between the app's own exit bound and Docker's SIGKILL. */
export const STOP_GRACE_SLACK_MS = 2_000;

/**
 * What is wrong with the file for production, each as a sentence; [] when
 * nothing. `text` is the file, `compose` its parse (uninterpolated), `env`
 * one where every required variable is set; `imageHealthcheck` the
 * HEALTHCHECK command of the app's image (Dockerfile), which applies when
 * the app service defines none.
 */
export function composeProblems(text: string, compose: Compose, env: Readonly<Record<string, string>>, imageHealthcheck: string | undefined): string[] {
  const problems: string[] = [];
  const required = requiredVariables(text);
  for (const variable of ['ADMIN_TOKEN', 'AUTH_JWT_SECRET', 'METRICS_TOKEN', 'REDIS_PASSWORD']) {
    if (!required.includes(variable)) problems.push(`${variable} is not required (\${${variable}:?...}): compose starts without it`);
  }
  let resolved: Compose;
  try {
    resolved = interpolateAll(compose, env);
  } catch (error) {
    return [...problems, `does not interpolate with every required variable set: ${String(error)}`];
  }
  const { postgres, redis, app, lb } = resolved.services;

  for (const [name, service] of Object.entries(resolved.services)) {
    if (name === 'lb') continue;
    if ((service.ports ?? []).length > 0) problems.push(`${name} publishes ports on the host: ${JSON.stringify(service.ports)}`);
    if (service.network_mode === 'host') problems.push(`${name} runs on the host's network`);
  }

  const redisArgs = commandArgs(redis?.command);
  const password = redisArgs[redisArgs.indexOf('--requirepass') + 1];
  if (!redisArgs.includes('--requirepass') || password !== env['REDIS_PASSWORD']) problems.push('redis runs without --requirepass $REDIS_PASSWORD');
  const redisProbe = commandArgs(redis?.healthcheck?.test).join(' ');
  const probeAuthenticated = environmentOf(redis)['REDISCLI_AUTH'] === env['REDIS_PASSWORD'] || (env['REDIS_PASSWORD'] !== undefined && redisProbe.includes(env['REDIS_PASSWORD']));
  if (!/redis-cli.*ping/i.test(redisProbe) || !probeAuthenticated) problems.push("redis's healthcheck does not PING with the password");
  // redis-cli exits 0 on an error reply: a NOAUTH would pass unless the answer itself is checked.
  if (!redisProbe.includes('PONG')) problems.push("redis's healthcheck does not check for PONG");

  const appEnv = environmentOf(app);
  try {
    const config = loadConfig(appEnv);
    if (config.adminToken !== env['ADMIN_TOKEN']) problems.push('the app does not get ADMIN_TOKEN');
    if (config.metricsToken !== env['METRICS_TOKEN']) problems.push('the app does not get METRICS_TOKEN');
    if (config.auth.kind !== 'secret' || config.auth.secret !== env['AUTH_JWT_SECRET']) problems.push('the app does not verify access tokens with AUTH_JWT_SECRET');
    if (config.seedDemo) problems.push('the app seeds the demo catalog (SEED_DEMO is not false)');
    const redisUrl = new URL(config.redisUrl ?? 'redis://missing');
    if (redisUrl.hostname !== 'redis' || decodeURIComponent(redisUrl.password) !== env['REDIS_PASSWORD']) problems.push(`the app's REDIS_URL does not reach redis with the password: ${config.redisUrl}`);
    const databaseUrl = new URL(config.databaseUrl ?? 'postgres://missing');
    if (databaseUrl.hostname !== 'postgres' || decodeURIComponent(databaseUrl.password) !== env['POSTGRES_PASSWORD']) problems.push(`the app's DATABASE_URL does not reach postgres with its password: ${config.databaseUrl}`);
  } catch (error) {
    problems.push(`the app would not start with this environment: ${String(error)}`);
  }
  if (environmentOf(postgres)['POSTGRES_PASSWORD'] !== env['POSTGRES_PASSWORD']) problems.push("postgres's password is not POSTGRES_PASSWORD");

  const appProbe = app?.healthcheck === undefined ? imageHealthcheck : commandArgs(app.healthcheck.test).join(' ');
  if (app?.healthcheck?.disable === true || appProbe === undefined || !appProbe.includes('/health')) problems.push("the app's healthcheck does not probe /health");
  for (const [service, on] of [['app', 'postgres'], ['app', 'redis'], ['lb', 'app']] as const) {
    if (!dependsHealthy(resolved.services[service], on)) problems.push(`${service} does not wait for ${on} to be healthy`);
  }
  for (const [name, service] of [['postgres', postgres], ['redis', redis]] as const) {
    if (service?.healthcheck?.test === undefined) problems.push(`${name} has no healthcheck`);
  }

  // Docker's default grace is 10 s: as long as the app's own bound, so a slow stop would be SIGKILLed mid-close.
  const graceMs = durationMs(app?.stop_grace_period ?? '10s');
  if (graceMs < SHUTDOWN_EXIT_MS + STOP_GRACE_SLACK_MS) problems.push(`the app's stop_grace_period (${graceMs} ms) is not above its exit bound (${SHUTDOWN_EXIT_MS} ms) by ${STOP_GRACE_SLACK_MS} ms`);
  if (lb === undefined) problems.push('no lb service');
  return problems;
}
