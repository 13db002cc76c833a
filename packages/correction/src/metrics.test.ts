import { createRng, isRarefyError, selectRows, simulateRareEvents } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { fitSubsample, predictProbability } from './estimators.js';
import { fitLogistic } from './glm.js';
import { calibrationReport, wilsonInterval } from './metrics.js';
import { normalCdf, normalQuantile } from './normal.js';

describe('calibrationReport: hand-computed metrics', () => {
  const y = Uint8Array.from([0, 0, 1, 1]);
  const p = Float64Array.from([0.1, 0.4, 0.35, 0.8]);
  const report = calibrationReport(y, p, { bins: 2 });

  it('log loss and Brier score', () => {
    expect(report.logLoss).toBeCloseTo(
      -(Math.log(0.9) + Math.log(0.6) + Math.log(0.35) + Math.log(0.8)) / 4,
      14,
    );
    expect(report.brier).toBeCloseTo((0.01 + 0.16 + 0.4225 + 0.04) / 4, 14);
  });

  it('ROC AUC: 3 of the 4 (positive, negative) pairs are ordered', () => {
    expect(report.rocAuc).toBeCloseTo(0.75, 14);
  });

  it('PR AUC as average precision: 0.5 * 1 + 0.5 * 2/3', () => {
    expect(report.prAuc).toBeCloseTo(0.5 + 0.5 * (2 / 3), 14);
  });

  it('calibration in the large: mean predicted 0.4125 / observed 0.5', () => {
    expect(report.calibrationInTheLarge).toBeCloseTo(0.825, 14);
  });

  it('equal-mass bins, ECE and Wilson intervals', () => {
    // Ascending: (0.1, y 0), (0.35, y 1) | (0.4, y 0), (0.8, y 1).
    expect(report.reliability).toHaveLength(2);
    const [low, high] = report.reliability as [
      (typeof report.reliability)[number],
      (typeof report.reliability)[number],
    ];
    expect(low.count).toBe(2);
    expect(low.meanPredicted).toBeCloseTo(0.225, 14);
    expect(low.observedRate).toBe(0.5);
    expect(high.meanPredicted).toBeCloseTo(0.6, 14);
    expect(report.expectedCalibrationError).toBeCloseTo(0.5 * 0.275 + 0.5 * 0.1, 14);
    // Wilson in its other algebraic form: (k + z^2/2)/(n + z^2) -/+ z sqrt(k(n-k)/n + z^2/4)/(n + z^2).
    const z = 1.959963984540054;
    const centre = (1 + (z * z) / 2) / (2 + z * z);
    const half = (z * Math.sqrt((1 * 1) / 2 + (z * z) / 4)) / (2 + z * z);
    expect(low.lower).toBeCloseTo(centre - half, 12);
    expect(low.upper).toBeCloseTo(centre + half, 12);
  });

  it('ties: ROC AUC counts a tied pair as one half, AP treats the tie as one threshold', () => {
    // Positives at 0.2, 0.4, 0.8; negatives at 0.1, 0.4, 0.4. Pairs: 0.2 beats 1, 0.4 beats 1 and
    // ties 2, 0.8 beats 3: AUC = (1 + 2 + 3) / 9.
    const tied = calibrationReport(
      Uint8Array.from([0, 1, 0, 0, 1, 1]),
      Float64Array.from([0.1, 0.2, 0.4, 0.4, 0.4, 0.8]),
      { bins: 2 },
    );
    expect(tied.rocAuc).toBeCloseTo(6 / 9, 14);
    // Thresholds: 0.8 -> precision 1, recall 1/3; 0.4 -> 2/4, 2/3; 0.2 -> 3/5, 1.
    expect(tied.prAuc).toBeCloseTo((1 + 0.5 + 0.6) / 3, 14);
  });

  it('calibration slope and intercept: a saturated recalibration fit in closed form', () => {
    // p = 0.5 (logit 0) for 4 rows with 3 positives; p = 0.2 (logit log 1/4) for 4 rows with 1.
    // a = logit(3/4) = log 3; a + b log(1/4) = logit(1/4) = -log 3, so b = log 3 / log 2.
    const labels = Uint8Array.from([1, 1, 1, 0, 1, 0, 0, 0]);
    const probability = Float64Array.from([0.5, 0.5, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2]);
    const fitted = calibrationReport(labels, probability);
    expect(fitted.calibrationIntercept).toBeCloseTo(Math.log(3), 8);
    expect(fitted.calibrationSlope).toBeCloseTo(Math.log(3) / Math.log(2), 8);
    // 8 rows, 15 bins asked: one row per bin.
    expect(fitted.reliability).toHaveLength(8);
  });

  it('wilsonInterval matches the published 3 of 10 example', () => {
    const interval = wilsonInterval(3, 10);
    expect(interval.lower).toBeCloseTo(0.1078, 4);
    expect(interval.upper).toBeCloseTo(0.6032, 4);
  });

  it('typed errors: a missing class, a constant predictor, a length mismatch, a value outside [0, 1]', () => {
    const codes: string[] = [];
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        if (isRarefyError(error)) codes.push(error.code);
      }
    };
    attempt(() => calibrationReport(Uint8Array.from([0, 0]), Float64Array.from([0.1, 0.2])));
    attempt(() => calibrationReport(Uint8Array.from([0, 1]), Float64Array.from([0.3, 0.3])));
    attempt(() => calibrationReport(Uint8Array.from([0, 1]), Float64Array.from([0.3])));
    attempt(() => calibrationReport(Uint8Array.from([0, 1]), Float64Array.from([0.3, 1.2])));
    expect(codes).toEqual([
      'RAREFY_NO_POSITIVES',
      'RAREFY_CONSTANT_COLUMN',
      'RAREFY_DIMENSION_MISMATCH',
      'RAREFY_NON_FINITE',
    ]);
  });
});

