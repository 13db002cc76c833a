import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SavedModelContents } from '@rarefy/model-kit';
import { readModelFolder, writeModelFolder } from '@rarefy/model-kit/node';
import { type ColumnBatch, isRarefyError, simulateRareEvents } from '@rarefy/sampling-core';
import { afterAll, describe, expect, it } from 'vitest';
import { batchFromMatrix } from '../__fixtures__/design-batch.js';
import { LogisticPilot } from '../logistic-pilot.js';
import { mlpToOnnx } from '../onnx/mlp.js';
import { OnnxPilot } from './onnx-pilot.js';
import { loadModel, saveModel } from './saved-model.js';

const data = simulateRareEvents({ rows: 20_000, seed: 8 });
const pilot = LogisticPilot.fit({ x: data.x, y: data.y, pilotSize: 400, seed: 4 });
const batch = batchFromMatrix(data.x, data.y);
const root = await mkdtemp(join(tmpdir(), 'rarefy-saved-model-'));
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

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

function neuralContents(): SavedModelContents<'neural'> {
  const bytes = mlpToOnnx({
    numericFeatures: ['x1', 'x2'],
    layers: [{ weights: new Float32Array([0.5, -0.5]), bias: new Float32Array([-1]), activation: 'linear' }],
  });
  return {
    kind: 'neural',
    schema: {
      features: [
        { name: 'x1', type: 'number' },
        { name: 'x2', type: 'number' },
      ],
      label: 'y',
    },
    training: {
      design: 'optA',
      estimator: 'log-odds',
      sizes: { negatives: 10, positives: 10 },
      seed: 1,
      epochs: 3,
    },
    model: { layers: [2, 1] },
    files: [{ path: 'model.onnx', role: 'onnx', format: 'onnx', data: bytes }],
  };
}

