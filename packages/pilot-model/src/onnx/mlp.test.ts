import { createRng, sigmoid } from '@rarefy/sampling-core';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { uniformValues } from '../__fixtures__/design-batch.js';
import { inspectOnnxModel } from './inspect.js';
import { type MlpEmbedding, type MlpLayer, mlpToOnnx } from './mlp.js';

/** float32 weights and activations against a float64 reference: 1e-5 on probabilities (see logistic.test.ts). */
const PROBABILITY_TOLERANCE = 1e-5;

const rng = createRng('mlp-test');
const randomFloat32 = (count: number, scale: number): Float32Array =>
  Float32Array.from({ length: count }, () => scale * (2 * rng.nextFloat64() - 1));

// 3 numeric features + embeddings of width 2 (5 buckets) and 3 (7 buckets) -> 8 -> 6 relu -> 4 tanh -> 1.
const embeddings: MlpEmbedding[] = [
  { inputName: 'site', table: randomFloat32(5 * 2, 1), buckets: 5, dimension: 2 },
  { inputName: 'app', column: 'app_id', table: randomFloat32(7 * 3, 1), buckets: 7, dimension: 3 },
];
const layers: MlpLayer[] = [
  { weights: randomFloat32(8 * 6, 0.8), bias: randomFloat32(6, 0.3), activation: 'relu' },
  { weights: randomFloat32(6 * 4, 0.8), bias: randomFloat32(4, 0.3), activation: 'tanh' },
  { weights: randomFloat32(4 * 1, 1.5), bias: randomFloat32(1, 0.3), activation: 'linear' },
];

/** The same network in plain float64 JavaScript, written out by hand. */
function referenceLogit(numeric: ArrayLike<number>, site: number, app: number): number {
  const site0 = embeddings[0] as MlpEmbedding;
  const app0 = embeddings[1] as MlpEmbedding;
  let h: number[] = [
    ...Array.from(numeric),
    ...Array.from(site0.table.subarray(site * 2, site * 2 + 2)),
    ...Array.from(app0.table.subarray(app * 3, app * 3 + 3)),
  ];
  for (const layer of layers) {
    const out = layer.bias.length;
    const next: number[] = [];
    for (let o = 0; o < out; o++) {
      let sum = layer.bias[o] as number;
      for (let k = 0; k < h.length; k++) sum += (h[k] as number) * (layer.weights[k * out + o] as number);
      next.push(
        layer.activation === 'relu' ? Math.max(0, sum) : layer.activation === 'tanh' ? Math.tanh(sum) : sum,
      );
    }
    h = next;
  }
  return h[0] as number;
}

