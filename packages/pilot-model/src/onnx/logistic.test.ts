import { fitRareEvents } from '@rarefy/correction';
import { designMatrix, isRarefyError, sigmoid, simulateRareEvents } from '@rarefy/sampling-core';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { uniformValues } from '../__fixtures__/design-batch.js';
import { LogisticPilot } from '../logistic-pilot.js';
import { inspectOnnxModel } from './inspect.js';
import { logisticToOnnx } from './logistic.js';

/**
 * Tolerance of ONNX parity: onnxruntime computes in float32 (weights and features rounded to 24-bit
 * mantissas, float32 accumulation), the in-process model in float64. For |logit| up to ~20 the
 * logit's error is below ~1e-5 absolute, and the sigmoid's slope is at most 1/4, so probabilities
 * agree to well under 1e-5 (measured: ~1e-7).
 */
const PROBABILITY_TOLERANCE = 1e-5;

const data = simulateRareEvents({ rows: 20_000, seed: 11 });
const rows = 1_000;
/** 1,000 random rows, features uniform in [-3, 3] (wider than the training data). */
const features = uniformValues(rows * 6, 99, -3, 3);
const heldOut = designMatrix(features, ['x1', 'x2', 'x3', 'x4', 'x5', 'x6']);

async function runOnnx(
  bytes: Uint8Array,
  feeds: Record<string, Tensor>,
  output: string,
): Promise<Float32Array> {
  const session = await InferenceSession.create(bytes);
  try {
    const result = await session.run(feeds);
    return result[output]?.data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe('logisticToOnnx through onnxruntime', () => {
  const featureTensor = new Tensor('float32', Float32Array.from(features), [rows, 6]);

  it('matches the LogisticPilot in-process probabilities to 1e-5 on 1,000 random rows', async () => {
    const pilot = LogisticPilot.fit({ x: data.x, y: data.y, pilotSize: 400, seed: 1 });
    const onnxProbability = await runOnnx(pilot.toOnnx(), { features: featureTensor }, 'probability');
    const error = maxAbsDifference(onnxProbability, pilot.predictMatrix(heldOut));
    console.info(`ONNX parity, LogisticPilot: max |p_ort - p_js| = ${error.toExponential(2)}`);
    expect(error).toBeLessThan(PROBABILITY_TOLERANCE);
  });

  it('matches a corrected final model (fitRareEvents, optA, log-odds) to 1e-5', async () => {
    const fit = fitRareEvents({ x: data.x, y: data.y, design: 'optA', pilotSize: 400, seed: 2 });
    const model = LogisticPilot.fromRareEventsFit(fit, { seed: 2 });
    const onnxProbability = await runOnnx(
      logisticToOnnx(fit.names, fit.coefficients),
      { features: featureTensor },
      'probability',
    );
    const error = maxAbsDifference(onnxProbability, model.predictMatrix(heldOut));
    console.info(`ONNX parity, corrected final model: max |p_ort - p_js| = ${error.toExponential(2)}`);
    expect(error).toBeLessThan(PROBABILITY_TOLERANCE);
  });

  it('the offset variant gives sigma(eta + offset)', async () => {
    const pilot = LogisticPilot.fit({ x: data.x, y: data.y, pilotSize: 400, seed: 3 });
    const offset = uniformValues(rows, 5, 0, 8);
    const onnxProbability = await runOnnx(
      pilot.toOnnx({ withOffsetInput: true }),
      { features: featureTensor, offset: new Tensor('float32', Float32Array.from(offset), [rows, 1]) },
      'probability',
    );
    const plain = pilot.predictMatrix(heldOut);
    const expected = plain.map((p, i) => sigmoid(Math.log(p / (1 - p)) + (offset[i] as number)));
    const error = maxAbsDifference(onnxProbability, expected);
    console.info(`ONNX parity, offset variant: max |p_ort - sigma(eta + o)| = ${error.toExponential(2)}`);
    expect(error).toBeLessThan(PROBABILITY_TOLERANCE);
  });

  it('the logit variant gives the linear predictor', async () => {
    const pilot = LogisticPilot.fromCoefficients(
      ['(Intercept)', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6'],
      [-5, 1, -1, 0.5, 0.25, 2, -3],
    );
    const logit = await runOnnx(pilot.toOnnx({ output: 'logit' }), { features: featureTensor }, 'logit');
    const probability = pilot.predictMatrix(heldOut);
    for (let i = 0; i < rows; i++) {
      const eta = Math.log((probability[i] as number) / (1 - (probability[i] as number)));
      // float32: relative 1e-6 of the terms' magnitude (|eta| <= ~30 here).
      expect(Math.abs((logit[i] as number) - eta)).toBeLessThan(1e-4);
    }
  });

  it('writes metadata and declares the graph it builds', () => {
    const bytes = logisticToOnnx(['(Intercept)', 'a', 'b'], [0.1, 0.2, 0.3]);
    const summary = inspectOnnxModel(bytes);
    expect(summary.inputs).toEqual(['features']);
    expect(summary.outputs).toEqual(['probability']);
    expect(summary.outputScale).toEqual({ probability: 'probability' });
    expect(JSON.parse(summary.metadata['rarefy.inputs'] ?? '')).toEqual([
      { name: 'features', columns: ['a', 'b'], type: 'float32' },
    ]);
    const logit = inspectOnnxModel(
      logisticToOnnx(['a', 'b'], [0.2, 0.3], { intercept: false, output: 'logit' }),
    );
    expect(logit.outputScale).toEqual({ logit: 'unknown' });
    expect(logit.metadata['rarefy.output']).toBe('logit');
  });

  it('rejects a coefficient count mismatch and garbage bytes with typed errors', () => {
    expect(() => logisticToOnnx(['a', 'b'], [1, 2, 3, 4])).toThrowError(/4 coefficients for 2 features/);
    try {
      inspectOnnxModel(new Uint8Array([1, 2, 3, 250, 251]), 'junk.onnx');
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_PARSE_ERROR')).toBe(true);
      expect((error as Error).message).toMatch(/^junk\.onnx: not an ONNX model/);
    }
  });
});
