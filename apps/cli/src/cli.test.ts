import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsvMatrix } from '@rarefy/data-io/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run, VERSION } from './index.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-cli-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function rarefy(args: string[], env: Record<string, string> = {}) {
  const io = createMemoryIo({ env });
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('rarefy simulate', () => {
  it('writes the A.10 data set with header y,x1..x6 and the asked number of rows', async () => {
    const out = join(directory, 'a10.csv');
    const result = await rarefy(['simulate', '--n', '2000', '--seed', '3', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^wrote 2000 rows \(\d+ positives, [\d.]+%\) to .*a10\.csv in .+\n$/);
    const text = await readFile(out, 'utf8');
    expect(text.split('\n')[0]).toBe('y,x1,x2,x3,x4,x5,x6');
    const data = await readCsvMatrix(out, { label: 'y' });
    expect(data.rows).toBe(2000);
    expect(data.featureNames).toEqual(['x1', 'x2', 'x3', 'x4', 'x5', 'x6']);
    // beta0 = -6 gives about 1.2% positives: with 2000 rows the count is Binomial(2000, ~0.012),
    // mean ~24 and sd ~5, so [5, 60] is far outside the Monte-Carlo error.
    expect(data.positives).toBeGreaterThanOrEqual(5);
    expect(data.positives).toBeLessThanOrEqual(60);
  });

  it('is reproducible for a seed and changes with it', async () => {
    const paths = ['one.csv', 'two.csv', 'three.csv'].map((name) => join(directory, name));
    await rarefy(['simulate', '--n', '500', '--seed', '7', '--out', paths[0] as string]);
    await rarefy(['simulate', '--n', '500', '--seed', '7', '--out', paths[1] as string]);
    await rarefy(['simulate', '--n', '500', '--seed', '8', '--out', paths[2] as string]);
    const [one, two, three] = await Promise.all(paths.map((path) => readFile(path, 'utf8')));
    expect(one).toBe(two);
    expect(one).not.toBe(three);
  });

  it('prints exactly one JSON object with --json, and honours --intercept', async () => {
    const out = join(directory, 'json.csv');
    const result = await rarefy(['simulate', '--json', '--n', '1000', '--intercept', '-2', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(parsed).sort()).toEqual(['out', 'positives', 'rows', 'seconds']);
    expect(parsed.rows).toBe(1000);
    expect(parsed.out).toBe(out);
    expect(typeof parsed.seconds).toBe('number');
    // beta0 = -2 gives far more positives than -6 (about 15%): at least 50 of 1000.
    expect(parsed.positives).toBeGreaterThan(50);
    expect((await readCsvMatrix(out, { label: 'y' })).positives).toBe(parsed.positives);
  });

  it.each([
    [['simulate', '--n', 'ten', '--out', 'x.csv'], '--n must be a positive integer'],
    [['simulate', '--n', '0', '--out', 'x.csv'], '--n must be a positive integer'],
    [['simulate', '--n', '1.5', '--out', 'x.csv'], '--n must be a positive integer'],
    [['simulate', '--n', '10', '--seed', 'abc', '--out', 'x.csv'], '--seed must be an integer'],
    [
      ['simulate', '--n', '10', '--intercept', 'big', '--out', 'x.csv'],
      '--intercept must be a finite number',
    ],
    [['simulate', '--n', '10'], "required option '--out <file>' not specified"],
    [['simulate', '--n', '10', '--out', 'x.csv', '--bogus'], "unknown option '--bogus'"],
    [['simulat'], "unknown command 'simulat'"],
  ])('rejects bad arguments %j with exit status 2 and a message', async (args, message) => {
    const result = await rarefy(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('rarefy: ');
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain('    at ');
    expect(result.stdout).toBe('');
  });

  it('prints usage errors as a JSON object too under --json', async () => {
    const result = await rarefy(['simulate', '--json', '--n', '-3', '--out', 'x.csv']);
    expect(result.code).toBe(2);
    const parsed = JSON.parse(result.stdout) as { error: { code: string; message: string; input: string } };
    expect(parsed.error.code).toBe('RAREFY_USAGE');
    expect(parsed.error.input).toBe('--n');
    expect(parsed.error.message).toContain('positive integer');
  });

  it('exits 1 naming the path for an unwritable --out, and leaves no file behind', async () => {
    const missingFolder = join(directory, 'no-such-folder', 'out.csv');
    const result = await rarefy(['simulate', '--n', '100', '--out', missingFolder]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('rarefy: RAREFY_IO_ERROR');
    expect(result.stderr).toContain(missingFolder);
    expect(result.stderr).not.toContain('    at ');
    expect(result.stdout).toBe('');

    const folder = join(directory, 'a-folder');
    await mkdir(folder);
    const json = await rarefy(['simulate', '--n', '100', '--out', folder, '--json']);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout) as { error: { code: string; message: string; input: string } };
    expect(parsed.error.code).toBe('RAREFY_IO_ERROR');
    expect(parsed.error.input).toBe(folder);
    expect(parsed.error.message).toContain(folder);
    expect((await readdir(directory)).filter((name) => name.includes('rarefy-tmp'))).toEqual([]);
    expect(await readdir(folder)).toEqual([]);
  });

  it('prints the stack trace only with RAREFY_DEBUG=1', async () => {
    const out = join(directory, 'missing', 'x.csv');
    const debug = await rarefy(['simulate', '--n', '10', '--out', out], { RAREFY_DEBUG: '1' });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toContain('    at ');
  });
});

describe('rarefy', () => {
  it('prints its version and help, and exits 2 without a command', async () => {
    const version = await rarefy(['--version']);
    expect(version).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const help = await rarefy(['simulate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--n <rows>');
    const bare = await rarefy([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: rarefy');
  });
});
