import {
  createRng,
  type DesignMatrix,
  designMatrix,
  isRarefyError,
  logit,
  selectRows,
  sigmoid,
  simulateRareEvents,
} from '@rarefy/sampling-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  combinePilotAndSample,
  correctCaseControlIntercept,
  fitClassReweighted,
  fitSubsample,
  pilotInformation,
  predictProbability,
  recalibrateProbability,
  standardErrors,
  uniformInterceptShift,
  waldIntervals,
} from './estimators.js';
import { fitLogistic } from './glm.js';

function interceptOnly(rows: number): DesignMatrix {
  return { data: new Float64Array(rows).fill(1), rows, columns: 1, names: ['(Intercept)'], intercept: true };
}

describe('fitSubsample: sandwich by hand', () => {
  it('IPW, intercept only: beta = logit(sum w y / sum w), covariance B / I^2', () => {
    // y = 1, 0, 0, 1, 0 with w = 1, 2, 2, 1, 4: weighted rate p = 2 / 10 = 0.2.
    // I = sum w p (1 - p) = 10 * 0.16 = 1.6; B = sum w^2 (y - p)^2 = 2 * 0.64 + (4 + 4 + 16) * 0.04 = 2.24;
    // covariance = 2.24 / 1.6^2 = 0.875.
    const y = Uint8Array.from([1, 0, 0, 1, 0]);
    const weight = Float64Array.from([1, 2, 2, 1, 4]);
    const result = fitSubsample('ipw', interceptOnly(5), y, { offset: new Float64Array(5), weight });
    expect(result.coefficients[0]).toBeCloseTo(Math.log(0.25), 8);
    expect(result.information[0]).toBeCloseTo(1.6, 8);
    expect(result.meat[0]).toBeCloseTo(2.24, 8);
    expect(result.covariance[0]).toBeCloseTo(0.875, 8);
  });

  it('log-odds, saturated 2x2 table: the sandwich equals I^-1 = the classic 1/a + 1/b ...', () => {
    // x = 0: 2 positives, 3 negatives; x = 1: 3 positives, 1 negative; offsets per cell.
    const x = designMatrix(Float64Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1]), ['x']);
    const y = Uint8Array.from([1, 1, 0, 0, 0, 1, 1, 1, 0]);
    const offset = Float64Array.from(y, (_, i) => (i < 5 ? 1 : 2));
    const result = fitSubsample('log-odds', x, y, { offset, weight: new Float64Array(9).fill(1) });
    expect(result.coefficients[0]).toBeCloseTo(Math.log(2 / 3) - 1, 8);
    expect((result.coefficients[0] as number) + (result.coefficients[1] as number)).toBeCloseTo(
      Math.log(3) - 2,
      8,
    );
    // var(beta0) = 1/2 + 1/3, var(beta1) = 1/2 + 1/3 + 1/3 + 1, cov = -(1/2 + 1/3).
    expect(result.covariance[0]).toBeCloseTo(1 / 2 + 1 / 3, 8);
    expect(result.covariance[3]).toBeCloseTo(1 / 2 + 1 / 3 + 1 / 3 + 1, 8);
    expect(result.covariance[1]).toBeCloseTo(-(1 / 2 + 1 / 3), 8);
    const se = standardErrors(result.covariance, 2);
    expect(se[1]).toBeCloseTo(Math.sqrt(13 / 6), 8);
  });

  it('rejects an unknown estimator', () => {
    expect(() =>
      fitSubsample('naive' as 'ipw', interceptOnly(2), Uint8Array.from([0, 1]), {
        offset: new Float64Array(2),
        weight: new Float64Array(2).fill(1),
      }),
    ).toThrow(/estimator/);
  });
});

