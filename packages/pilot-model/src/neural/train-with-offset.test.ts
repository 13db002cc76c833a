import { registerTrainingKernels, selectBackend } from '@rarefy/model-kit';
import { createRng } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { offsetBinaryCrossEntropy } from './loss.js';
import { type LogitModel, trainWithOffset } from './train-with-offset.js';

const BUCKETS = 12;
const DIMENSION = 4;
/** The true log odds of each bucket's rows: about 2% positives overall. */
const EFFECTS = Array.from({ length: BUCKETS }, (_, k) => -4.5 + 1.5 * Math.sin(k));

/** Rows with one categorical id each; all positives and 10% of the negatives kept (offset -log 0.1). */
function sampledRows(
  rows: number,
  seed: number,
): { ids: Int32Array; labels: Uint8Array; offset: Float64Array } {
  const rng = createRng(seed);
  const ids: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < rows; i++) {
    const id = rng.nextInt(BUCKETS);
    const label = rng.nextFloat64() < 1 / (1 + Math.exp(-(EFFECTS[id] as number))) ? 1 : 0;
    if (label === 1 || rng.nextFloat64() < 0.1) {
      ids.push(id);
      labels.push(label);
    }
  }
  return {
    ids: Int32Array.from(ids),
    labels: Uint8Array.from(labels),
    offset: new Float64Array(ids.length).fill(-Math.log(0.1)),
  };
}

/** The starting weights, the same on every backend. */
const rng = createRng(17);
const START = {
  table: Float32Array.from({ length: BUCKETS * DIMENSION }, () => 0.5 * rng.normal()),
  weights: Float32Array.from({ length: DIMENSION }, () => 0.5 * rng.normal()),
  bias: Float32Array.of(-2),
};

/** A plain tfjs-core model: an embedding lookup (tf.gather), a matMul and a bias; autograd differentiates it. */
function embeddingModel(): LogitModel & { dispose(): void } {
  const table = tf.variable(tf.tensor2d(START.table, [BUCKETS, DIMENSION]));
  const weights = tf.variable(tf.tensor2d(START.weights, [DIMENSION, 1]));
  const bias = tf.variable(tf.tensor1d(START.bias));
  return {
    logits: (ids: tf.Tensor) => tf.add(tf.matMul(tf.gather(table, ids), weights), bias),
    variables: [table, weights, bias],
    dispose: () => {
      for (const variable of [table, weights, bias]) variable.dispose();
    },
  };
}

const data = sampledRows(60_000, 3);
/**
 * The gradients are compared on one step's batch: over many more rows the cpu backend's float32
 * sum of the bias gradient (a sequential loop) drifts by about 1e-5 relative from wasm's.
 */
const STEP_ROWS = 1024;

describe('trainWithOffset: a plain tfjs model with tf.gather embeddings on wasm', () => {
  it('gets the cpu backend’s gradients to 1e-5, and its loss falls', async () => {
    await registerTrainingKernels();
    const gradients: Record<string, Float32Array[]> = {};
    for (const backend of ['cpu', 'wasm'] as const) {
      await selectBackend({ force: backend });
      const model = embeddingModel();
      gradients[backend] = tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () =>
            offsetBinaryCrossEntropy(
              model.logits(tf.tensor1d(data.ids.subarray(0, STEP_ROWS), 'int32')) as tf.Tensor2D,
              tf.tensor1d(Float32Array.from(data.labels.subarray(0, STEP_ROWS))),
              tf.tensor1d(Float32Array.from(data.offset.subarray(0, STEP_ROWS))),
              tf.ones([STEP_ROWS]),
            ),
          [...model.variables],
        );
        return model.variables.map((variable) =>
          Float32Array.from((grads[variable.name] as tf.Tensor).dataSync()),
        );
      });
      model.dispose();
    }
    const [cpu, wasm] = [gradients.cpu as Float32Array[], gradients.wasm as Float32Array[]];
    expect(wasm.map((g) => g.length)).toEqual([BUCKETS * DIMENSION, DIMENSION, 1]);
    let worst = 0;
    wasm.forEach((gradient, k) => {
      gradient.forEach((value, j) => {
        worst = Math.max(worst, Math.abs(value - ((cpu[k] as Float32Array)[j] as number)));
      });
    });
    console.log(
      `gather model, wasm vs cpu gradients on one batch of ${STEP_ROWS} rows: max |difference| ${worst.toExponential(2)}`,
    );
    expect(worst).toBeLessThan(1e-5);
    // Every bucket is used, so every row of the table has a non-zero gradient.
    expect((wasm[0] as Float32Array).every((value) => value !== 0)).toBe(true);

    await selectBackend({ force: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
    const model = embeddingModel();
    const inputs = tf.tensor1d(data.ids, 'int32');
    const { losses } = await trainWithOffset(model, {
      inputs,
      labels: data.labels,
      offset: data.offset,
      epochs: 8,
      batchSize: 128,
      seed: 1,
      learningRate: 0.05,
    });
    // The corrected model recovers each bucket's population log odds (a few tenths at this sample size).
    const logits = tf.tidy(() =>
      model
        .logits(
          tf.tensor1d(
            Int32Array.from({ length: BUCKETS }, (_, k) => k),
            'int32',
          ),
        )
        .dataSync(),
    );
    inputs.dispose();
    model.dispose();
    console.log(`gather model on wasm: epoch losses ${losses.map((loss) => loss.toFixed(4)).join(', ')}`);
    expect(losses[losses.length - 1]).toBeLessThan((losses[0] as number) * 0.98);
    const errors = EFFECTS.map((effect, k) => Math.abs((logits[k] as number) - effect));
    expect(Math.max(...errors)).toBeLessThan(1);
  });
});
