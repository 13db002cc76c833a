import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ELEMENT_FLOAT,
  ELEMENT_INT64,
  encodeModel,
  floatInitializer,
  intAttribute,
  onnxNode as node,
  onnx,
  tensorValueInfo,
} from '@rarefy/model-kit';
import {
  type ColumnBatch,
  type DictionaryColumn,
  designMatrix,
  isRarefyError,
  sigmoid,
  simulateRareEvents,
} from '@rarefy/sampling-core';
import { afterAll, describe, expect, it } from 'vitest';
import { batchFromMatrix, uniformValues } from '../__fixtures__/design-batch.js';
import { LogisticPilot } from '../logistic-pilot.js';
import { mlpToOnnx } from '../onnx/mlp.js';
import { OnnxPilot } from './onnx-pilot.js';

/** float32 inference against float64 in-process scoring (see onnx/logistic.test.ts). */
const PROBABILITY_TOLERANCE = 1e-5;

const data = simulateRareEvents({ rows: 20_000, seed: 21 });
const pilot = LogisticPilot.fit({ x: data.x, y: data.y, pilotSize: 400, seed: 1 });
const rows = 1_000;
const heldOut = designMatrix(uniformValues(rows * 6, 4, -3, 3), ['x1', 'x2', 'x3', 'x4', 'x5', 'x6']);
const batch = batchFromMatrix(heldOut);
const expected = pilot.predictMatrix(heldOut);

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

/** The same model with its metadata removed: what a model exported elsewhere looks like. */
function withoutMetadata(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  model.metadataProps = [];
  return onnx.ModelProto.encode(model).finish();
}

/**
 * A scikit-learn-style export: outputs `label` (int64 [N]) then `probabilities` ([N, 2] = [1 - p, p]).
 */
function sklearnStyle(coefficients: Float64Array): Uint8Array {
  const p = coefficients.length - 1;
  return encodeModel({
    name: 'sklearn_like',
    doc: '',
    nodes: [
      node('MatMul', ['float_input', 'w'], ['z0'], 'mm'),
      node('Add', ['z0', 'b'], ['z'], 'add'),
      node('Sigmoid', ['z'], ['p1'], 'sig'),
      node('Sub', ['one', 'p1'], ['p0'], 'sub'),
      node('Concat', ['p0', 'p1'], ['probabilities'], 'concat', [intAttribute('axis', 1)]),
      node('Greater', ['p1', 'half'], ['is_positive'], 'gt'),
      node('Cast', ['is_positive'], ['label_2d'], 'cast', [intAttribute('to', ELEMENT_INT64)]),
      node('Flatten', ['label_2d'], ['label_flat'], 'flatten', [intAttribute('axis', 0)]),
      node('Squeeze', ['label_flat'], ['label'], 'squeeze'),
    ],
    initializers: [
      floatInitializer('w', [p, 1], coefficients.subarray(1)),
      floatInitializer('b', [1], [coefficients[0] as number]),
      floatInitializer('one', [1], [1]),
      floatInitializer('half', [1], [0.5]),
    ],
    inputs: [tensorValueInfo('float_input', ELEMENT_FLOAT, [p])],
    outputs: [
      onnx.ValueInfoProto.create({ name: 'label', type: { tensorType: { elemType: ELEMENT_INT64 } } }),
      tensorValueInfo('probabilities', ELEMENT_FLOAT, [2]),
    ],
    metadata: {},
  });
}