describe('pilot information and combination', () => {
  it('pilotInformation by hand', () => {
    const x = designMatrix(Float64Array.from([1, 2]), ['x']);
    const { information, meat } = pilotInformation(x, Uint8Array.from([1, 0]), Float64Array.from([0.5, 0.2]));
    // I = 0.25 [1 1; 1 1] + 0.16 [1 2; 2 4]; B = 0.25 [1 1; 1 1] + 0.04 [1 2; 2 4].
    for (const [k, value] of [0.41, 0.57, 0.57, 0.89].entries())
      expect(information[k]).toBeCloseTo(value, 12);
    for (const [k, value] of [0.29, 0.33, 0.33, 0.41].entries()) expect(meat[k]).toBeCloseTo(value, 12);
  });

  it('combinePilotAndSample by hand (d = 1 and a diagonal d = 2)', () => {
    const one = combinePilotAndSample(
      { coefficients: Float64Array.of(1), information: Float64Array.of(2), meat: Float64Array.of(1) },
      { coefficients: Float64Array.of(3), information: Float64Array.of(6), meat: Float64Array.of(3) },
      1,
    );
    expect(one.coefficients[0]).toBeCloseTo((2 * 1 + 6 * 3) / 8, 12);
    expect(one.covariance[0]).toBeCloseTo(4 / 64, 12);
    const two = combinePilotAndSample(
      {
        coefficients: Float64Array.of(1, -1),
        information: Float64Array.of(1, 0, 0, 3),
        meat: Float64Array.of(1, 0, 0, 1),
      },
      {
        coefficients: Float64Array.of(2, 1),
        information: Float64Array.of(3, 0, 0, 1),
        meat: Float64Array.of(2, 0, 0, 2),
      },
      2,
    );
    expect(two.coefficients[0]).toBeCloseTo((1 + 6) / 4, 12);
    expect(two.coefficients[1]).toBeCloseTo((-3 + 1) / 4, 12);
    expect(two.covariance[0]).toBeCloseTo(3 / 16, 12);
    expect(two.covariance[3]).toBeCloseTo(3 / 16, 12);
    expect(two.covariance[1]).toBeCloseTo(0, 12);
  });
});

describe('intercept corrections and recalibration', () => {
  it('recalibrateProbability is He et al.: q = p / (p + (1 - p) / r) = sigma(logit p + log r)', () => {
    expect(recalibrateProbability(0.5, 0.1)).toBeCloseTo(1 / 11, 14);
    for (const p of [0.01, 0.3, 0.9]) {
      for (const r of [0.001, 0.2, 1]) {
        expect(recalibrateProbability(p, r)).toBeCloseTo(sigmoid(logit(p) + uniformInterceptShift(r)), 14);
      }
    }
    expect(recalibrateProbability(0, 0.1)).toBe(0);
    expect(() => recalibrateProbability(0.5, 0)).toThrow(/rate/);
  });

  it('the case-control correction log(r1/r0) equals fitting with the constant offset log(r1/r0)', () => {
    const { x, y } = simulateRareEvents({ rows: 20_000, seed: 21, intercept: -4 });
    // Take all positives (r1 = 1) and every 20th negative (r0 = N0' / N0).
    const rows: number[] = [];
    let negatives = 0;
    let keptNegatives = 0;
    for (let i = 0; i < x.rows; i++) {
      if (y[i] === 1) rows.push(i);
      else if (negatives++ % 20 === 0) {
        rows.push(i);
        keptNegatives++;
      }
    }
    const r1 = 1;
    const r0 = keptNegatives / negatives;
    const xs = selectRows(x, rows);
    const ys = Uint8Array.from(rows, (i) => y[i] as number);
    const corrected = correctCaseControlIntercept(fitLogistic(xs, ys).coefficients, r1, r0);
    const withOffset = fitLogistic(xs, ys, { offset: new Float64Array(xs.rows).fill(Math.log(r1 / r0)) });
    for (let j = 0; j < x.columns; j++) {
      expect(corrected[j]).toBeCloseTo(withOffset.coefficients[j] as number, 7);
    }
    expect(corrected[0]).toBeCloseTo((fitLogistic(xs, ys).coefficients[0] as number) - Math.log(r1 / r0), 12);
  });
});

describe('class reweighting and prediction', () => {
  it('an intercept-only class-reweighted fit has probability 1/2 (intercept 0)', () => {
    const y = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    const result = fitClassReweighted(interceptOnly(10), y);
    expect(result.coefficients[0]).toBeCloseTo(0, 8);
    // weights: positives 10 / 4 = 2.5, negatives 10 / 16 = 0.625; I = 10 * 0.25 = 2.5;
    // B = 2 * 2.5^2 * 0.25 + 8 * 0.625^2 * 0.25 = 3.125 + 0.78125.
    expect(result.information[0]).toBeCloseTo(2.5, 8);
    expect(result.meat[0]).toBeCloseTo(3.90625, 8);
    expect(result.covariance[0]).toBeCloseTo(3.90625 / 6.25, 8);
  });

  it('requires both classes', () => {
    try {
      fitClassReweighted(interceptOnly(3), Uint8Array.from([0, 0, 0]));
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_NO_POSITIVES')).toBe(true);
    }
  });

  it('predictProbability is sigma(x beta) without offset', () => {
    const x = designMatrix(Float64Array.from([0, 2]), ['x']);
    const p = predictProbability(x, Float64Array.of(-1, 0.5));
    expect(p[0]).toBeCloseTo(sigmoid(-1), 15);
    expect(p[1]).toBeCloseTo(sigmoid(0), 15);
  });

  it('waldIntervals use the normal quantile', () => {
    const { lower, upper } = waldIntervals(Float64Array.of(1, -2), Float64Array.of(0.5, 0.1));
    expect(lower[0]).toBeCloseTo(1 - 1.959963984540054 * 0.5, 12);
    expect(upper[1]).toBeCloseTo(-2 + 1.959963984540054 * 0.1, 12);
    const ninety = waldIntervals(Float64Array.of(0), Float64Array.of(1), 0.9);
    expect(ninety.upper[0]).toBeCloseTo(1.6448536269514722, 12);
  });
});

