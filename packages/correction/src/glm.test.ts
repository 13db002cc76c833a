import {
  createRng,
  type DesignMatrix,
  designMatrix,
  isRarefyError,
  simulateRareEvents,
} from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { fitLogistic } from './glm.js';

/** A design with an intercept and the given feature columns (row-major). */
function matrix(rows: number[][], names: string[]): DesignMatrix {
  return designMatrix(Float64Array.from(rows.flat()), names);
}

/** Expects `fn` to throw a RarefyError with `code` and returns it. */
function expectRarefyError(fn: () => unknown, code: string): Error & { code: string; fix: string } {
  try {
    fn();
  } catch (error) {
    expect(isRarefyError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    return error as Error & { code: string; fix: string };
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

// A 2x2 table: x = 0: 2 positives, 3 negatives; x = 1: 3 positives, 1 negative. The saturated
// model's MLE reproduces the cell log odds: beta0 = log(2/3), beta0 + beta1 = log(3/1).
const tableX = matrix([[0], [0], [0], [0], [0], [1], [1], [1], [1]], ['x']);
const tableY = Uint8Array.from([1, 1, 0, 0, 0, 1, 1, 1, 0]);

describe('fitLogistic: closed forms', () => {
  // Tolerances: R's stopping rule leaves |delta dev| < 1e-8 relative, i.e. coefficients within
  // about 1e-5; the saturated fit converges quadratically, so 1e-8 holds with margin.
  it('reproduces the 2x2 table log odds, deviance and information', () => {
    const fit = fitLogistic(tableX, tableY);
    expect(fit.converged).toBe(true);
    expect(fit.names).toEqual(['(Intercept)', 'x']);
    expect(fit.coefficients[0]).toBeCloseTo(Math.log(2 / 3), 8);
    expect(fit.coefficients[1]).toBeCloseTo(Math.log(3) - Math.log(2 / 3), 8);
    const deviance = -2 * (2 * Math.log(0.4) + 3 * Math.log(0.6) + 3 * Math.log(0.75) + Math.log(0.25));
    expect(fit.deviance).toBeCloseTo(deviance, 8);
    // I = sum mu(1-mu) x x': 5 * 0.4 * 0.6 = 1.2 at x = 0, 4 * 0.75 * 0.25 = 0.75 at x = 1.
    const expected = [1.95, 0.75, 0.75, 0.75];
    for (const [k, value] of expected.entries()) expect(fit.information[k]).toBeCloseTo(value, 8);
    expect(fit.fitted[0]).toBeCloseTo(0.4, 8);
    expect(fit.fitted[8]).toBeCloseTo(0.75, 8);
    expect(fit.linearPredictor[8]).toBeCloseTo(Math.log(3), 8);
  });

  it('per-row offsets shift each cell: beta0 = log(2/3) - o0, beta0 + beta1 = log 3 - o1', () => {
    const offset = Float64Array.from(tableY, (_, i) => (i < 5 ? 0.7 : -1.3));
    const fit = fitLogistic(tableX, tableY, { offset });
    expect(fit.coefficients[0]).toBeCloseTo(Math.log(2 / 3) - 0.7, 8);
    expect((fit.coefficients[0] as number) + (fit.coefficients[1] as number)).toBeCloseTo(
      Math.log(3) + 1.3,
      8,
    );
    // mu includes the offset: the fitted probabilities are still the cell rates.
    expect(fit.fitted[0]).toBeCloseTo(0.4, 8);
    expect(fit.linearPredictor[0]).toBeCloseTo(Math.log(2 / 3), 8);
  });

  it('a constant offset equals an intercept shift on general data (slopes unchanged)', () => {
    const { x, y } = simulateRareEvents({ rows: 5000, seed: 7, intercept: -3 });
    const plain = fitLogistic(x, y);
    const shifted = fitLogistic(x, y, { offset: new Float64Array(x.rows).fill(2.5) });
    expect(shifted.coefficients[0]).toBeCloseTo((plain.coefficients[0] as number) - 2.5, 7);
    for (let j = 1; j < x.columns; j++)
      expect(shifted.coefficients[j]).toBeCloseTo(plain.coefficients[j] as number, 7);
    expect(shifted.deviance).toBeCloseTo(plain.deviance, 6);
  });

  it('integer weights equal replicated rows', () => {
    // Overlapping classes (not separable in (a, b)), so the MLE exists.
    const base = [
      [0.5, 1],
      [-1, 0.3],
      [2, -0.4],
      [0.1, 0.2],
      [-0.7, -1.1],
      [1.3, 0.9],
      [0.4, 0.8],
      [-0.9, 0.1],
    ];
    const labels = [1, 0, 0, 1, 0, 1, 0, 1];
    const counts = [2, 1, 3, 1, 2, 1, 2, 1];
    const weighted = fitLogistic(matrix(base, ['a', 'b']), Uint8Array.from(labels), {
      weight: Float64Array.from(counts),
    });
    const replicatedRows: number[][] = [];
    const replicatedLabels: number[] = [];
    base.forEach((row, i) => {
      for (let k = 0; k < (counts[i] as number); k++) {
        replicatedRows.push(row);
        replicatedLabels.push(labels[i] as number);
      }
    });
    const replicated = fitLogistic(matrix(replicatedRows, ['a', 'b']), Uint8Array.from(replicatedLabels));
    for (let j = 0; j < 3; j++)
      expect(weighted.coefficients[j]).toBeCloseTo(replicated.coefficients[j] as number, 8);
    expect(weighted.deviance).toBeCloseTo(replicated.deviance, 8);
    for (let k = 0; k < 9; k++)
      expect(weighted.information[k]).toBeCloseTo(replicated.information[k] as number, 8);
  });

  it('converges from a far start (step halving) to the same estimate', () => {
    const { x, y } = simulateRareEvents({ rows: 3000, seed: 3, intercept: -2 });
    const reference = fitLogistic(x, y);
    const far = fitLogistic(x, y, { start: Float64Array.from([8, 6, -6, 6, -6, 6, -6]), maxIterations: 60 });
    for (let j = 0; j < x.columns; j++)
      expect(far.coefficients[j]).toBeCloseTo(reference.coefficients[j] as number, 5);
  });

  it('recovers simulated coefficients; the large-data warm start reaches the from-zero optimum', () => {
    const { x, y, trueCoefficients } = simulateRareEvents({ rows: 200_000, seed: 11 });
    const fit = fitLogistic(x, y); // 200,000 rows: starts from a strided-subset fit
    const fromZero = fitLogistic(x, y, { start: new Float64Array(x.columns) });
    expect(fit.iterations).toBeLessThan(fromZero.iterations);
    // Both stop on |delta dev| / (|dev| + 0.1) < 1e-8 after quadratic convergence: 1e-6 apart at most.
    for (let j = 0; j < x.columns; j++) {
      expect(Math.abs((fit.coefficients[j] as number) - (fromZero.coefficients[j] as number))).toBeLessThan(
        1e-6,
      );
    }
    // se of the intercept with ~2400 events is about 0.08, of the slopes about 0.03: 5 se bounds.
    expect(Math.abs((fit.coefficients[0] as number) - (trueCoefficients[0] as number))).toBeLessThan(0.4);
    for (let j = 1; j < x.columns; j++) {
      expect(Math.abs((fit.coefficients[j] as number) - (trueCoefficients[j] as number))).toBeLessThan(0.15);
    }
  });

  it('ridge shrinks the slopes, not the intercept, and matches the penalised score equation', () => {
    const fit = fitLogistic(tableX, tableY, { ridge: 2 });
    const plain = fitLogistic(tableX, tableY);
    expect(Math.abs(fit.coefficients[1] as number)).toBeLessThan(Math.abs(plain.coefficients[1] as number));
    // Stationarity: sum (y - mu) = 0 (intercept free) and sum (y - mu) x = ridge * beta1.
    let score0 = 0;
    let score1 = 0;
    for (let i = 0; i < tableY.length; i++) {
      const residual = (tableY[i] as number) - (fit.fitted[i] as number);
      score0 += residual;
      score1 += residual * (tableX.data[i * 2 + 1] as number);
    }
    expect(score0).toBeCloseTo(0, 7);
    expect(score1).toBeCloseTo(2 * (fit.coefficients[1] as number), 7);
  });
});

describe('fitLogistic: typed failures', () => {
  it('rank deficiency names the collinear columns', () => {
    const rng = createRng(5);
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 50; i++) {
      const a = rng.normal();
      const b = rng.normal();
      rows.push([a, b, a + 2 * b, rng.normal()]);
      labels.push(rng.nextFloat64() < 0.4 ? 1 : 0);
    }
    const error = expectRarefyError(
      () => fitLogistic(matrix(rows, ['a', 'b', 'a_plus_2b', 'c']), Uint8Array.from(labels)),
      'RAREFY_RANK_DEFICIENT',
    );
    expect(error.message).toContain("'a_plus_2b'");
    expect(error.message).toContain("'a'");
    expect(error.message).toContain("'b'");
    expect(error.message).not.toContain("'c'");
    expect(error.fix).toMatch(/ridge/);
  });

  it('a constant feature is collinear with the intercept', () => {
    const error = expectRarefyError(
      () =>
        fitLogistic(
          matrix(
            [
              [1, 3],
              [2, 3],
              [3, 3],
              [4, 3],
            ],
            ['x', 'constant'],
          ),
          Uint8Array.from([0, 1, 0, 1]),
        ),
      'RAREFY_RANK_DEFICIENT',
    );
    expect(error.message).toContain("'constant'");
    expect(error.message).toContain("'(Intercept)'");
  });

  it('complete separation raises RAREFY_SEPARATION, not huge coefficients', () => {
    const error = expectRarefyError(
      () => fitLogistic(matrix([[-2], [-1], [1], [2]], ['x']), Uint8Array.from([0, 0, 1, 1])),
      'RAREFY_SEPARATION',
    );
    expect(error.message).toContain("'x'");
    expect(error.fix).toMatch(/ridge/);
  });

  it('quasi-complete separation raises RAREFY_SEPARATION', () => {
    expectRarefyError(
      () => fitLogistic(matrix([[-2], [-1], [0], [0], [1], [2]], ['x']), Uint8Array.from([0, 0, 0, 1, 1, 1])),
      'RAREFY_SEPARATION',
    );
  });

  it('a separating binary feature among ordinary ones is detected and named; ridge fixes it', () => {
    const { x, y } = simulateRareEvents({ rows: 4000, seed: 9, intercept: -2, slopes: [-0.5, 0.5] });
    // 'flag' is 1 only on some positives: quasi-complete separation along 'flag'.
    const rng = createRng(10);
    const features = new Float64Array(x.rows * 3);
    for (let i = 0; i < x.rows; i++) {
      features[i * 3] = x.data[i * 3 + 1] as number;
      features[i * 3 + 1] = x.data[i * 3 + 2] as number;
      features[i * 3 + 2] = y[i] === 1 && rng.nextFloat64() < 0.3 ? 1 : 0;
    }
    const withFlag = designMatrix(features, ['x1', 'x2', 'flag']);
    const error = expectRarefyError(() => fitLogistic(withFlag, y), 'RAREFY_SEPARATION');
    expect(error.message).toContain("'flag'");
    expect(error.message).not.toContain("'x1'");
    const ridged = fitLogistic(withFlag, y, { ridge: 1 });
    expect(ridged.converged).toBe(true);
    expect(Number.isFinite(ridged.coefficients[3] as number)).toBe(true);
  });

  it('legitimately extreme fitted probabilities are not mistaken for separation', () => {
    // A strong but overlapping feature: some rows get probabilities below 1e-6.
    const { x, y } = simulateRareEvents({ rows: 20_000, seed: 12, intercept: -6, slopes: [-3] });
    const fit = fitLogistic(x, y);
    expect(fit.converged).toBe(true);
    expect(Math.min(...fit.fitted)).toBeLessThan(1e-6);
  });

  it('non-convergence is an error unless requireConvergence is false', () => {
    const { x, y } = simulateRareEvents({ rows: 2000, seed: 2, intercept: -3 });
    expectRarefyError(() => fitLogistic(x, y, { maxIterations: 1 }), 'RAREFY_NOT_CONVERGED');
    const fit = fitLogistic(x, y, { maxIterations: 1, requireConvergence: false });
    expect(fit.converged).toBe(false);
    expect(fit.iterations).toBe(1);
  });

  it('rejects bad labels, lengths and non-finite values', () => {
    expectRarefyError(
      () => fitLogistic(tableX, Uint8Array.from([0, 1, 2, 0, 0, 1, 1, 1, 0])),
      'RAREFY_INVALID_LABEL',
    );
    expectRarefyError(() => fitLogistic(tableX, Uint8Array.from([0, 1])), 'RAREFY_DIMENSION_MISMATCH');
    expectRarefyError(
      () => fitLogistic(tableX, tableY, { weight: new Float64Array(9).fill(-1) }),
      'RAREFY_NON_FINITE',
    );
    expectRarefyError(
      () => fitLogistic(tableX, tableY, { offset: new Float64Array(9).fill(Number.POSITIVE_INFINITY) }),
      'RAREFY_NON_FINITE',
    );
    const bad = matrix([[0], [Number.NaN], [1], [1]], ['x']);
    const error = expectRarefyError(
      () => fitLogistic(bad, Uint8Array.from([0, 1, 0, 1])),
      'RAREFY_NON_FINITE',
    );
    expect(error.message).toContain('row 1');
    expectRarefyError(() => fitLogistic(tableX, tableY, { ridge: -1 }), 'RAREFY_INVALID_ARGUMENT');
    expectRarefyError(
      () => fitLogistic(tableX, tableY, { start: new Float64Array(3) }),
      'RAREFY_DIMENSION_MISMATCH',
    );
  });
});