const folder = await mkdtemp(join(tmpdir(), 'rarefy-onnx-pilot-'));
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('OnnxPilot', () => {
  it('scores an exported LogisticPilot (from a file) like the pilot, detecting a probability output', async () => {
    const path = join(folder, 'pilot.onnx');
    await writeFile(path, pilot.toOnnx());
    const onnxPilot = await OnnxPilot.create(path);
    expect(onnxPilot.features).toEqual(pilot.features); // read from the model's metadata
    expect(onnxPilot.detectedOutputKind).toBeNull();
    const probability = await onnxPilot.predictProbability(batch);
    expect(onnxPilot.detectedOutputKind).toBe('probability');
    const error = maxAbsDifference(probability, expected);
    console.info(`OnnxPilot parity (probability output): max error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(PROBABILITY_TOLERANCE);
    await onnxPilot.release();
  });

  it('detects a logit output from its values (no metadata, no Sigmoid) and applies the sigmoid', async () => {
    const bytes = withoutMetadata(pilot.toOnnx({ output: 'logit' }));
    const onnxPilot = await OnnxPilot.create(bytes, { features: pilot.features });
    const probability = await onnxPilot.predictProbability(batch);
    expect(onnxPilot.detectedOutputKind).toBe('logit');
    expect(maxAbsDifference(probability, expected)).toBeLessThan(PROBABILITY_TOLERANCE);
    await onnxPilot.release();
  });

  it('detects a probability output from the Sigmoid node when the model carries no metadata', async () => {
    const onnxPilot = await OnnxPilot.create(withoutMetadata(pilot.toOnnx()), { features: pilot.features });
    expect(onnxPilot.summary.outputScale.probability).toBe('probability');
    await onnxPilot.predictProbability(batch);
    expect(onnxPilot.detectedOutputKind).toBe('probability');
    await onnxPilot.release();
  });

  it('honours an explicit outputKind, and errors when a "probability" leaves [0, 1]', async () => {
    const logitModel = withoutMetadata(pilot.toOnnx({ output: 'logit' }));
    const asLogit = await OnnxPilot.create(logitModel, { features: pilot.features, outputKind: 'logit' });
    expect(maxAbsDifference(await asLogit.predictProbability(batch), expected)).toBeLessThan(
      PROBABILITY_TOLERANCE,
    );
    await asLogit.release();
    const wrong = await OnnxPilot.create(logitModel, { features: pilot.features, outputKind: 'probability' });
    await expect(wrong.predictProbability(batch)).rejects.toThrowError(
      /outside \[0, 1\].*outputKind: 'logit'/,
    );
    await wrong.release();
  });

  it("reads a scikit-learn-style export: skips the int64 label, takes column 1 of 'probabilities'", async () => {
    const onnxPilot = await OnnxPilot.create(sklearnStyle(pilot.coefficients), { features: pilot.features });
    expect(onnxPilot.outputName).toBe('probabilities');
    const probability = await onnxPilot.predictProbability(batch);
    expect(onnxPilot.detectedOutputKind).toBe('probability');
    expect(maxAbsDifference(probability, expected)).toBeLessThan(PROBABILITY_TOLERANCE);
    await onnxPilot.release();
  });

  it('names the expected input shape and the columns given when they do not match', async () => {
    try {
      await OnnxPilot.create(pilot.toOnnx(), { features: ['x1', 'x2', 'x3'] });
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
      expect((error as Error).message).toContain(
        'input "features" expects float32 [N, 6], but 3 columns were given (x1, x2, x3)',
      );
    }
    await expect(
      OnnxPilot.create(pilot.toOnnx(), { inputName: 'pixels', features: pilot.features }),
    ).rejects.toThrowError(/no input "pixels" \(inputs: "features" float32 \[N, 6\]\)/);
    await expect(OnnxPilot.create(withoutMetadata(pilot.toOnnx()))).rejects.toThrowError(
      /does not say which columns feed its input "features" float32 \[N, 6\].*pass features/,
    );
    await expect(OnnxPilot.create(pilot.toOnnx(), { outputName: 'score' })).rejects.toThrowError(
      /no output "score" \(outputs: "probability" float32 \[N, 1\]\)/,
    );
    const onnxPilot = await OnnxPilot.create(pilot.toOnnx());
    const { x4: _dropped, ...columns } = batch.columns;
    await expect(onnxPilot.predictProbability({ ...batch, columns })).rejects.toThrowError(
      /batch: no column "x4" for ONNX input "features"/,
    );
    await onnxPilot.release();
    await expect(OnnxPilot.create(join(folder, 'absent.onnx'))).rejects.toThrowError(
      /cannot read the ONNX model/,
    );
  });

  it('feeds numeric features and hashed ids to a multi-input network, bound from its metadata', async () => {
    const table = Float32Array.from({ length: 4 * 2 }, (_, k) => (k % 3) - 1);
    const bytes = mlpToOnnx({
      numericFeatures: ['x1', 'x2'],
      embeddings: [{ inputName: 'site', column: 'site_id', table, buckets: 4, dimension: 2 }],
      layers: [
        {
          weights: new Float32Array([0.5, -0.25, 1, 2]),
          bias: new Float32Array([-0.5]),
          activation: 'linear',
        },
      ],
    });
    const onnxPilot = await OnnxPilot.create(bytes);
    expect(onnxPilot.inputs).toEqual([
      { name: 'features', columns: ['x1', 'x2'], type: 'float32' },
      { name: 'site', columns: ['site_id'], type: 'int64' },
    ]);
    const small: ColumnBatch = {
      schema: [],
      rows: 3,
      firstRow: 0,
      columns: {
        x1: new Float64Array([1, 0, -1]),
        x2: new Float64Array([2, 1, 0]),
        site_id: new Int32Array([0, 3, 1]),
      },
    };
    const probability = await onnxPilot.predictProbability(small);
    for (let i = 0; i < 3; i++) {
      const id = (small.columns.site_id as Int32Array)[i] as number;
      const x1 = (small.columns.x1 as Float64Array)[i] as number;
      const x2 = (small.columns.x2 as Float64Array)[i] as number;
      const logit =
        -0.5 + 0.5 * x1 - 0.25 * x2 + 1 * (table[id * 2] as number) + 2 * (table[id * 2 + 1] as number);
      expect(probability[i]).toBeCloseTo(sigmoid(logit), 6);
    }
    const strings: DictionaryColumn = {
      kind: 'dictionary',
      codes: new Int32Array([0, 1, 0]),
      values: ['a', 'b'],
    };
    await expect(
      onnxPilot.predictProbability({ ...small, columns: { ...small.columns, site_id: strings } }),
    ).rejects.toThrowError(/column "site_id" holds strings.*hash the column/);
    // A transform can hash strings into ids before the columns are read.
    const hashing = await OnnxPilot.create(bytes, {
      transform: (batch) => {
        const column = batch.columns.site_id as DictionaryColumn;
        const ids = Int32Array.from(column.codes, (code) => (code === 0 ? 0 : 3));
        return { ...batch, columns: { ...batch.columns, site_id: ids } };
      },
    });
    const viaStrings = await hashing.predictProbability({
      ...small,
      columns: { ...small.columns, site_id: strings },
    });
    expect(viaStrings[1]).toBeCloseTo(probability[1] as number, 7); // 'b' -> id 3, as row 1 of `small`
    expect(viaStrings[0]).toBeCloseTo(probability[0] as number, 7); // 'a' -> id 0, as row 0
    await hashing.release();
    await expect(
      onnxPilot.predictProbability({
        ...small,
        columns: { ...small.columns, site_id: new Float64Array([0.5, 1, 2]) },
      }),
    ).rejects.toThrowError(/row 0 is 0.5, not an integer id/);
    await onnxPilot.release();
  });

  it('returns an empty result for an empty batch', async () => {
    const onnxPilot = await OnnxPilot.create(pilot.toOnnx());
    expect(await onnxPilot.predictProbability({ ...batch, rows: 0, columns: {} })).toEqual(
      new Float64Array(0),
    );
    await onnxPilot.release();
  });
});