describe('Monte Carlo: Poisson subsampling with pi = min(1, c p_true), positives all kept', () => {
  // Correctly specified model, a fresh data set per replication (coverage is about the truth, not
  // about one data set). N = 20,000, beta = (-4, -0.5, 0.5, 0.25): about 500 positives; c = 3 keeps
  // about 3 negatives per positive. 300 replications: the mean error of each coefficient must lie
  // within 3 Monte-Carlo standard errors (sd / sqrt(300)) of 0, and the 95% Wald intervals of the
  // subsample sandwich must cover the truth in 92-98% of the replications (binomial sd 1.3%).
  const replications = 300;
  const rows = 20_000;
  const slopes = [-0.5, 0.5, 0.25];
  const intercept = -4;
  const c = 3;
  const errors = { 'log-odds': [] as Float64Array[], ipw: [] as Float64Array[] };
  const covered = { 'log-odds': new Float64Array(4), ipw: new Float64Array(4) };
  beforeAll(() => {
    const rng = createRng('correction-monte-carlo');
    for (let replication = 0; replication < replications; replication++) {
      const data = simulateRareEvents({ rows, rng: rng.split(), intercept, slopes });
      const { x, y, trueCoefficients } = data;
      const truth = predictProbability(x, trueCoefficients);
      const kept: number[] = [];
      const pi: number[] = [];
      for (let i = 0; i < rows; i++) {
        const keep = Math.min(1, c * (truth[i] as number));
        if (y[i] === 1 || rng.nextFloat64() <= keep) {
          kept.push(i);
          pi.push(keep);
        }
      }
      const xs = selectRows(x, kept);
      const ys = Uint8Array.from(kept, (i) => y[i] as number);
      const offset = Float64Array.from(pi, (p) => -Math.log(p));
      const weight = Float64Array.from(pi, (p, k) => (ys[k] === 1 ? 1 : 1 / p));
      for (const estimator of ['log-odds', 'ipw'] as const) {
        const result = fitSubsample(estimator, xs, ys, { offset, weight });
        const se = standardErrors(result.covariance, x.columns);
        const { lower, upper } = waldIntervals(result.coefficients, se);
        errors[estimator].push(
          Float64Array.from(result.coefficients, (b, j) => b - (trueCoefficients[j] as number)),
        );
        for (let j = 0; j < x.columns; j++) {
          const t = trueCoefficients[j] as number;
          if ((lower[j] as number) <= t && t <= (upper[j] as number)) covered[estimator][j]! += 1;
        }
      }
    }
  });

  for (const estimator of ['log-odds', 'ipw'] as const) {
    it(`${estimator}: unbiased within 3 Monte-Carlo standard errors`, () => {
      for (let j = 0; j < 4; j++) {
        const values = errors[estimator].map((e) => e[j] as number);
        const mean = values.reduce((a, b) => a + b, 0) / replications;
        const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (replications - 1));
        if (process.env.RAREFY_PRINT_MC) console.log(estimator, j, mean / (sd / Math.sqrt(replications)));
        expect(Math.abs(mean), `coefficient ${j}: mean error ${mean}, sd ${sd}`).toBeLessThan(
          (3 * sd) / Math.sqrt(replications),
        );
      }
    });
  }

  it('log-odds: 95% Wald intervals (subsample sandwich) cover the truth in 92-98% of replications', () => {
    for (let j = 0; j < 4; j++) {
      const coverage = (covered['log-odds'][j] as number) / replications;
      if (process.env.RAREFY_PRINT_MC)
        console.log('coverage', j, coverage, (covered.ipw[j] as number) / replications);
      expect(coverage, `coefficient ${j}`).toBeGreaterThanOrEqual(0.92);
      expect(coverage, `coefficient ${j}`).toBeLessThanOrEqual(0.98);
    }
  });

  it('log-odds is at least as efficient as IPW (the paper: smallest asymptotic variance)', () => {
    for (let j = 1; j < 4; j++) {
      const variance = (list: Float64Array[]) =>
        list.reduce((a, e) => a + (e[j] as number) ** 2, 0) / replications;
      // MSE ratio; a 10% margin for Monte-Carlo noise in the comparison.
      expect(variance(errors['log-odds'])).toBeLessThan(1.1 * variance(errors.ipw));
    }
  });
});
