import { denseLayer, EmbeddingTable, hashFeature, selectBackend } from '@rarefy/model-kit';
import { type ColumnBatch, createRng, isRarefyError } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NeuralRows } from './encode.js';
import { NeuralPilot, type NeuralPilotSpec } from './neural-pilot.js';
import { neuralPilotOnnxOptions } from './onnx-options.js';
import { trainWithOffset } from './train-with-offset.js';

/** Effects of the categorical feature's levels on the true logit. */
const LEVEL_EFFECTS = [0, 0.7, -0.7, 1.2, -1.2];
const LEVELS = LEVEL_EFFECTS.map((_, k) => `level-${k}`);
/** About 1.1% positives. */
const INTERCEPT = -5.3;

interface Population {
  rows: number;
  x1: Float64Array;
  x2: Float64Array;
  levels: Int32Array;
  labels: Uint8Array;
}

/** y ~ Bernoulli(sigmoid(INTERCEPT + 0.8 x1 - 0.6 x2 + effect[level])), x ~ N(0, 1), level uniform. */
function generate(rows: number, seed: number): Population {
  const rng = createRng(seed);
  const x1 = new Float64Array(rows);
  const x2 = new Float64Array(rows);
  const levels = new Int32Array(rows);
  const labels = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const a = rng.normal();
    const b = rng.normal();
    const level = rng.nextInt(LEVELS.length);
    const logit = INTERCEPT + 0.8 * a - 0.6 * b + (LEVEL_EFFECTS[level] as number);
    x1[i] = a;
    x2[i] = b;
    levels[i] = level;
    labels[i] = rng.nextFloat64() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { rows, x1, x2, levels, labels };
}

function asBatch(data: Population): ColumnBatch {
  return {
    schema: [
      { name: 'x1', type: 'number' },
      { name: 'x2', type: 'number' },
      { name: 'level', type: 'string' },
      { name: 'y', type: 'label' },
    ],
    rows: data.rows,
    firstRow: 0,
    columns: {
      x1: data.x1,
      x2: data.x2,
      level: { kind: 'dictionary', codes: data.levels, values: LEVELS },
      y: data.labels,
    },
  };
}

/** Keeps every positive and each negative with probability `keep`. */
function sampleNegatives(data: Population, keep: number, seed: number): Population {
  const rng = createRng(seed);
  const kept: number[] = [];
  for (let i = 0; i < data.rows; i++) if (data.labels[i] === 1 || rng.nextFloat64() < keep) kept.push(i);
  return {
    rows: kept.length,
    x1: Float64Array.from(kept, (i) => data.x1[i] as number),
    x2: Float64Array.from(kept, (i) => data.x2[i] as number),
    levels: Int32Array.from(kept, (i) => data.levels[i] as number),
    labels: Uint8Array.from(kept, (i) => data.labels[i] as number),
  };
}

const SPEC: NeuralPilotSpec = {
  numeric: ['x1', 'x2'],
  categorical: [{ name: 'level', buckets: 64, dimension: 4 }],
  hidden: [16],
  activation: 'relu',
  seed: 7,
};

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

let backend = '';
beforeAll(async () => {
  // wasm loads in Node here (and is the faster backend); selectBackend falls back to cpu otherwise.
  backend = (await selectBackend()).backend;
});

describe('NeuralPilot: the log-odds correction (issue 4)', () => {
  it('is calibrated on unsampled held-out data with the offset, and off by far more than 2x without it', async () => {
    const population = generate(200_000, 1);
    const sample = sampleNegatives(population, 0.1, 101);
    const held = generate(400_000, 2);
    // pi = 0.1 for every kept row (positives included): offset = -log pi (ALGORITHMS.md A.4).
    const offset = new Float64Array(sample.rows).fill(-Math.log(0.1));
    const schedule = { epochs: 20, batchSize: 512, learningRate: 0.01, finalLearningRate: 1e-4 } as const;
    const observed = mean(held.labels);

    const corrected = new NeuralPilot(SPEC);
    await corrected.train({ batch: asBatch(sample), offset, ...schedule });
    const correctedRatio = mean(corrected.predictProbability(asBatch(held))) / observed;

    const uncorrected = new NeuralPilot(SPEC);
    await uncorrected.train({ batch: asBatch(sample), ...schedule });
    const uncorrectedRatio = mean(uncorrected.predictProbability(asBatch(held))) / observed;
    corrected.dispose();
    uncorrected.dispose();

    // Calibration-in-the-large = mean predicted / observed rate on the unsampled held-out rows. Its
    // noise: the held-out set has about 4,480 positives, so the observed rate's relative standard
    // error is 1/sqrt(4480) = 1.5%; the network learns its intercept from about 2,240 sampled
    // positives (2.1%) and about 19,800 kept negatives (0.7%): about 2.7% in all, so the +-10% band
    // is about 3.7 standard errors wide on either side. The uncorrected network's odds are 1/pi = 10
    // times too high (about 7.5x on the probability scale at this rate), far beyond the factor 2.
    // Measured (seeded, wasm): corrected 1.004, uncorrected 7.73.
    expect(correctedRatio).toBeGreaterThan(0.9);
    expect(correctedRatio).toBeLessThan(1.1);
    expect(uncorrectedRatio).toBeGreaterThan(2);
  });
});

