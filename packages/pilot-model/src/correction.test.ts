import { fitLogistic, predictProbability } from '@rarefy/correction';
import {
  createRng,
  type DesignMatrix,
  designMatrix,
  isRarefyError,
  type Pilot,
  sigmoid,
} from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { correctionForPilot, fitWithPilot } from './correction.js';
import { LogisticPilot } from './logistic-pilot.js';

/**
 * A final logistic model on [1, x1, x2] that is misspecified: the true log odds are quadratic in x1,
 * -5.5 + x1 + 0.6 x1^2 - 0.5 x2 (about 2.7% positives).
 */
function trueLogit(x1: number, x2: number): number {
  return -5.5 + x1 + 0.6 * x1 * x1 - 0.5 * x2;
}

function generate(rows: number, seed: number): { x: DesignMatrix; y: Uint8Array } {
  const rng = createRng(seed);
  const features = new Float64Array(rows * 2);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const a = rng.normal();
    const b = rng.normal();
    features[2 * i] = a;
    features[2 * i + 1] = b;
    y[i] = rng.nextFloat64() < sigmoid(trueLogit(a, b)) ? 1 : 0;
  }
  return { x: designMatrix(features, ['x1', 'x2']), y };
}

/** A pilot outside the logistic family (a stand-in for a network): the true, nonlinear probability. */
const nonlinearPilot: Pilot = {
  features: ['x1', 'x2'],
  predictProbability: (batch) => {
    const x1 = batch.columns.x1 as Float64Array;
    const x2 = batch.columns.x2 as Float64Array;
    return Float64Array.from(x1, (a, i) => sigmoid(trueLogit(a, x2[i] as number)));
  },
};

const train = generate(200_000, 1);
const fresh = generate(200_000, 2);
const full = fitLogistic(train.x, train.y);
let observed = 0;
for (const label of fresh.y) observed += label;
/** Mean predicted / observed rate on fresh, unsampled rows. */
const citl = (coefficients: Float64Array): number =>
  predictProbability(fresh.x, coefficients).reduce((sum, p) => sum + p, 0) / observed;
/** Euclidean distance of the coefficients from the full-data fit's. */
const distance = (coefficients: Float64Array): number =>
  Math.hypot(...Array.from(coefficients, (value, k) => value - (full.coefficients[k] as number)));

async function averaged(pilot: Pilot, estimator?: 'log-odds' | 'ipw', alpha?: number) {
  const citls: number[] = [];
  const distances: number[] = [];
  let used = '';
  for (let seed = 1; seed <= 3; seed++) {
    const fit = await fitWithPilot({
      x: train.x,
      y: train.y,
      pilot,
      design: 'optL',
      sampleSize: 6000,
      seed,
      ...(estimator === undefined ? {} : { estimator }),
      ...(alpha === undefined ? {} : { alpha }),
    });
    used = `${fit.correction.estimator} ${fit.correction.alpha}`;
    citls.push(citl(fit.coefficients));
    distances.push(distance(fit.coefficients));
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  return { estimator: used, citl: mean(citls), distance: mean(distances) };
}

describe('correctionForPilot and fitWithPilot (a misspecified final model)', () => {
  it('recommends log-odds for a logistic pilot and IPW with alpha 0.3 for any other', () => {
    expect(correctionForPilot(LogisticPilot.fromCoefficients(['(Intercept)', 'x1'], [-5, 1]))).toMatchObject({
      estimator: 'log-odds',
      alpha: 0,
    });
    expect(correctionForPilot(nonlinearPilot)).toMatchObject({ estimator: 'ipw', alpha: 0.3 });
  });

  it('with a nonlinear pilot, IPW (the default) estimates the full-data fit and log-odds drifts', async () => {
    const fullCitl = citl(full.coefficients);
    const ipw = await averaged(nonlinearPilot);
    // Log-odds, with or without the mixing: the mixing does not remove its drift.
    const logOdds = await averaged(nonlinearPilot, 'log-odds', 0);
    const logOddsMixed = await averaged(nonlinearPilot, 'log-odds', 0.3);
    const logistic = await averaged(LogisticPilot.fromCoefficients(train.x.names, full.coefficients));
    console.log(
      `full-data fit CITL ${fullCitl.toFixed(3)}; nonlinear pilot: IPW CITL ${ipw.citl.toFixed(3)}, |b - b_full| ${ipw.distance.toFixed(3)}; ` +
        `log-odds CITL ${logOdds.citl.toFixed(3)}, |b - b_full| ${logOdds.distance.toFixed(3)} (alpha 0.3: ${logOddsMixed.citl.toFixed(3)}, ${logOddsMixed.distance.toFixed(3)}); ` +
        `logistic pilot, log-odds: CITL ${logistic.citl.toFixed(3)}, |b - b_full| ${logistic.distance.toFixed(3)}`,
    );
    expect(ipw.estimator).toBe('ipw 0.3');
    expect(Math.abs(ipw.citl - fullCitl)).toBeLessThan(0.03);
    expect(ipw.distance).toBeLessThan(0.1);
    // The log-odds estimator lands elsewhere: several times IPW's distance, and over-predicts.
    expect(logOdds.citl - fullCitl).toBeGreaterThan(0.04);
    expect(logOdds.distance).toBeGreaterThan(3 * ipw.distance);
    expect(logOddsMixed.citl - fullCitl).toBeGreaterThan(0.04);
    expect(logOddsMixed.distance).toBeGreaterThan(3 * ipw.distance);
    // A logistic pilot's offsets are linear in x: log-odds (its default) stays near the full-data fit.
    expect(logistic.estimator).toBe('log-odds 0');
    expect(logistic.distance).toBeLessThan(0.15);
  });

  it('names the columns a pilot reads that x lacks', async () => {
    try {
      await fitWithPilot({ x: train.x, y: train.y, pilot: { ...nonlinearPilot, features: ['x1', 'x9'] } });
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_INVALID_ARGUMENT')).toBe(true);
      expect((error as Error).message).toMatch(/reads "x9", which x does not have/);
    }
  });
});