describe('calibrationReport on held-out unsampled data', () => {
  it('the log-odds correction is calibrated in the large; the naive fit on the sample is not', () => {
    const { x, y } = simulateRareEvents({ rows: 60_000, seed: 31, intercept: -5 });
    const half = 30_000;
    const rng = createRng(32);
    const rate = 0.05;
    const kept: number[] = [];
    for (let i = 0; i < half; i++) if (y[i] === 1 || rng.nextFloat64() < rate) kept.push(i);
    const xs = selectRows(x, kept);
    const ys = Uint8Array.from(kept, (i) => y[i] as number);
    const offset = Float64Array.from(ys, () => -Math.log(rate));
    const weight = Float64Array.from(ys, (label) => (label === 1 ? 1 : 1 / rate));
    const corrected = fitSubsample('log-odds', xs, ys, { offset, weight });
    const naive = fitLogistic(xs, ys);
    const heldOutRows = Int32Array.from({ length: half }, (_, k) => half + k);
    const xHeld = selectRows(x, heldOutRows);
    const yHeld = Uint8Array.from(heldOutRows, (i) => y[i] as number);
    const good = calibrationReport(yHeld, predictProbability(xHeld, corrected.coefficients));
    const bad = calibrationReport(yHeld, predictProbability(xHeld, naive.coefficients));
    // About 200 held-out positives: the observed rate is known to about 7%; 0.75-1.33 is wide.
    expect(good.calibrationInTheLarge).toBeGreaterThan(0.75);
    expect(good.calibrationInTheLarge).toBeLessThan(1.33);
    expect(bad.calibrationInTheLarge).toBeGreaterThan(5); // about 1 / rate times too high
    // Ranking is unaffected by the intercept: the same AUC up to rounding.
    expect(good.rocAuc).toBeCloseTo(bad.rocAuc, 2);
    expect(good.logLoss).toBeLessThan(bad.logLoss);
    expect(good.expectedCalibrationError).toBeLessThan(bad.expectedCalibrationError);
  });
});

describe('normal distribution', () => {
  // Reference values: R's qnorm / pnorm (full double precision).
  it('quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 14);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959963984540054, 14);
    expect(normalQuantile(0.995)).toBeCloseTo(2.5758293035489004, 14);
    expect(normalQuantile(0.9)).toBeCloseTo(1.2815515655446004, 14);
    expect(normalQuantile(0.95)).toBeCloseTo(1.6448536269514722, 14);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(1e-10) / -6.361340902404056).toBeCloseTo(1, 13);
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(() => normalQuantile(1.5)).toThrow(/probability/);
  });

  it('distribution function', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 15);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145705, 15);
    expect(normalCdf(-5) / 2.866515718791939e-7).toBeCloseTo(1, 12);
    for (const p of [1e-300, 1e-12, 0.001, 0.3, 0.7, 0.999]) {
      expect(normalCdf(normalQuantile(p)) / p).toBeCloseTo(1, 12);
    }
  });
});
