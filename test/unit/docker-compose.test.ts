/**
 * docker-compose.yml is the documented distributed shape: its Redis must keep
 * the waiting line, the ACTIVE tokens and the fencing counter across a
 * restart (AOF, fsynced every second, on a volume). The drill that shows what
 * AOF keeps and what is lost without it is test/integration/drills/redis-restart.drill.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
// `yaml` comes with vitest and @hono/zod-openapi; a dev dependency of theirs, not of the service.
import { parse } from 'yaml';

interface Compose {
  readonly services: Record<string, { readonly command?: string | readonly string[]; readonly volumes?: readonly string[] }>;
  readonly volumes?: Record<string, unknown>;
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
  it('runs Redis with AOF, fsynced every second, in /data on a named volume', async () => {
    const compose = parse(await readFile(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as Compose;
    const redis = compose.services['redis'];
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
    if (!source.startsWith('.') && !source.startsWith('/')) expect(Object.keys(compose.volumes ?? {})).toContain(source);
  });
});