describe('mlpToOnnx', () => {
  const rows = 1_000;
  const numeric = uniformValues(rows * 3, 7, -2, 2);
  const site = Int32Array.from({ length: rows }, (_, i) => (i * 7 + 3) % 5);
  const app = Int32Array.from({ length: rows }, (_, i) => (i * 11 + 1) % 7);
  const feeds = (offset?: Float64Array): Record<string, Tensor> => ({
    features: new Tensor('float32', Float32Array.from(numeric), [rows, 3]),
    site: new Tensor(
      'int64',
      BigInt64Array.from(site, (v) => BigInt(v)),
      [rows],
    ),
    app: new Tensor(
      'int64',
      BigInt64Array.from(app, (v) => BigInt(v)),
      [rows],
    ),
    ...(offset === undefined ? {} : { offset: new Tensor('float32', Float32Array.from(offset), [rows, 1]) }),
  });
  const logits = Float64Array.from({ length: rows }, (_, i) =>
    referenceLogit(numeric.subarray(i * 3, i * 3 + 3), site[i] as number, app[i] as number),
  );

  it('matches a hand-computed MLP with embeddings to 1e-5 on 1,000 rows', async () => {
    const bytes = mlpToOnnx({ layers, embeddings, numericFeatures: ['a', 'b', 'c'] });
    const session = await InferenceSession.create(bytes);
    const result = await session.run(feeds());
    await session.release();
    const probability = result.probability?.data as Float32Array;
    expect(result.probability?.dims).toEqual([rows, 1]);
    let worst = 0;
    for (let i = 0; i < rows; i++)
      worst = Math.max(worst, Math.abs((probability[i] as number) - sigmoid(logits[i] as number)));
    console.info(`ONNX parity, MLP: max |p_ort - p_js| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(PROBABILITY_TOLERANCE);
    // The network is not trivial: its probabilities spread out.
    expect(Math.max(...probability) - Math.min(...probability)).toBeGreaterThan(0.2);
  });

  it('adds the offset input to the logit and can output the logit', async () => {
    const offset = uniformValues(rows, 8, 0, 5);
    const session = await InferenceSession.create(mlpToOnnx({ layers, embeddings, withOffsetInput: true }));
    const withOffset = (await session.run(feeds(offset))).probability?.data as Float32Array;
    await session.release();
    const logitSession = await InferenceSession.create(mlpToOnnx({ layers, embeddings, output: 'logit' }));
    const logit = (await logitSession.run(feeds())).logit?.data as Float32Array;
    await logitSession.release();
    for (let i = 0; i < rows; i++) {
      expect(
        Math.abs((withOffset[i] as number) - sigmoid((logits[i] as number) + (offset[i] as number))),
      ).toBeLessThan(PROBABILITY_TOLERANCE);
      expect(Math.abs((logit[i] as number) - (logits[i] as number))).toBeLessThan(1e-4);
    }
  });

  it('records the input bindings and hashing in metadata', () => {
    const summary = inspectOnnxModel(
      mlpToOnnx({
        layers,
        embeddings,
        numericFeatures: ['a', 'b', 'c'],
        hashing: { function: 'fnv1a-32', seed: 1, buckets: 5 },
      }),
    );
    expect(summary.inputs).toEqual(['features', 'site', 'app']);
    expect(JSON.parse(summary.metadata['rarefy.inputs'] ?? '')).toEqual([
      { name: 'features', columns: ['a', 'b', 'c'], type: 'float32' },
      { name: 'site', columns: ['site'], type: 'int64' },
      { name: 'app', columns: ['app_id'], type: 'int64' },
    ]);
    expect(JSON.parse(summary.metadata['rarefy.hashing'] ?? '')).toEqual({
      function: 'fnv1a-32',
      seed: 1,
      buckets: 5,
    });
    expect(summary.metadata['rarefy.kind']).toBe('neural');
    expect(summary.outputScale.probability).toBe('probability');
  });

  it('runs a numeric-only network and rejects malformed layers with typed errors', async () => {
    const only = mlpToOnnx({
      layers: [{ weights: new Float32Array([1, -1]), bias: new Float32Array([0.5]), activation: 'linear' }],
    });
    const session = await InferenceSession.create(only);
    const out = await session.run({ features: new Tensor('float32', new Float32Array([2, 1]), [1, 2]) });
    await session.release();
    expect(out.probability?.data[0]).toBeCloseTo(sigmoid(1.5), 6);

    const relu = { weights: new Float32Array(4), bias: new Float32Array(2), activation: 'relu' as const };
    expect(() => mlpToOnnx({ layers: [relu] })).toThrowError(/end with a single-unit 'linear' layer/);
    expect(() =>
      mlpToOnnx({
        layers: [relu, { weights: new Float32Array(3), bias: new Float32Array(1), activation: 'linear' }],
      }),
    ).toThrowError(/takes 3 inputs but layers\[0\] gives 2/);
    expect(() => mlpToOnnx({ layers, embeddings, numericFeatures: ['a'] })).toThrowError(/leaving 3 numeric/);
    expect(() =>
      mlpToOnnx({
        layers,
        embeddings: [{ ...(embeddings[0] as MlpEmbedding), buckets: 4 }, embeddings[1] as MlpEmbedding],
      }),
    ).toThrowError(/10 values for 4 buckets x 2 dimensions/);
  });
});
