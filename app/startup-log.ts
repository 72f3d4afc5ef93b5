import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';

/** Where a URL points, without its credentials: `host:port/path`. */
function whereIs(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

/**
 * The first log line, written before the slow part of a start (PGlite
 * opening its folder, migrations, the seed), so that a newcomer who waits
 * sees which mode starts and what it is doing.
 */
export function startingFields(config: Config): Record<string, string | boolean> {
  if (config.databaseUrl === undefined) {
    return {
      mode: 'embedded',
      dataDir: config.dataDir,
      doing: `opening the embedded Postgres in ${config.dataDir}, migrating${config.seedDemo ? ', seeding the demo catalog' : ''}`,
    };
  }
  return {
    mode: 'distributed',
    database: whereIs(config.databaseUrl),
    redis: config.redisUrl === undefined ? 'none' : whereIs(config.redisUrl),
    doing: `connecting, migrating${config.seedDemo ? ', seeding the demo catalog' : ''}`,
  };
}

/** The address the server is bound to, as a person reads it: `[::]:3000 (every interface)`, `127.0.0.1:3000`. */
export function boundAddress(address: AddressInfo): string {
  const everyInterface = address.address === '::' || address.address === '0.0.0.0';
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${host}:${address.port}${everyInterface ? ' (every interface)' : ''}`;
}