describe('NeuralPilot: training', () => {
  const data = sampleNegatives(generate(20_000, 5), 0.1, 6);
  const offset = new Float64Array(data.rows).fill(-Math.log(0.1));

  it('gives identical predictions for the same seed, and different ones for another seed', async () => {
    const predictions = async (seed: number): Promise<Float64Array> => {
      const pilot = new NeuralPilot({ ...SPEC, seed });
      await pilot.train({ batch: asBatch(data), offset, epochs: 2, batchSize: 128, learningRate: 0.01 });
      const p = pilot.predictProbability(asBatch(data));
      pilot.dispose();
      return p;
    };
    const first = await predictions(3);
    expect(await predictions(3)).toEqual(first);
    expect(await predictions(4)).not.toEqual(first);
  });

  it('updates only the embedding rows a batch gathered', async () => {
    const rows = 64;
    const rng = createRng(9);
    const buckets = Int32Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 3 : 7));
    const batch: NeuralRows = {
      rows,
      numeric: Float64Array.from({ length: rows * 2 }, () => rng.normal()),
      categorical: [buckets],
      labels: Uint8Array.from({ length: rows }, (_, i) => (i % 4 === 0 ? 1 : 0)),
    };
    const pilot = new NeuralPilot({ ...SPEC, categorical: [{ name: 'level', buckets: 16, dimension: 4 }] });
    const before = pilot.exportWeights().embeddings[0]?.table as Float32Array;
    await pilot.train({ batch, epochs: 1, batchSize: 16, learningRate: 0.01 });
    const after = pilot.exportWeights().embeddings[0]?.table as Float32Array;
    pilot.dispose();
    for (let bucket = 0; bucket < 16; bucket++) {
      const changed = after
        .subarray(bucket * 4, bucket * 4 + 4)
        .some((value, j) => value !== before[bucket * 4 + j]);
      expect(changed, `bucket ${bucket}`).toBe(bucket === 3 || bucket === 7);
    }
  });

  it('sums the gradients of repeated rows and leaves the other rows and accumulators alone', () => {
    const table = new EmbeddingTable(5, 2, createRng(1));
    const before = table.values.slice();
    const buckets = Int32Array.from([4, 1, 4]);
    const rows = Int32Array.from([0, 1, 2]);
    // A batch input of 3 rows x 3 columns; the table fills columns 1..2.
    const gradient = Float32Array.from([9, 0.5, -1, 9, 2, 2, 9, 0.5, 1]);
    expect(table.applyAdagrad(buckets, rows, gradient, 3, 1, 0.1, 0)).toBe(2);
    // Row 4's gradient is (0.5 + 0.5, -1 + 1) = (1, 0): accumulator 1/2, step 0.1/sqrt(1/2).
    expect(table.accumulators[4]).toBeCloseTo(0.5, 6);
    expect(table.values[8]).toBeCloseTo((before[8] as number) - 0.1 / Math.sqrt(0.5), 6);
    expect(table.values[9]).toBeCloseTo(before[9] as number, 6);
    // Row 1's gradient is (2, 2): accumulator 4, step 0.1 / 2 per unit of gradient.
    expect(table.values[2]).toBeCloseTo((before[2] as number) - 0.1, 6);
    for (const untouched of [0, 2, 3]) {
      expect(table.accumulators[untouched]).toBe(0);
      expect(table.values.subarray(untouched * 2, untouched * 2 + 2)).toEqual(
        before.subarray(untouched * 2, untouched * 2 + 2),
      );
    }
  });

  it('reduces the loss of a fixed batch with a training step', async () => {
    const pilot = new NeuralPilot(SPEC);
    const options = {
      batch: asBatch(data),
      offset,
      epochs: 1,
      batchSize: data.rows,
      learningRate: 0.01,
    } as const;
    const first = (await pilot.train(options)).losses[0] as number;
    const second = (await pilot.train(options)).losses[0] as number;
    pilot.dispose();
    expect(second).toBeLessThan(first);
  });

  it('stops early on the validation loss and restores the best epoch', async () => {
    const validationData = sampleNegatives(generate(20_000, 15), 0.1, 16);
    const validationOffset = new Float64Array(validationData.rows).fill(-Math.log(0.1));
    const pilot = new NeuralPilot({ ...SPEC, hidden: [32] });
    const result = await pilot.train({
      batch: asBatch(data),
      offset,
      epochs: 40,
      batchSize: 64,
      learningRate: 0.03,
      validation: { batch: asBatch(validationData), offset: validationOffset, patience: 2 },
    });
    expect(result.validationLosses).toHaveLength(result.epochs);
    const best = Math.min(...result.validationLosses);
    expect(result.validationLosses[result.bestEpoch]).toBe(best);
    if (result.stoppedEarly) expect(result.epochs).toBe(result.bestEpoch + 3);
    // The model now holds the best epoch's weights: recomputing the validation loss gives the minimum.
    const logits = pilot.predictLogits(asBatch(validationData));
    let loss = 0;
    for (let i = 0; i < logits.length; i++) {
      const z = (logits[i] as number) - Math.log(0.1);
      loss += Math.max(z, 0) - z * (validationData.labels[i] as number) + Math.log1p(Math.exp(-Math.abs(z)));
    }
    pilot.dispose();
    expect(loss / logits.length).toBeCloseTo(best, 6);
  });

  it('reports progress after every step', async () => {
    const pilot = new NeuralPilot(SPEC);
    const steps: number[] = [];
    await pilot.train({
      batch: asBatch(data),
      epochs: 2,
      batchSize: 1000,
      learningRate: 0.01,
      onProgress: ({ step, loss, examplesPerSecond }) => {
        expect(Number.isFinite(loss) && examplesPerSecond > 0).toBe(true);
        steps.push(step);
      },
    });
    expect(pilot.training?.steps).toBe(2 * Math.ceil(data.rows / 1000));
    expect(pilot.training?.backend).toBe(backend);
    pilot.dispose();
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, k) => k + 1));
  });
});

