import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitRareEvents } from '@rarefy/correction';
import { readCsvMatrix } from '@rarefy/data-io/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

let directory: string;
let dataPath: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-fit-'));
  dataPath = join(directory, 'a10.csv');
  // 40,000 rows at beta0 = -4 give about 3% positives: enough for a 400-row pilot.
  const io = createMemoryIo();
  const code = await run(
    ['node', 'rarefy', 'simulate', '--n', '40000', '--seed', '2', '--intercept', '-4', '--out', dataPath],
    io,
  );
  expect(code).toBe(0);
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function rarefy(args: string[]) {
  const io = createMemoryIo();
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('rarefy fit', () => {
  const base = () => ['fit', '--data', dataPath, '--label', 'y', '--pilot-size', '400', '--seed', '5'];

  it('--json prints exactly one object with the contract keys, (Intercept) first', async () => {
    const result = await rarefy([
      ...base(),
      '--design',
      'optA',
      '--estimator',
      'log-odds',
      '--sample-size',
      '1500',
      '--json',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(result.stdout) as {
      coefficients: Record<string, number>;
      standardErrors: Record<string, number>;
      sample: { positives: number; negatives: number };
      seconds: number;
    };
    const names = ['(Intercept)', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
    expect(Object.keys(parsed.coefficients)).toEqual(names);
    expect(Object.keys(parsed.standardErrors)).toEqual(names);
    expect(Object.keys(parsed.sample).sort()).toEqual(['negatives', 'positives']);
    expect(parsed.seconds).toBeGreaterThan(0);
    for (const name of names) expect(parsed.standardErrors[name]).toBeGreaterThan(0);
    // The slopes are all -0.5: each estimate within 5 of its standard errors (a loose, seed-fixed check).
    for (const name of names.slice(1)) {
      expect(Math.abs((parsed.coefficients[name] as number) + 0.5)).toBeLessThan(
        5 * (parsed.standardErrors[name] as number),
      );
    }
  });

  it('gives the library result for the same data and seed', async () => {
    const result = await rarefy([
      ...base(),
      '--design',
      'optL',
      '--estimator',
      'ipw',
      '--sample-size',
      '1000',
      '--json',
    ]);
    const parsed = JSON.parse(result.stdout) as {
      coefficients: Record<string, number>;
      sample: { negatives: number };
    };
    const data = await readCsvMatrix(dataPath, { label: 'y' });
    const library = fitRareEvents({
      x: data.x,
      y: data.y,
      design: 'optL',
      estimator: 'ipw',
      pilotSize: 400,
      sampleSize: 1000,
      seed: 5,
    });
    expect(Object.values(parsed.coefficients)).toEqual(Array.from(library.coefficients));
    expect(parsed.sample.negatives).toBe(library.sample.negatives);
  });

  it('prints a table for people without --json', async () => {
    const result = await rarefy([...base(), '--design', 'uniform']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/design uniform, log-odds estimator/);
    expect(result.stdout).toMatch(/\(Intercept\)/);
    expect(result.stdout).toMatch(/95% interval/);
  });

  it('names a missing label column, with exit status 1 and a JSON error under --json', async () => {
    const result = await rarefy(['fit', '--data', dataPath, '--label', 'clicked', '--json']);
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    expect(parsed.error.message).toMatch(/clicked/);
    expect(result.stderr).toMatch(/clicked/);
  });

  it('reports labels that are not 0/1 with the file and line', async () => {
    const bad = join(directory, 'bad.csv');
    await writeFile(bad, 'y,a\n0,1.5\n2,0.5\n1,0.25\n');
    const result = await rarefy(['fit', '--data', bad, '--label', 'y']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/RAREFY_INVALID_LABEL/);
    expect(result.stderr).toMatch(/bad\.csv/);
    expect(result.stderr).toMatch(/line 3/);
  });

  it('refuses a sample size larger than the negatives', async () => {
    const result = await rarefy([...base(), '--sample-size', '10000000']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/RAREFY_SAMPLE_TOO_LARGE/);
  });

  it('rejects an unknown design as a usage error (exit 2)', async () => {
    const result = await rarefy([...base(), '--design', 'optB']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/optB/);
  });
});

describe('rarefy quickstart', () => {
  it('--json compares every design x estimator and shows the naive model overshooting', async () => {
    const result = await rarefy([
      'quickstart',
      '--rows',
      '60000',
      '--pilot-size',
      '300',
      '--sample-size',
      '800',
      '--replications',
      '2',
      '--holdout',
      '20000',
      '--json',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const parsed = JSON.parse(result.stdout) as {
      designs: Array<{ design: string; estimator: string; mseVsFull: number }>;
      calibration: { models: Array<{ model: string; calibrationInTheLarge: number }> };
    };
    expect(parsed.designs).toHaveLength(10);
    expect(new Set(parsed.designs.map((row) => `${row.design}/${row.estimator}`)).size).toBe(10);
    const [full, corrected, naive] = parsed.calibration.models;
    // The naive fit on a sample with ~45% positives predicts far above the ~1.2% observed rate; the
    // corrected one stays within the held-out set's sampling noise of 1 (20,000 rows, ~240 positives).
    expect(naive?.calibrationInTheLarge).toBeGreaterThan(5);
    expect(Math.abs((corrected?.calibrationInTheLarge as number) - 1)).toBeLessThan(0.3);
    expect(Math.abs((full?.calibrationInTheLarge as number) - 1)).toBeLessThan(0.3);
  });
});
