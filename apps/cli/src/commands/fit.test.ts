import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitRareEvents } from '@rarefy/correction';
import { openBatches, readCsvMatrix, readDesignMatrix } from '@rarefy/data-io/node';
import { fitWithPilot, LogisticPilot } from '@rarefy/pilot-model';
import { loadModel, OnnxPilot, readModelFolder, saveModel } from '@rarefy/pilot-model/node';
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

  it('reads JSON Lines as well as CSV, with the same result', async () => {
    const data = await readCsvMatrix(dataPath, { label: 'y' });
    const lines: string[] = [];
    for (let i = 0; i < data.rows; i++) {
      const row: Record<string, number> = { y: data.y[i] as number };
      for (let j = 1; j < data.x.columns; j++)
        row[data.x.names[j] as string] = data.x.data[i * data.x.columns + j] as number;
      lines.push(JSON.stringify(row));
    }
    const jsonl = join(directory, 'a10.jsonl');
    await writeFile(jsonl, `${lines.join('\n')}\n`);
    const fromCsv = await rarefy([...base(), '--sample-size', '1000', '--json']);
    const fromJsonl = await rarefy([
      'fit',
      '--data',
      jsonl,
      '--label',
      'y',
      '--pilot-size',
      '400',
      '--seed',
      '5',
      '--sample-size',
      '1000',
      '--json',
    ]);
    expect(fromJsonl.code).toBe(0);
    expect(JSON.parse(fromJsonl.stdout).coefficients).toEqual(JSON.parse(fromCsv.stdout).coefficients);
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

describe('rarefy fit --save', () => {
  it('saves the corrected model: loadModel and its model.onnx predict sigma(x beta) of the fit', async () => {
    const dir = join(directory, 'saved-model');
    const result = await rarefy([
      'fit',
      '--data',
      dataPath,
      '--label',
      'y',
      '--pilot-size',
      '400',
      '--seed',
      '5',
      '--sample-size',
      '1500',
      '--save',
      dir,
      '--json',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(result.stdout) as {
      coefficients: Record<string, number>;
      sample: { positives: number; negatives: number };
      saved: string;
    };
    expect(parsed.saved).toBe(dir);
    const names = Object.keys(parsed.coefficients);
    const beta = Object.values(parsed.coefficients);

    const { manifest } = await readModelFolder(dir);
    expect(manifest.kind).toBe('logistic');
    expect(manifest.schema.label).toBe('y');
    expect(manifest.schema.features.map((feature) => feature.name)).toEqual(names.slice(1));
    expect(manifest.training).toMatchObject({ design: 'optA', estimator: 'log-odds', seed: 5 });
    expect(manifest.training.sizes).toMatchObject({
      negatives: parsed.sample.negatives,
      positives: parsed.sample.positives,
    });
    expect(manifest.files.map((file) => file.path).sort()).toEqual(['coefficients.json', 'model.onnx']);

    const data = await readCsvMatrix(dataPath, { label: 'y' });
    const expected = new Float64Array(data.x.rows);
    for (let i = 0; i < data.x.rows; i++) {
      let eta = 0;
      for (let j = 0; j < beta.length; j++)
        eta += (data.x.data[i * data.x.columns + j] as number) * (beta[j] as number);
      expected[i] = 1 / (1 + Math.exp(-eta));
    }
    const model = await loadModel(dir);
    expect(model).toBeInstanceOf(LogisticPilot);
    const inProcess = (model as LogisticPilot).predictMatrix(data.x);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs((inProcess[i] as number) - (expected[i] as number)));
    }
    expect(worst).toBeLessThan(1e-12);

    const onnx = await OnnxPilot.create(join(dir, 'model.onnx'));
    try {
      const reader = await openBatches(dataPath, { label: 'y' });
      let row = 0;
      let worstOnnx = 0;
      for await (const batch of reader.batches()) {
        const p = await onnx.predictProbability(batch);
        for (let i = 0; i < p.length; i++, row++) {
          worstOnnx = Math.max(worstOnnx, Math.abs((p[i] as number) - (expected[row] as number)));
        }
      }
      expect(row).toBe(expected.length);
      expect(worstOnnx).toBeLessThan(1e-5);
    } finally {
      await onnx.release();
    }
  });

  it('keeps the --json contract keys and prints the folder for people', async () => {
    const dir = join(directory, 'saved-text');
    const result = await rarefy([
      ...['fit', '--data', dataPath, '--label', 'y', '--pilot-size', '400'],
      '--save',
      dir,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`saved the model to ${dir}`);
  });

  it('refuses to replace a folder that is not a saved model (exit 1, nothing written)', async () => {
    const dir = join(directory, 'not-a-model');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'keep me\n');
    const result = await rarefy([
      'fit',
      '--data',
      dataPath,
      '--label',
      'y',
      '--pilot-size',
      '400',
      '--save',
      dir,
      '--json',
    ]);
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    expect(parsed.error.code).toBe('RAREFY_IO_ERROR');
    expect(parsed.error.message).toMatch(/not a saved model/);
    expect(await readdir(dir)).toEqual(['notes.txt']);
  });
});

describe('rarefy fit --pilot', () => {
  /** A logistic pilot near the data's truth (slopes -0.5, intercept about -4), saved with model.onnx. */
  let pilotDir: string;
  beforeAll(async () => {
    pilotDir = join(directory, 'pilot');
    const names = ['(Intercept)', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
    const pilot = LogisticPilot.fromCoefficients(names, [-4.2, -0.45, -0.5, -0.55, -0.4, -0.5, -0.6]);
    await saveModel(pilotDir, pilot, { label: 'y', onnx: true });
  });

  interface PilotFitJson {
    coefficients: Record<string, number>;
    sample: { positives: number; negatives: number };
    estimator: string;
    pilotModel?: { path: string; kind: string; runtime: string; runtimeReason: string };
    correction?: {
      estimator: string;
      alpha: number;
      reason: string;
      estimatorSource: string;
      alphaSource: string;
    };
  }
  const args = (pilot: string, extra: string[] = []) => [
    ...['fit', '--data', dataPath, '--label', 'y', '--design', 'optL', '--sample-size', '1000'],
    ...['--seed', '5', '--pilot', pilot, ...extra, '--json'],
  ];
  const library = async (pilot: string) => {
    const { x, y } = await readDesignMatrix(dataPath, { label: 'y' });
    const model = await loadModel(pilot);
    return fitWithPilot({ x, y, pilot: model, design: 'optL', sampleSize: 1000, seed: 5 });
  };
  const expectClose = (actual: Record<string, number>, expected: Float64Array) => {
    const values = Object.values(actual);
    expect(values).toHaveLength(expected.length);
    values.forEach((value, j) => {
      expect(Math.abs(value - (expected[j] as number))).toBeLessThan(1e-9);
    });
  };

  it('a saved logistic pilot: the coefficients of fitWithPilot, corrected by log-odds, and the JSON says why', async () => {
    const result = await rarefy(args(pilotDir));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as PilotFitJson;
    const expected = await library(pilotDir);
    expect(expected.correction.estimator).toBe('log-odds');
    expectClose(parsed.coefficients, expected.coefficients);
    expect(parsed.sample).toEqual({
      positives: expected.sample.positives,
      negatives: expected.sample.negatives,
    });
    expect(parsed.estimator).toBe('log-odds');
    expect(parsed.correction).toEqual({
      estimator: 'log-odds',
      alpha: 0,
      reason: expected.correction.reason,
      estimatorSource: 'default for this pilot',
      alphaSource: 'default for this pilot',
    });
    expect(parsed.correction?.reason).toMatch(/^a logistic pilot is in the final model’s family/);
    expect(parsed.pilotModel).toMatchObject({ path: pilotDir, kind: 'logistic', runtime: 'in-process' });
  });

  it('an ONNX pilot (not a logistic model) is corrected by IPW with alpha 0.3; flags override', async () => {
    const onnx = join(pilotDir, 'model.onnx');
    const result = await rarefy(args(onnx));
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as PilotFitJson;
    const expected = await library(onnx);
    expect(expected.correction).toMatchObject({ estimator: 'ipw', alpha: 0.3 });
    expectClose(parsed.coefficients, expected.coefficients);
    expect(parsed.correction).toMatchObject({
      estimator: 'ipw',
      alpha: 0.3,
      estimatorSource: 'default for this pilot',
      alphaSource: 'default for this pilot',
    });
    expect(parsed.correction?.reason).toMatch(/^the pilot is not a logistic model/);
    expect(parsed.pilotModel).toMatchObject({ path: onnx, kind: 'onnx', runtime: 'onnxruntime' });

    // --estimator given: it wins, and the reason says what the default would have been.
    const given = await rarefy(args(pilotDir, ['--estimator', 'ipw']));
    expect(given.code).toBe(0);
    const givenJson = JSON.parse(given.stdout) as PilotFitJson;
    expect(givenJson.estimator).toBe('ipw');
    expect(givenJson.correction).toMatchObject({
      estimator: 'ipw',
      alpha: 0,
      estimatorSource: 'given',
      alphaSource: 'default for this pilot',
    });
    expect(givenJson.correction?.reason).toMatch(
      /^--estimator ipw given; the default for this pilot is log-odds with alpha 0/,
    );
  });

  it('prints the pilot and the correction for people', async () => {
    const result = await rarefy(args(pilotDir).filter((arg) => arg !== '--json'));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/design optL, log-odds estimator/);
    expect(result.stdout).toContain(
      `pilot ${pilotDir} (logistic, scored by in-process) drove the design; correction: log-odds with alpha 0: a logistic pilot`,
    );
  });

  it('a missing or damaged pilot folder is a typed error naming the path (exit 1)', async () => {
    const missing = join(directory, 'no-such-pilot');
    const absent = await rarefy(args(missing));
    expect(absent.code).toBe(1);
    const absentJson = JSON.parse(absent.stdout) as { error: { code: string; message: string } };
    expect(absentJson.error.code).toBe('RAREFY_IO_ERROR');
    expect(absentJson.error.message).toContain(missing);
    expect(absent.stderr).toContain(missing);

    const damaged = join(directory, 'damaged-pilot');
    await mkdir(damaged);
    await writeFile(join(damaged, 'manifest.json'), '{ "kind": ');
    const corrupt = await rarefy(args(damaged));
    expect(corrupt.code).toBe(1);
    const corruptJson = JSON.parse(corrupt.stdout) as { error: { code: string; message: string } };
    expect(corruptJson.error.code).toBe('RAREFY_PARSE_ERROR');
    expect(corruptJson.error.message).toContain(join(damaged, 'manifest.json'));

    const empty = join(directory, 'empty-pilot');
    await mkdir(empty);
    const notModel = await rarefy(args(empty));
    expect(notModel.code).toBe(1);
    expect(notModel.stderr).toMatch(/RAREFY_IO_ERROR: .*empty-pilot.*not a saved model folder/);
  });

  it('refuses a pilot reading columns the data lacks, and --pilot with --design uniform', async () => {
    const other = join(directory, 'other-pilot');
    await saveModel(other, LogisticPilot.fromCoefficients(['(Intercept)', 'z9'], [-4, 1]), { label: 'y' });
    const lacking = await rarefy(args(other));
    expect(lacking.code).toBe(1);
    expect(lacking.stderr).toMatch(/z9/);
    expect(lacking.stderr).toContain(dataPath);

    const uniform = await rarefy([...args(pilotDir), '--design', 'uniform']);
    expect(uniform.code).toBe(2);
    expect(uniform.stderr).toMatch(/--design uniform .* uses no pilot/);
  });

  it('lists --pilot and --runtime in --help, saying what the pilot is for', async () => {
    const help = await rarefy(['fit', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--pilot <model>');
    expect(help.stdout).toContain('--runtime <runtime>');
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(
      /log-odds after a logistic pilot, IPW with defensive mixing alpha 0\.3/,
    );
  });
});
