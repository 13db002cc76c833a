import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

let directory: string;
let dataPath: string;
let positives: number;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-inspect-'));
  dataPath = join(directory, 'a10.csv');
  const io = createMemoryIo();
  const code = await run(
    [
      'node',
      'rarefy',
      'simulate',
      '--n',
      '5000',
      '--seed',
      '3',
      '--intercept',
      '-3',
      '--out',
      dataPath,
      '--json',
    ],
    io,
  );
  expect(code).toBe(0);
  positives = (JSON.parse(io.stdoutText()) as { positives: number }).positives;
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function rarefy(args: string[]) {
  const io = createMemoryIo();
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('rarefy inspect', () => {
  it('--json prints one object: rows, columns with types, and the class balance with --label', async () => {
    const result = await rarefy(['inspect', dataPath, '--label', 'y', '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(result.stdout) as {
      rows: number;
      columns: Array<{ name: string; type: string }>;
      classBalance: { positives: number; negatives: number };
    };
    expect(parsed.rows).toBe(5000);
    expect(parsed.columns).toEqual([
      { name: 'y', type: 'label' },
      ...['x1', 'x2', 'x3', 'x4', 'x5', 'x6'].map((name) => ({ name, type: 'number' })),
    ]);
    expect(parsed.classBalance).toEqual({ positives, negatives: 5000 - positives });
  });

  it('has no classBalance without --label, and prints a table for people', async () => {
    const json = await rarefy(['inspect', dataPath, '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(parsed).not.toHaveProperty('classBalance');
    expect(parsed.rows).toBe(5000);
    const text = await rarefy(['inspect', dataPath, '--label', 'y']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('5,000 rows, 7 columns');
    expect(text.stdout).toMatch(/x6\s+number/);
    expect(text.stdout).toContain(`${positives} positives`);
  });

  it('exits 1 naming the file and line of a malformed row, a missing file and a missing label', async () => {
    const bad = join(directory, 'ragged.csv');
    await writeFile(bad, 'y,a,b\n0,1,2\n1,2\n0,3,4\n');
    const ragged = await rarefy(['inspect', bad, '--json']);
    expect(ragged.code).toBe(1);
    expect(ragged.stderr).toContain(bad);
    expect(ragged.stderr).toContain('line 3');
    const error = JSON.parse(ragged.stdout) as { error: { code: string; input: string } };
    expect(error.error.code).toBe('RAREFY_PARSE_ERROR');

    const missing = await rarefy(['inspect', join(directory, 'nope.csv')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.csv');

    const noLabel = await rarefy(['inspect', dataPath, '--label', 'clicked']);
    expect(noLabel.code).toBe(1);
    expect(noLabel.stderr).toContain('clicked');
  });
});
