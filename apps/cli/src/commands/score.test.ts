import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBatches } from '@rarefy/data-io/node';
import {
  FEATURE_HASH_FUNCTION,
  hashFeature,
  hashingTransform,
  METADATA_HASHING,
  mlpToOnnx,
  NeuralPilot,
  neuralPilotOnnxOptions,
} from '@rarefy/pilot-model';
import { loadModel, saveModel, selectBackend, writeModelFolder } from '@rarefy/pilot-model/node';
import type { ColumnBatch, Pilot } from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

let directory: string;
let dataPath: string;
let modelDir: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-score-'));
  dataPath = join(directory, 'a10.csv');
  modelDir = join(directory, 'model');
  expect(
    (await rarefy(['simulate', '--n', '30000', '--seed', '6', '--intercept', '-4', '--out', dataPath])).code,
  ).toBe(0);
  expect(
    (await rarefy(['fit', '--data', dataPath, '--label', 'y', '--pilot-size', '400', '--save', modelDir]))
      .code,
  ).toBe(0);
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function rarefy(args: string[]) {
  const io = createMemoryIo();
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

/** The probabilities of a `rarefy score` output, after checking its header. */
async function readScores(path: string): Promise<number[]> {
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
  expect(lines[0]).toBe('probability');
  return lines.slice(1).map(Number);
}

/** A pilot's probabilities for every row of a file, in order. */
async function expectedScores(pilot: Pilot, path: string): Promise<number[]> {
  const reader = await openBatches(path);
  const all: number[] = [];
  for await (const batch of reader.batches()) all.push(...(await pilot.predictProbability(batch)));
  return all;
}

function worst(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((most, value, i) => Math.max(most, Math.abs(value - (b[i] as number))), 0);
}

describe('rarefy score', () => {
  it('writes one probability per input row, in order, with a saved logistic model (in-process, exact)', async () => {
    const out = join(directory, 'scores.csv');
    const result = await rarefy(['score', '--model', modelDir, '--data', dataPath, '--out', out, '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(result.stdout) as {
      rows: number;
      out: string;
      seconds: number;
      runtime: string;
      kind: string;
    };
    expect(parsed).toMatchObject({ rows: 30000, out, runtime: 'in-process', kind: 'logistic' });
    expect(parsed.seconds).toBeGreaterThan(0);
    const scores = await readScores(out);
    expect(scores).toHaveLength(30000);
    // Shortest round-trip numbers: the file holds the in-process float64 values exactly.
    expect(worst(scores, await expectedScores(await loadModel(modelDir), dataPath))).toBe(0);
    expect((await readdir(directory)).filter((name) => name.includes('rarefy-tmp'))).toEqual([]);
  });

  it('scores with a bare .onnx file through onnxruntime, matching the saved model to 1e-5', async () => {
    const onnxPath = join(directory, 'model.onnx');
    expect((await rarefy(['export', '--model', modelDir, '--out', onnxPath])).code).toBe(0);
    const out = join(directory, 'onnx-scores.csv');
    const result = await rarefy(['score', '--model', onnxPath, '--data', dataPath, '--out', out, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ rows: 30000, runtime: 'onnxruntime', kind: 'onnx' });
    const scores = await readScores(out);
    expect(worst(scores, await expectedScores(await loadModel(modelDir), dataPath))).toBeLessThan(1e-5);
  });

  it('names the model columns the data lacks (exit 1), writing nothing', async () => {
    const partial = join(directory, 'partial.csv');
    await writeFile(partial, 'x1,x2,x4,x6\n0.1,0.2,0.3,0.4\n');
    const out = join(directory, 'never.csv');
    const result = await rarefy(['score', '--model', modelDir, '--data', partial, '--out', out, '--json']);
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout) as { error: { code: string; message: string; input: string } };
    expect(parsed.error.code).toBe('RAREFY_INVALID_ARGUMENT');
    expect(parsed.error.message).toMatch(/"x3", "x5"/);
    expect(parsed.error.message).not.toMatch(/"x1"/);
    expect(await readdir(directory)).not.toContain('never.csv');
  });

  it('prints a line for people without --json, and needs --model (usage error, exit 2)', async () => {
    const out = join(directory, 'text.csv');
    const result = await rarefy(['score', '--model', modelDir, '--data', dataPath, '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^scored 30,000 rows with .* \(logistic, in-process\); wrote /);
    expect((await rarefy(['score', '--data', dataPath, '--out', out])).code).toBe(2);
  });
});

describe('networks', () => {
  const VALUES = ['red', 'green', 'blue'];
  let pilot: NeuralPilot;
  let networkData: string;
  beforeAll(async () => {
    await selectBackend();
    pilot = new NeuralPilot({
      numeric: ['a', 'b'],
      categorical: [{ name: 'colour', buckets: 16, dimension: 3, hashSeed: 7 }],
      hidden: [4],
      activation: 'tanh',
      seed: 3,
    });
    networkData = join(directory, 'network.csv');
    const lines = ['a,b,colour'];
    for (let i = 0; i < 500; i++)
      lines.push(`${(i % 17) / 4 - 2},${(i % 5) - 2},${i % 9 === 0 ? '' : VALUES[i % 3]}`);
    await writeFile(networkData, `${lines.join('\n')}\n`);
  });
  afterAll(() => pilot.dispose());

  it('hashes string columns as the ONNX metadata says (missing values as the empty string)', () => {
    const transform = hashingTransform(
      {
        [METADATA_HASHING]: JSON.stringify({
          function: FEATURE_HASH_FUNCTION,
          seed: 0,
          buckets: 8,
          columns: ['c'],
          'c.seed': 5,
          'c.buckets': 32,
        }),
      },
      'm.onnx',
    );
    const batch: ColumnBatch = {
      schema: [{ name: 'c', type: 'string' }],
      rows: 3,
      firstRow: 0,
      columns: { c: { kind: 'dictionary', codes: Int32Array.from([1, -1, 0]), values: ['u', 'v'] } },
    };
    const hashed = transform?.(batch);
    expect(Array.from(hashed?.columns.c as Int32Array)).toEqual([
      hashFeature('v', 5, 32),
      hashFeature('', 5, 32),
      hashFeature('u', 5, 32),
    ]);
    expect(hashed?.schema).toEqual([{ name: 'c', type: 'integer' }]);
    expect(hashingTransform({}, 'm.onnx')).toBeUndefined();
  });

  it('scores a network saved as model.onnx only through onnxruntime, hashing its categorical column, to 1e-5 of tfjs', async () => {
    const folder = join(directory, 'network');
    const bytes = mlpToOnnx(neuralPilotOnnxOptions(pilot.exportWeights()));
    await writeModelFolder(folder, {
      kind: 'neural',
      schema: {
        features: [
          { name: 'a', type: 'number' },
          { name: 'b', type: 'number' },
          { name: 'colour', type: 'string' },
        ],
        label: 'y',
      },
      training: { design: 'unknown', estimator: 'unknown', sizes: {}, seed: 3 },
      model: { onnx: 'model.onnx' },
      files: [{ path: 'model.onnx', role: 'onnx', format: 'onnx', data: bytes }],
    });
    const out = join(directory, 'network-scores.csv');
    const result = await rarefy(['score', '--model', folder, '--data', networkData, '--out', out, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      rows: 500,
      runtime: 'onnxruntime',
      runtimeReason: 'the folder holds the network as model.onnx only (no saved weights for TensorFlow.js)',
      kind: 'neural',
    });
    expect(worst(await readScores(out), await expectedScores(pilot, networkData))).toBeLessThan(1e-5);
    const forced = await rarefy([
      'score',
      '--model',
      folder,
      '--data',
      networkData,
      '--out',
      out,
      '--runtime',
      'tfjs',
    ]);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(
      /runtime 'tfjs' cannot score this neural model \(the folder holds no network weights/,
    );
  });

  it('scores a saved NeuralPilot with the faster of TensorFlow.js and onnxruntime, and says which and why', async () => {
    const folder = join(directory, 'saved-network');
    await saveModel(folder, pilot, { label: 'y' });
    const expected = await expectedScores(pilot, networkData);
    const out = join(directory, 'saved-network-scores.csv');
    const result = await rarefy(['score', '--model', folder, '--data', networkData, '--out', out, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({ rows: 500, kind: 'neural', runtimeMeasuredRows: 500 });
    expect(['tfjs', 'onnxruntime']).toContain(parsed.runtime);
    expect(Object.keys(parsed.runtimeMilliseconds as object).sort()).toEqual(['onnxruntime', 'tfjs']);
    expect(parsed.runtimeReason).toMatch(/^measured on 500 rows of the first batch \(fastest of 2 runs\): /);
    expect(worst(await readScores(out), expected)).toBeLessThan(1e-5);

    // Forced, each runtime gives the same scores; tfjs gives the pilot's own, exactly.
    for (const runtime of ['tfjs', 'onnxruntime'] as const) {
      const forced = await rarefy([
        'score',
        '--model',
        folder,
        '--data',
        networkData,
        '--out',
        out,
        '--runtime',
        runtime,
      ]);
      expect(forced.code).toBe(0);
      // For people: the runtime and why on stderr, then the summary line on stdout.
      expect(forced.stderr).toContain(`runtime: ${runtime}${runtime === 'tfjs' ? ' (' : ':'}`);
      expect(forced.stderr).toContain(`forced (runtime '${runtime}')`);
      expect(forced.stdout).toMatch(new RegExp(`^scored 500 rows with .* \\(neural, ${runtime}`));
      const scores = await readScores(out);
      if (runtime === 'tfjs') expect(scores).toEqual(expected);
      else expect(worst(scores, expected)).toBeLessThan(1e-5);
    }
    const text = await rarefy(['score', '--model', folder, '--data', networkData, '--out', out]);
    expect(text.stderr).toMatch(
      /^runtime: (tfjs \(wasm\)|onnxruntime): measured on 500 rows of the first batch/m,
    );
  });

  it('reads a categorical column whose values look like numbers as strings, as the network was trained', async () => {
    const numericLooking = new NeuralPilot({
      numeric: ['a'],
      categorical: [{ name: 'site', buckets: 64, dimension: 2 }],
      hidden: [],
      activation: 'relu',
      seed: 9,
    });
    const folder = join(directory, 'sites');
    await saveModel(folder, numericLooking);
    const data = join(directory, 'sites.csv');
    const lines = ['a,site'];
    for (let i = 0; i < 50; i++) lines.push(`${i / 10},${1000 + (i % 7)}`);
    await writeFile(data, `${lines.join('\n')}\n`);
    const out = join(directory, 'sites-scores.csv');
    const result = await rarefy([
      'score',
      '--model',
      folder,
      '--data',
      data,
      '--out',
      out,
      '--runtime',
      'tfjs',
    ]);
    expect(result.code).toBe(0);
    const expected = numericLooking.predictProbability({
      rows: 50,
      numeric: Float64Array.from({ length: 50 }, (_, i) => i / 10),
      categorical: [
        {
          kind: 'dictionary',
          codes: Int32Array.from({ length: 50 }, (_, i) => i % 7),
          values: ['1000', '1001', '1002', '1003', '1004', '1005', '1006'],
        },
      ],
    });
    expect(await readScores(out)).toEqual(Array.from(expected));
    numericLooking.dispose();
  });
});