describe('saveModel and loadModel', () => {
  it('round-trips a fitted LogisticPilot exactly', async () => {
    const dir = join(root, 'pilot');
    const manifest = await saveModel(dir, pilot, { label: 'y' });
    expect(manifest).toMatchObject({
      kind: 'logistic',
      formatVersion: 1,
      schema: { features: pilot.features.map((name) => ({ name, type: 'number' })), label: 'y' },
      training: { design: 'balanced', estimator: 'case-control', seed: 4 },
      model: { coefficients: 'coefficients.json', intercept: true, onnx: 'model.onnx' },
    });
    expect(manifest.files.map((file) => file.path)).toEqual(['coefficients.json', 'model.onnx']);
    expect((await readdir(dir)).sort()).toEqual(['coefficients.json', 'manifest.json', 'model.onnx']);
    const onDisk = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(manifest)));

    const loaded = await loadModel(dir);
    expect(loaded).toBeInstanceOf(LogisticPilot);
    const logistic = loaded as LogisticPilot;
    expect(Array.from(logistic.coefficients)).toEqual(Array.from(pilot.coefficients));
    expect(logistic.names).toEqual(pilot.names);
    expect(logistic.fitted).toEqual(pilot.fitted);
    expect(logistic.training).toEqual(pilot.training);
    expect(Array.from(await loaded.predictProbability(batch))).toEqual(
      Array.from(pilot.predictProbability(batch)),
    );
  });

  it('writes a model.onnx that scores like the pilot, and loads a bare .onnx path', async () => {
    const dir = join(root, 'pilot-onnx');
    await saveModel(dir, pilot);
    const onnxPilot = await loadModel(join(dir, 'model.onnx'));
    expect(onnxPilot).toBeInstanceOf(OnnxPilot);
    const p = await onnxPilot.predictProbability(batch);
    const expected = pilot.predictProbability(batch);
    let worst = 0;
    for (let i = 0; i < p.length; i++)
      worst = Math.max(worst, Math.abs((p[i] as number) - (expected[i] as number)));
    expect(worst).toBeLessThan(1e-5);
    await (onnxPilot as OnnxPilot).release();
  });

  it('replaces an existing saved model and leaves no temporary folders', async () => {
    const dir = join(root, 'replaced');
    await saveModel(dir, pilot, { onnx: false });
    const other = LogisticPilot.fromCoefficients(['(Intercept)', 'x1'], [-2, 1]);
    await saveModel(dir, other, { onnx: false });
    const loaded = (await loadModel(dir)) as LogisticPilot;
    expect(Array.from(loaded.coefficients)).toEqual([-2, 1]);
    expect(loaded.training).toEqual({ design: 'unknown', estimator: 'unknown', sizes: {}, seed: null });
    expect((await readdir(root)).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('a failed save leaves neither a half folder nor a temporary one, and keeps the previous model', async () => {
    const dir = join(root, 'failing');
    let targetDuringWrite: string | null = null;
    const failing: SavedModelContents = {
      ...neuralContents(),
      files: [
        { path: 'first.json', role: 'config', format: 'json', data: '{}' },
        {
          path: 'second.bin',
          role: 'weights',
          format: 'float32-le',
          get data(): Uint8Array {
            throw new Error('disk full (injected)');
          },
        },
      ],
    };
    // No previous model: nothing appears.
    await expectError(
      writeModelFolder(dir, failing),
      'RAREFY_IO_ERROR',
      /failing: cannot write the saved model \(disk full/,
    );
    await expect(stat(dir)).rejects.toThrowError(/ENOENT/);
    // A previous model: it survives untouched; mid-write, the target still held the old model.
    await saveModel(dir, pilot);
    const before = await readFile(join(dir, 'manifest.json'), 'utf8');
    const probing: SavedModelContents = {
      ...failing,
      files: [
        { path: 'first.json', role: 'config', format: 'json', data: '{}' },
        {
          path: 'second.bin',
          role: 'weights',
          format: 'float32-le',
          get data(): Uint8Array {
            targetDuringWrite = readFileSync(join(dir, 'manifest.json'), 'utf8');
            throw new Error('killed (injected)');
          },
        },
      ],
    };
    await expectError(writeModelFolder(dir, probing), 'RAREFY_IO_ERROR', /killed/);
    // Mid-write the target still held the complete previous model (the new one is in a temporary folder).
    expect(targetDuringWrite).toBe(before);
    expect(await readFile(join(dir, 'manifest.json'), 'utf8')).toBe(before);
    expect((await readdir(root)).filter((name) => name.startsWith('.'))).toEqual([]);
    expect(await loadModel(dir)).toBeInstanceOf(LogisticPilot);
  });

  it('refuses to replace a folder that is not a saved model, and unsafe file names', async () => {
    const dir = join(root, 'precious');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'keep me');
    await expectError(saveModel(dir, pilot), 'RAREFY_IO_ERROR', /is not a saved model.*not replaced/);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
    const unsafe = {
      ...neuralContents(),
      files: [{ path: '../escape.json', role: 'config', format: 'json', data: '{}' }],
    } as const;
    await expectError(
      writeModelFolder(join(root, 'unsafe'), unsafe),
      'RAREFY_INVALID_ARGUMENT',
      /not a plain file name/,
    );
  });

  it('saves other kinds through the same writer and loads them with a loader or through model.onnx', async () => {
    const dir = join(root, 'neural');
    await saveModel(dir, { toSavedModel: () => neuralContents() });
    const folder = await readModelFolder(dir);
    expect(folder.manifest.kind).toBe('neural');
    expect(folder.manifest.training).toMatchObject({ epochs: 3 });
    expect(folder.manifest.model).toEqual({ layers: [2, 1] });
    const viaOnnx = await loadModel(dir);
    expect(viaOnnx).toBeInstanceOf(OnnxPilot);
    const small: ColumnBatch = {
      schema: [],
      rows: 1,
      firstRow: 0,
      columns: { x1: new Float64Array([2]), x2: new Float64Array([1]) },
    };
    expect((await viaOnnx.predictProbability(small))[0]).toBeCloseTo(1 / (1 + Math.exp(-(-1 + 1 - 0.5))), 6);
    await (viaOnnx as OnnxPilot).release();
    const custom = await loadModel(dir, {
      loaders: {
        neural: (read) => ({
          features: ['x1'],
          predictProbability: () => new Float64Array([read.files.size]),
        }),
      },
    });
    expect(await custom.predictProbability(small)).toEqual(new Float64Array([1]));
  });

  it('names the file and the problem when a folder is damaged', async () => {
    const dir = join(root, 'damaged');
    await saveModel(dir, pilot);
    const manifestPath = join(dir, 'manifest.json');
    const good = JSON.parse(await readFile(manifestPath, 'utf8'));
    const write = (value: unknown): Promise<void> => writeFile(manifestPath, JSON.stringify(value));

    await write({ ...good, kind: 'forest' });
    await expectError(loadModel(dir), 'RAREFY_PARSE_ERROR', /manifest\.json: unknown model kind "forest"/);
    await write({ ...good, formatVersion: 2 });
    await expectError(loadModel(dir), 'RAREFY_PARSE_ERROR', /formatVersion 2 is not supported.*upgrade/);
    await write({ ...good, files: [...good.files, { ...good.files[0], path: 'extra.json' }] });
    await expectError(loadModel(dir), 'RAREFY_IO_ERROR', /extra\.json: listed in manifest\.json but missing/);
    await write({ ...good, model: { ...good.model, coefficients: 'nowhere.json' } });
    await expectError(loadModel(dir), 'RAREFY_PARSE_ERROR', /model\.coefficients does not name a file/);
    await writeFile(manifestPath, '{ not json');
    await expectError(loadModel(dir), 'RAREFY_PARSE_ERROR', /manifest\.json: not JSON/);
    await write(good);
    await writeFile(join(dir, 'coefficients.json'), '{"names":[],"coefficients":[],"intercept":true}');
    await expectError(loadModel(dir), 'RAREFY_PARSE_ERROR', /coefficients\.json: .*bytes with SHA-256/);
    await rm(manifestPath);
    await expectError(
      loadModel(dir),
      'RAREFY_IO_ERROR',
      /manifest\.json: missing: this is not a saved model folder/,
    );
    await expectError(loadModel(join(root, 'nothing-here')), 'RAREFY_IO_ERROR', /does not exist/);
  });
});
