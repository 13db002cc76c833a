import { hashFeature, selectBackend } from '@rarefy/model-kit';
import { createRng } from '@rarefy/sampling-core';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { mlpToOnnx } from '../onnx/mlp.js';
import type { NeuralRows } from './encode.js';
import { NeuralPilot } from './neural-pilot.js';
import { neuralPilotOnnxOptions } from './onnx-options.js';

const VALUES = ['red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black'];

function randomRows(rows: number, seed: number): NeuralRows & { codes: Int32Array } {
  const rng = createRng(seed);
  const numeric = Float64Array.from({ length: rows * 3 }, (_, k) => 5 * (k % 3) + 2 * rng.normal());
  const codes = Int32Array.from({ length: rows }, () => rng.nextInt(VALUES.length + 1) - 1);
  const labels = Uint8Array.from(codes, (code, i) =>
    rng.nextFloat64() < 1 / (1 + Math.exp(3 - (numeric[3 * i] as number) * 0.3 - code * 0.2)) ? 1 : 0,
  );
  return { rows, numeric, categorical: [{ kind: 'dictionary', codes, values: VALUES }], labels, codes };
}

beforeAll(async () => {
  await selectBackend();
});

describe('NeuralPilot -> ONNX', () => {
  it.each(['relu', 'tanh'] as const)(
    'onnxruntime gives the in-process probabilities to 1e-5 (%s)',
    async (activation) => {
      const pilot = new NeuralPilot({
        numeric: ['a', 'b', 'c'],
        categorical: [{ name: 'colour', buckets: 32, dimension: 3, hashSeed: 11 }],
        hidden: [8, 4],
        activation,
        seed: 2,
      });
      await pilot.train({ batch: randomRows(2000, 1), epochs: 2, batchSize: 128, learningRate: 0.01 });
      const rows = randomRows(1000, 2);
      const expected = pilot.predictProbability(rows);
      const bytes = mlpToOnnx(neuralPilotOnnxOptions(pilot.exportWeights()));
      pilot.dispose();
      const session = await InferenceSession.create(bytes);
      // Missing values (code -1) hash as the empty string, as in the pilot.
      const ids = BigInt64Array.from(rows.codes, (code) =>
        BigInt(hashFeature(code < 0 ? '' : (VALUES[code] as string), 11, 32)),
      );
      const output = await session.run({
        features: new Tensor('float32', Float32Array.from(rows.numeric), [rows.rows, 3]),
        colour: new Tensor('int64', ids, [rows.rows]),
      });
      const probabilities = output.probability?.data as Float32Array;
      // float32 graphs (with the standardisation folded into the first layer) against the pilot's
      // float32 tfjs pass: both round differently at about 1e-7 relative, far inside 1e-5.
      let worst = 0;
      for (let i = 0; i < rows.rows; i++)
        worst = Math.max(worst, Math.abs((probabilities[i] as number) - (expected[i] as number)));
      expect(worst).toBeLessThan(1e-5);
      await session.release();
    },
  );
});