describe('NeuralPilot: inputs, export and errors', () => {
  const data = sampleNegatives(generate(10_000, 21), 0.2, 22);

  it('scores strings through the hash and already-hashed buckets alike', async () => {
    const pilot = new NeuralPilot(SPEC);
    await pilot.train({ batch: asBatch(data), epochs: 1, batchSize: 256, learningRate: 0.01 });
    const hashed = Int32Array.from(data.levels, (code) => hashFeature(LEVELS[code] as string, 0, 64));
    const rows: NeuralRows = {
      rows: data.rows,
      numeric: Float64Array.from(
        { length: data.rows * 2 },
        (_, k) => (k % 2 === 0 ? data.x1 : data.x2)[k >> 1] as number,
      ),
      categorical: [hashed],
    };
    expect(pilot.predictProbability(rows)).toEqual(pilot.predictProbability(asBatch(data)));
    pilot.dispose();
  });

  it('round-trips through exportWeights and fromWeights', async () => {
    const pilot = new NeuralPilot({ ...SPEC, activation: 'tanh', hidden: [8, 4] });
    await pilot.train({ batch: asBatch(data), epochs: 1, batchSize: 256, learningRate: 0.01 });
    const copy = NeuralPilot.fromWeights(pilot.exportWeights());
    expect(copy.predictProbability(asBatch(data))).toEqual(pilot.predictProbability(asBatch(data)));
    pilot.dispose();
    copy.dispose();
  });

  it('folds the standardisation into the ONNX export options without changing the output', async () => {
    const pilot = new NeuralPilot(SPEC);
    await pilot.train({ batch: asBatch(data), epochs: 1, batchSize: 256, learningRate: 0.01 });
    const options = neuralPilotOnnxOptions(pilot.exportWeights());
    const expected = pilot.predictProbability(asBatch(data));
    pilot.dispose();
    expect(options.numericFeatures).toEqual(['x1', 'x2']);
    expect(options.hashing).toMatchObject({
      function: 'murmur3_x86_32-utf8',
      seed: 0,
      buckets: 64,
      columns: ['level'],
    });
    const embedding = options.embeddings?.[0];
    // The graph's computation in float64 on raw inputs: [x1, x2, table[bucket]] through the layers.
    for (let i = 0; i < data.rows; i += 97) {
      const bucket = hashFeature(LEVELS[data.levels[i] as number] as string, 0, 64);
      let activations = [
        data.x1[i] as number,
        data.x2[i] as number,
        ...(embedding?.table.subarray(bucket * 4, bucket * 4 + 4) ?? []),
      ];
      for (const layer of options.layers) {
        const out = layer.bias.length;
        activations = Array.from(layer.bias, (bias, c) => {
          let z = bias;
          activations.forEach((value, j) => {
            z += value * (layer.weights[j * out + c] as number);
          });
          return layer.activation === 'relu'
            ? Math.max(z, 0)
            : layer.activation === 'tanh'
              ? Math.tanh(z)
              : z;
        });
      }
      const probability = 1 / (1 + Math.exp(-(activations[0] as number)));
      // float32 weights and folding: relative agreement to 1e-4 on probabilities of order 1e-2.
      expect(Math.abs(probability - (expected[i] as number)) / (expected[i] as number)).toBeLessThan(1e-4);
    }
  });

  it('names the column, the row and the fix in its errors', async () => {
    const pilot = new NeuralPilot(SPEC);
    const withNaN = { ...data, x2: data.x2.slice() };
    withNaN.x2[5] = Number.NaN;
    await expect(
      pilot.train({ batch: asBatch(withNaN), epochs: 1, batchSize: 64, learningRate: 0.01 }),
    ).rejects.toSatisfy(
      (error: unknown) => isRarefyError(error, 'RAREFY_NON_FINITE') && error.input === 'x2',
    );
    const noLevel = asBatch(data);
    const { level: _dropped, ...columns } = noLevel.columns;
    expect(() => pilot.predictProbability({ ...noLevel, columns })).toThrow(/no column "level"/);
    await expect(
      pilot.train({
        batch: asBatch(data),
        offset: new Float64Array(3),
        epochs: 1,
        batchSize: 64,
        learningRate: 0.01,
      }),
    ).rejects.toSatisfy((error: unknown) => isRarefyError(error, 'RAREFY_DIMENSION_MISMATCH'));
    expect(() => new NeuralPilot({ ...SPEC, hidden: [0] })).toThrow(/spec.hidden/);
    pilot.dispose();
    expect(() => pilot.predictProbability(asBatch(data))).toThrow(/disposed/);
  });
});

