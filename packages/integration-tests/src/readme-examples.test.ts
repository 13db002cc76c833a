// Every ```ts block in the READMEs that imports a Rarefy package is a runnable example: it is written
// into a scratch folder inside this package (so the workspace packages resolve, from their sources)
// and run with tsx. A README whose example breaks fails here.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const scratch = join(here, '..', '.examples');

const readmes = [
  'README.md',
  'packages/sampling-core/README.md',
  'packages/correction/README.md',
  'packages/data-io/README.md',
  'packages/pilot-model/README.md',
  'packages/model-kit/README.md',
  'packages/two-tower/README.md',
  'apps/server/README.md',
].map((path) => join(root, path));

interface Example {
  readme: string;
  index: number;
  code: string;
}

function examples(path: string): Example[] {
  const text = readFileSync(path, 'utf8');
  const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
  return blocks
    .map((code, index) => ({ readme: relative(root, path), index, code }))
    .filter((example) => /from '@rarefy\//.test(example.code) && !/^\s*\/\/ x: /m.test(example.code));
}

const all = readmes.flatMap(examples);
mkdirSync(scratch, { recursive: true });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('README examples', () => {
  it('finds examples to run', () => {
    expect(all.length).toBeGreaterThanOrEqual(4);
  });

  for (const example of all) {
    it(`${example.readme} example ${example.index + 1} runs`, () => {
      const folder = join(scratch, `${example.readme.replace(/[^a-z0-9]+/gi, '-')}-${example.index}`);
      mkdirSync(folder, { recursive: true });
      const file = join(folder, 'example.ts');
      writeFileSync(file, example.code);
      const output = execFileSync(
        process.execPath,
        ['--conditions=@rarefy/source', '--import', 'tsx', file],
        {
          cwd: folder,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      expect(output.length).toBeGreaterThan(0);
    });
  }
});
