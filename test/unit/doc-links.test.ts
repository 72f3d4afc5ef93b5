/**
 * Every relative link in the README and docs/ points at a file of this
 * repository: a clone has nothing outside it (links into a sibling folder
 * of the working copy once read fine here and led nowhere in a clone).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCUMENTS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** `[text](target)` links that are not URLs or in-page anchors, without their `#fragment`. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.split('#')[0]!);
}

describe('documentation links', () => {
  it.each(DOCUMENTS)('%s links only to files inside the repository that exist', (document) => {
    const from = dirname(join(ROOT, document));
    const links = relativeLinks(readFileSync(join(ROOT, document), 'utf8'));
    const broken = links.filter((target) => {
      const path = resolve(from, target);
      return relative(ROOT, path).startsWith('..') || !existsSync(path);
    });
    expect(broken).toEqual([]);
  });

  it('finds the links it checks (the README links into docs/)', () => {
    expect(relativeLinks(readFileSync(join(ROOT, 'README.md'), 'utf8'))).toContain('docs/API.md');
  });
});
