import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelFolder, selectBackend, writeModelFolder } from '@rarefy/model-kit/node';
import { type ColumnBatch, createRng, isRarefyError, type Pilot } from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NeuralPilot } from '../neural/neural-pilot.js';
import { OnnxPilot } from './onnx-pilot.js';
import { RuntimeChoosingPilot } from './runtime.js';
import { loadModel, openModel, saveModel } from './saved-model.js';

const COLOURS = ['red', 'green', 'blue', 'cyan', 'magenta'];

/** Rows with three numeric columns, a string column (some missing) and a label. */
function rows(count: number, seed: number): ColumnBatch {
  const rng = createRng(seed);
  const a = Float64Array.from({ length: count }, () => 3 + 2 * rng.normal());
  const b = Float64Array.from({ length: count }, () => rng.normal());
  const c = Float64Array.from({ length: count }, () => -5 + 4 * rng.normal());
  const codes = Int32Array.from({ length: count }, () => rng.nextInt(COLOURS.length + 1) - 1);
  const y = Uint8Array.from(codes, (code, i) =>
    rng.nextFloat64() < 1 / (1 + Math.exp(2.5 - 0.6 * (a[i] as number) + 0.3 * code)) ? 1 : 0,
  );
  return {
    schema: [
      { name: 'a', type: 'number' },
      { name: 'b', type: 'number' },
      { name: 'c', type: 'number' },
      { name: 'colour', type: 'string' },
      { name: 'y', type: 'label' },
    ],
    rows: count,
    firstRow: 0,
    columns: { a, b, c, colour: { kind: 'dictionary', codes, values: COLOURS }, y },
  };
}

function worst(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs((a[i] as number) - (b[i] as number)));
  return most;
}

