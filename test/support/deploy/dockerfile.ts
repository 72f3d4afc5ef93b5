/**
 * The Dockerfile parsed into stages of instructions (continuation lines
 * joined, comments dropped), then checked for what the image that runs
 * must be: multi-stage, production dependencies only, non-root with a
 * writable data folder, the compiled entry point run by node itself, a
 * healthcheck on /health.
 */

export interface Instruction {
  readonly keyword: string;
  readonly rest: string;
}

export interface Stage {
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const lines = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const stages: { name: string | undefined; instructions: Instruction[] }[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), rest };
    if (instruction.keyword === 'FROM') stages.push({ name: /\bAS\s+(\S+)/i.exec(rest)?.[1], instructions: [] });
    stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

/** An exec-form (JSON array) command, or undefined for the shell form. */
export function execForm(rest: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(rest);
    return Array.isArray(parsed) && parsed.every((part) => typeof part === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `ENV A=1 B=2` (and the old `ENV A 1`) of a stage, in order. */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, rest } of stage.instructions) {
    if (keyword !== 'ENV') continue;
    if (!rest.includes('=')) {
      const [name = '', ...value] = rest.split(/\s+/);
      env[name] = value.join(' ');
      continue;
    }
    for (const [, name, value] of rest.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[name!] = value!.replace(/^"|"$/g, '');
  }
  return env;
}

/** The HEALTHCHECK command of the final stage, joined, for the compose check. */
export function healthcheckOf(stages: readonly Stage[]): string | undefined {
  const rest = stages.at(-1)?.instructions.find((i) => i.keyword === 'HEALTHCHECK')?.rest;
  if (rest === undefined || /^NONE\b/i.test(rest)) return undefined;
  const command = rest.replace(/^(--\S+\s+)*CMD\s+/i, '');
  return (execForm(command) ?? [command]).join(' ');
}

/**
 * What is wrong with the image, each as a sentence; [] when nothing.
 * `entry` is the compiled entry point (tsconfig.build.json's outDir +
 * app/main.js), `port` where the app listens. That the entry point handles
 * SIGTERM itself (as PID 1 it must: the kernel gives PID 1 no default
 * action) is shown by test/integration/compiled-build.test.ts.
 */
export function dockerfileProblems(stages: readonly Stage[], options: { entry: string; port: number }): string[] {
  const problems: string[] = [];
  const final = stages.at(-1);
  if (final === undefined) return ['no stage'];
  if (stages.length < 2) problems.push('one stage: the image that runs also holds the build tools and dev dependencies');
  const runs = (stage: Stage | undefined) => (stage?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.rest);
  if (!stages.slice(0, -1).some((stage) => runs(stage).some((run) => /\bnpm run build\b/.test(run)))) problems.push('no build stage runs npm run build');
  const installs = runs(final).filter((run) => /\bnpm (ci|install|i)\b/.test(run));
  if (installs.length === 0 || installs.some((run) => !/--omit[= ]dev\b/.test(run))) problems.push('the final stage does not install with npm ci --omit=dev only');
  const copies = final.instructions.filter((i) => i.keyword === 'COPY');
  if (!copies.some((copy) => /--from=\S+/.test(copy.rest) && copy.rest.includes('dist'))) problems.push('the final stage does not copy the compiled output from the build stage');
  if (copies.some((copy) => /^(\.\/)?(app|core|adapters)\b/.test(copy.rest))) problems.push('the final stage copies TypeScript sources');

  // Non-root, and a data folder that user can write.
  const users = final.instructions.filter((i) => i.keyword === 'USER');
  const user = users.at(-1)?.rest.split(':')[0];
  if (user === undefined || user === 'root' || user === '0') problems.push(`the service runs as root (USER ${user ?? 'unset'})`);
  const dataDir = stageEnv(final)['DATA_DIR'];
  const userAt = user === undefined ? -1 : final.instructions.lastIndexOf(users.at(-1)!);
  const owned = final.instructions.slice(0, userAt).some((i) => i.keyword === 'RUN' && dataDir !== undefined && new RegExp(`chown\\s+(-R\\s+)?${user}(:\\S+)?\\s+(\\S+\\s+)*${dataDir.replace(/[/.]/g, '\\$&')}(\\s|$)`).test(i.rest));
  if (dataDir === undefined || !owned) problems.push(`DATA_DIR (${dataDir ?? 'unset'}) is not a folder owned by ${user ?? 'the user'}`);

  // node itself: exec form, the compiled entry, no loader, no npm or shell in between.
  const cmd = final.instructions.filter((i) => i.keyword === 'CMD').at(-1);
  const args = cmd === undefined ? undefined : execForm(cmd.rest);
  if (args === undefined) problems.push(`CMD is not in exec form (a shell would be PID 1 and keep SIGTERM from node): ${cmd?.rest}`);
  else if (args[0] !== 'node' || args.at(-1) !== options.entry || args.some((arg) => arg.includes('tsx'))) problems.push(`CMD does not run ${options.entry} with node: ${args.join(' ')}`);
  const entrypoint = final.instructions.find((i) => i.keyword === 'ENTRYPOINT');
  if (entrypoint !== undefined && execForm(entrypoint.rest) === undefined) problems.push('ENTRYPOINT in shell form: a shell would be PID 1');
  const stopSignal = final.instructions.find((i) => i.keyword === 'STOPSIGNAL')?.rest;
  if (stopSignal !== undefined && stopSignal !== 'SIGTERM') problems.push(`STOPSIGNAL ${stopSignal}: the app stops gracefully on SIGTERM`);

  const health = healthcheckOf(stages);
  if (health === undefined || !health.includes('/health')) problems.push('no HEALTHCHECK on /health');
  else if (!/^(node|curl|wget)\b/.test(health)) problems.push(`the HEALTHCHECK runs something the image may not have: ${health}`);
  else if (/^(curl|wget)\b/.test(health) && !runs(final).some((run) => run.includes(health.split(' ')[0]!))) problems.push(`the HEALTHCHECK needs ${health.split(' ')[0]}, which the final stage does not install`);
  const exposed = final.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.rest.split(/\s+/));
  if (!exposed.includes(String(options.port))) problems.push(`port ${options.port} is not exposed (${exposed.join(' ') || 'nothing'})`);
  if (stageEnv(final)['PORT'] !== undefined && stageEnv(final)['PORT'] !== String(options.port)) problems.push(`PORT ${stageEnv(final)['PORT']} is not ${options.port}`);
  return problems;
}