describe('trainWithOffset', () => {
  it('trains any tfjs logit model with offsets: the intercept moves by -log pi', async () => {
    const sample = sampleNegatives(generate(100_000, 31), 0.1, 32);
    const inputs = tf.tensor2d(
      Float32Array.from(
        { length: sample.rows * 2 },
        (_, k) => (k % 2 === 0 ? sample.x1 : sample.x2)[k >> 1] as number,
      ),
      [sample.rows, 2],
    );
    const fit = async (offset: Float64Array | undefined): Promise<number> => {
      const weights = tf.variable(tf.zeros<tf.Rank.R2>([2, 1]));
      const bias = tf.variable(tf.zeros<tf.Rank.R1>([1]));
      const model = {
        logits: (x: tf.Tensor) => denseLayer(x as tf.Tensor2D, weights, bias, 'linear'),
        variables: [weights, bias],
      };
      await trainWithOffset(model, {
        inputs,
        labels: sample.labels,
        ...(offset === undefined ? {} : { offset }),
        epochs: 15,
        batchSize: 256,
        seed: 1,
        optimizer: tf.train.adam(0.05),
      });
      const intercept = bias.dataSync()[0] as number;
      weights.dispose();
      bias.dispose();
      return intercept;
    };
    const corrected = await fit(new Float64Array(sample.rows).fill(-Math.log(0.1)));
    const naive = await fit(undefined);
    inputs.dispose();
    // Constant offsets shift the maximum-likelihood intercept by exactly log(0.1); the two SGD runs
    // differ by optimisation noise (a few hundredths at this step size; measured: -2.306).
    expect(corrected - naive).toBeCloseTo(Math.log(0.1), 1);
  });
});