async function expectError(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  try {
    await promise;
    expect.unreachable();
  } catch (error) {
    expect(isRarefyError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    expect((error as Error).message).toMatch(message);
  }
}

let root: string;
let pilot: NeuralPilot;
let dir: string;
const scoring = rows(3000, 2);
let expected: Float64Array;

beforeAll(async () => {
  await selectBackend();
  root = await mkdtemp(join(tmpdir(), 'rarefy-neural-saved-'));
  pilot = new NeuralPilot({
    numeric: ['a', 'b', 'c'],
    categorical: [{ name: 'colour', buckets: 32, dimension: 3, hashSeed: 11 }],
    hidden: [8, 4],
    activation: 'relu',
    seed: 5,
  });
  await pilot.train({
    batch: rows(2000, 1),
    offset: new Float64Array(2000).fill(0.5),
    epochs: 2,
    batchSize: 128,
    learningRate: 0.01,
  });
  expected = pilot.predictProbability(scoring);
  dir = join(root, 'network');
  await saveModel(dir, pilot, { label: 'y', training: { design: 'optA' } });
});
afterAll(async () => {
  pilot.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('NeuralPilot saved as a folder', () => {
  it('writes the network, its weights, its tables and model.onnx, with schema, hashing and training', async () => {
    expect((await readdir(dir)).sort()).toEqual([
      'embeddings.bin',
      'manifest.json',
      'model.onnx',
      'network.json',
      'weights.bin',
    ]);
    const { manifest, files } = await readModelFolder(dir);
    expect(manifest.kind).toBe('neural');
    expect(manifest.schema).toEqual({
      features: [
        { name: 'a', type: 'number' },
        { name: 'b', type: 'number' },
        { name: 'c', type: 'number' },
        { name: 'colour', type: 'string' },
      ],
      label: 'y',
      hashing: {
        'colour.seed': 11,
        'colour.buckets': 32,
        function: 'murmur3_x86_32-utf8',
        seed: 11,
        buckets: 32,
        columns: ['colour'],
      },
    });
    expect(manifest.training).toMatchObject({
      design: 'optA',
      estimator: 'log-odds',
      sizes: { rows: 2000 },
      seed: 5,
      epochs: 2,
      offset: true,
    });
    expect(manifest.model).toMatchObject({
      network: 'network.json',
      weights: 'weights.bin',
      onnx: 'model.onnx',
    });
    // 3+3 inputs -> 8 -> 4 -> 1: (6*8 + 8) + (8*4 + 4) + (4*1 + 1) floats; 32 x 3 table floats.
    expect(files.get('weights.bin')?.byteLength).toBe(4 * (56 + 36 + 5));
    expect(files.get('embeddings.bin')?.byteLength).toBe(4 * 96);
  });

  it('loads back into TensorFlow.js with exactly the saved pilot’s probabilities', async () => {
    const model = await openModel(dir, { runtime: 'tfjs' });
    expect(model.pilot).toBeInstanceOf(NeuralPilot);
    expect(model.choice).toMatchObject({ runtime: 'tfjs', reason: "forced (runtime 'tfjs')" });
    expect(model.kind).toBe('neural');
    const again = model.pilot as NeuralPilot;
    expect(Array.from(again.predictProbability(scoring))).toEqual(Array.from(expected));
    const weights = again.exportWeights();
    const original = pilot.exportWeights();
    expect(weights.spec).toEqual(original.spec);
    expect(weights.numeric).toEqual(original.numeric);
    expect(weights.layers).toEqual(original.layers);
    expect(weights.embeddings).toEqual(original.embeddings);
    // Saved again untrained, it keeps the training record it was loaded with.
    expect(again.toSavedModel().training).toEqual((await readModelFolder(dir)).manifest.training);
    again.dispose();
  });

  it('scores through its model.onnx (string column hashed as the metadata says) to 1e-5', async () => {
    const onnx = await loadModel(dir, { runtime: 'onnxruntime' });
    expect(onnx).toBeInstanceOf(OnnxPilot);
    const probabilities = await onnx.predictProbability(scoring);
    console.log(
      `saved NeuralPilot, onnxruntime vs tfjs: max |difference| ${worst(probabilities, expected).toExponential(2)}`,
    );
    expect(worst(probabilities, expected)).toBeLessThan(1e-5);
    await (onnx as OnnxPilot).release();
  });

  it('chooses the faster runtime on the first batch by default and reports why', async () => {
    const choices: unknown[] = [];
    const model = await openModel(dir, { runtimeChoice: { onChoice: (choice) => choices.push(choice) } });
    expect(model.pilot).toBeInstanceOf(RuntimeChoosingPilot);
    expect(model.choice).toBeNull();
    const first = await model.pilot.predictProbability(scoring);
    expect(worst(first, expected)).toBeLessThan(1e-5);
    const choice = model.choice;
    expect(choices).toEqual([choice]);
    expect(['tfjs', 'onnxruntime']).toContain(choice?.runtime);
    expect(Object.keys(choice?.milliseconds ?? {}).sort()).toEqual(['onnxruntime', 'tfjs']);
    expect(choice?.measuredRows).toBe(3000);
    expect(choice?.reason).toMatch(/^measured on 3,000 rows of the first batch \(fastest of 2 runs\): /);
    console.log(`runtime choice: ${choice?.runtime}: ${choice?.reason}`);
    expect(worst(await model.pilot.predictProbability(scoring), expected)).toBeLessThan(1e-5);
    await (model.pilot as RuntimeChoosingPilot).release();
  });

  it('saves a network without categorical columns without embeddings.bin, and loads it', async () => {
    const numeric = new NeuralPilot({
      numeric: ['a', 'b'],
      categorical: [],
      hidden: [],
      activation: 'tanh',
      seed: 1,
    });
    await numeric.train({ batch: rows(500, 3), epochs: 1, batchSize: 100, learningRate: 0.01 });
    const numericDir = join(root, 'numeric');
    const manifest = await saveModel(numericDir, numeric, { onnx: false });
    expect(manifest.files.map((file) => file.path)).toEqual(['network.json', 'weights.bin']);
    expect(manifest.model).toMatchObject({ embeddings: null, onnx: null });
    const model = await openModel(numericDir);
    expect(model.choice?.reason).toBe('the folder has no model.onnx, so its weights run in TensorFlow.js');
    expect(Array.from(await model.pilot.predictProbability(scoring))).toEqual(
      Array.from(numeric.predictProbability(scoring)),
    );
    await expectError(
      openModel(numericDir, { runtime: 'onnxruntime' }),
      'RAREFY_INVALID_ARGUMENT',
      /no model\.onnx/,
    );
    numeric.dispose();
    (model.pilot as NeuralPilot).dispose();
  });

  it('names the file when the network description or the weights are wrong', async () => {
    const contents = pilot.toSavedModel({ onnx: false });
    const withFile = (path: string, data: string | Uint8Array) => ({
      ...contents,
      files: contents.files.map((file) => (file.path === path ? { ...file, data } : file)),
    });
    const broken = join(root, 'broken');
    await writeModelFolder(broken, withFile('network.json', '{"format":"rarefy-neural-mlp","version":1}'));
    await expectError(
      openModel(broken, { runtime: 'tfjs' }),
      'RAREFY_PARSE_ERROR',
      /broken\/network\.json: is not a rarefy-neural-mlp/,
    );
    await writeModelFolder(broken, withFile('weights.bin', new Uint8Array(8)));
    await expectError(
      openModel(broken),
      'RAREFY_PARSE_ERROR',
      /weights\.bin: layers\[0\]\.weights lies outside the file's 2 floats/,
    );
    // An ONNX-only neural folder cannot be forced onto TensorFlow.js.
    const onnxOnly = join(root, 'onnx-only');
    const full = pilot.toSavedModel();
    await writeModelFolder(onnxOnly, {
      ...full,
      model: { onnx: 'model.onnx' },
      files: full.files.filter((file) => file.path === 'model.onnx'),
    });
    await expectError(
      openModel(onnxOnly, { runtime: 'tfjs' }),
      'RAREFY_INVALID_ARGUMENT',
      /holds no network weights/,
    );
    const viaOnnx = await openModel(onnxOnly);
    expect(viaOnnx.choice?.reason).toMatch(/model\.onnx only/);
    await (viaOnnx.pilot as OnnxPilot).release();
  });
});

describe('RuntimeChoosingPilot', () => {
  it('keeps the candidate with the fastest timed run, releases the other, and scores with it', async () => {
    let clock = 0;
    const released: string[] = [];
    const fake = (cost: number, value: number, name: string): Pilot & { release(): void } => ({
      features: ['x'],
      predictProbability: (batch) => {
        clock += cost * batch.rows;
        return new Float64Array(batch.rows).fill(value);
      },
      release: () => {
        released.push(name);
      },
    });
    const chooser = new RuntimeChoosingPilot(
      [
        { runtime: 'tfjs', pilot: fake(5, 0.25, 'tfjs'), backend: 'wasm' },
        { runtime: 'onnxruntime', pilot: fake(2, 0.75, 'onnx') },
      ],
      { now: () => clock, sampleRows: 10, repeats: 3 },
    );
    const batch: ColumnBatch = { schema: [], rows: 40, firstRow: 0, columns: {} };
    expect(Array.from(await chooser.predictProbability(batch))).toEqual(new Array(40).fill(0.75));
    expect(chooser.choice).toEqual({
      runtime: 'onnxruntime',
      reason:
        'measured on 10 rows of the first batch (fastest of 3 runs): onnxruntime 20.00 ms, tfjs (wasm) 50.00 ms (2.50x slower)',
      milliseconds: { tfjs: 50, onnxruntime: 20 },
      measuredRows: 10,
    });
    expect(released).toEqual(['tfjs']);
    await chooser.release();
    expect(released).toEqual(['tfjs', 'onnx']);
  });

  it('answers the first batch from the timed runs when they scored all of it', async () => {
    const calls: number[] = [];
    const counting = (value: number): Pilot => ({
      features: [],
      predictProbability: (batch) => {
        calls.push(value);
        return new Float64Array(batch.rows).fill(value);
      },
    });
    const chooser = new RuntimeChoosingPilot([
      { runtime: 'tfjs', pilot: counting(1) },
      { runtime: 'onnxruntime', pilot: counting(2) },
    ]);
    const batch: ColumnBatch = { schema: [], rows: 1000, firstRow: 0, columns: {} };
    const first = await chooser.predictProbability(batch);
    // One warm-up and two timed runs each, interleaved; no fourth run for the answer.
    expect(calls).toEqual([1, 2, 1, 2, 1, 2]);
    expect(first.length).toBe(1000);
    expect(chooser.choice?.measuredRows).toBe(1000);
    await chooser.predictProbability(batch);
    expect(calls).toHaveLength(7);
  });
});
