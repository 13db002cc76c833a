import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBatches } from '@rarefy/data-io/node';
import { LogisticPilot } from '@rarefy/pilot-model';
import { loadModel, OnnxPilot, saveModel } from '@rarefy/pilot-model/node';
import type { Pilot } from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

let directory: string;
let dataPath: string;
let modelDir: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-export-'));
  dataPath = join(directory, 'a10.csv');
  modelDir = join(directory, 'model');
  expect(
    (await rarefy(['simulate', '--n', '20000', '--seed', '3', '--intercept', '-4', '--out', dataPath])).code,
  ).toBe(0);
  const fit = await rarefy([
    'fit',
    '--data',
    dataPath,
    '--label',
    'y',
    '--pilot-size',
    '400',
    '--save',
    modelDir,
    '--json',
  ]);
  expect(fit.code).toBe(0);
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function rarefy(args: string[]) {
  const io = createMemoryIo();
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

/** The largest difference between two pilots' probabilities over the whole data file. */
async function worstDifference(a: Pilot, b: Pilot): Promise<{ worst: number; rows: number }> {
  const reader = await openBatches(dataPath, { label: 'y' });
  let worst = 0;
  let rows = 0;
  for await (const batch of reader.batches()) {
    const p = await a.predictProbability(batch);
    const q = await b.predictProbability(batch);
    for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs((p[i] as number) - (q[i] as number)));
    rows += batch.rows;
  }
  return { worst, rows };
}

describe('rarefy export', () => {
  it('writes the saved model.onnx; onnxruntime on it matches the saved model to 1e-5', async () => {
    const out = join(directory, 'exported.onnx');
    const result = await rarefy(['export', '--model', modelDir, '--format', 'onnx', '--out', out, '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(result.stdout) as {
      out: string;
      format: string;
      kind: string;
      from: string;
      bytes: number;
    };
    expect(parsed).toMatchObject({ out, format: 'onnx', kind: 'logistic', from: 'model.onnx' });
    const bytes = await readFile(out);
    expect(parsed.bytes).toBe(bytes.byteLength);
    expect(bytes.equals(await readFile(join(modelDir, 'model.onnx')))).toBe(true);
    // No temporary file is left beside the output.
    expect((await readdir(directory)).filter((name) => name.includes('rarefy-tmp'))).toEqual([]);

    const saved = await loadModel(modelDir);
    const onnx = await OnnxPilot.create(out);
    try {
      const { worst, rows } = await worstDifference(saved, onnx);
      expect(rows).toBe(20000);
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await onnx.release();
    }
  });

  it('regenerates the ONNX from the coefficients of a logistic folder saved without one', async () => {
    const bare = join(directory, 'no-onnx');
    const model = LogisticPilot.fromCoefficients(
      ['(Intercept)', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6'],
      [-4, 0.5, -0.5, 0.25, 0, 1, -1],
    );
    await saveModel(bare, model, { label: 'y', onnx: false });
    const out = join(directory, 'regenerated.onnx');
    const result = await rarefy(['export', '--model', bare, '--out', out, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ from: 'coefficients', kind: 'logistic' });
    const onnx = await OnnxPilot.create(out);
    try {
      expect((await worstDifference(model, onnx)).worst).toBeLessThan(1e-5);
    } finally {
      await onnx.release();
    }
  });

  it('prints a line for people without --json', async () => {
    const out = join(directory, 'text.onnx');
    const result = await rarefy(['export', '--model', modelDir, '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^wrote .*text\.onnx \(\d[\d,]* bytes, logistic model, from model\.onnx\)/);
  });

  it('rejects an unknown format as a usage error (exit 2), writing nothing', async () => {
    const out = join(directory, 'model.pmml');
    const result = await rarefy(['export', '--model', modelDir, '--format', 'pmml', '--out', out, '--json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pmml/);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'RAREFY_USAGE' } });
    expect(await readdir(directory)).not.toContain('model.pmml');
  });

  it('names a folder that is not a saved model (exit 1)', async () => {
    const result = await rarefy([
      'export',
      '--model',
      directory,
      '--out',
      join(directory, 'x.onnx'),
      '--json',
    ]);
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    expect(parsed.error.code).toBe('RAREFY_IO_ERROR');
    expect(parsed.error.message).toMatch(/manifest\.json/);
  });
});
