import {
  isRarefyError,
  keepProbability,
  linearPredictor,
  sigmoid,
  simulateRareEvents,
} from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { fitRareEvents } from './recipe.js';

function trueProbability(seed: number, rows: number) {
  const data = simulateRareEvents({ rows, seed, intercept: -4, slopes: [-0.5, 0.5, 0.25] });
  const probability = linearPredictor(data.x, data.trueCoefficients).map(sigmoid);
  return { ...data, probability };
}

describe('fitRareEvents with an external pilot (pilotProbability)', () => {
  it('skips the pilot draw and uses the given probabilities for the design', () => {
    const data = trueProbability(1, 20_000);
    const fit = fitRareEvents({
      x: data.x,
      y: data.y,
      design: 'proportional',
      sampleSize: 1000,
      pilotProbability: data.probability,
      seed: 2,
    });
    expect(fit.pilot).toBeNull();
    // Every kept row's pi is the design's keep probability at the given pilot probability.
    for (let k = 0; k < fit.sample.rows.length; k++) {
      const row = fit.sample.rows[k] as number;
      expect(fit.sample.pi[k]).toBeCloseTo(keepProbability(data.probability[row] as number, fit.scale), 14);
    }
    // Without a pilot to combine with, the reported estimate is the subsample's.
    expect(Array.from(fit.coefficients)).toEqual(Array.from(fit.subsample.coefficients));
    expect(fit.scale.expectedNegatives).toBeCloseTo(1000, 6);
  });

  it('is unbiased with the true probabilities as the pilot (40 fresh data sets, 3 MC standard errors)', () => {
    const reps = 40;
    const d = 4;
    const sum = new Float64Array(d);
    const sumSquares = new Float64Array(d);
    let truth: ArrayLike<number> = new Float64Array(d);
    for (let r = 0; r < reps; r++) {
      const data = trueProbability(100 + r, 20_000);
      truth = data.trueCoefficients;
      const fit = fitRareEvents({
        x: data.x,
        y: data.y,
        design: 'optA',
        sampleSize: 800,
        pilotProbability: data.probability,
        seed: r,
      });
      for (let j = 0; j < d; j++) {
        sum[j] = (sum[j] as number) + (fit.coefficients[j] as number);
        sumSquares[j] = (sumSquares[j] as number) + (fit.coefficients[j] as number) ** 2;
      }
    }
    for (let j = 0; j < d; j++) {
      const mean = (sum[j] as number) / reps;
      const sd = Math.sqrt(((sumSquares[j] as number) - reps * mean * mean) / (reps - 1));
      // The mean of 40 estimates has standard error sd / sqrt(40): bias beyond 3 of them fails.
      expect(Math.abs(mean - (truth[j] as number))).toBeLessThan((3 * sd) / Math.sqrt(reps));
    }
  });

  it('refuses probabilities of the wrong length or outside [0, 1], naming the input', () => {
    const data = trueProbability(3, 2000);
    const short = data.probability.subarray(0, 10);
    try {
      fitRareEvents({ x: data.x, y: data.y, design: 'optL', pilotProbability: short });
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
      expect(String(error)).toMatch(/pilotProbability/);
    }
    const bad = Float64Array.from(data.probability);
    bad[5] = Number.NaN;
    expect(() => fitRareEvents({ x: data.x, y: data.y, design: 'optL', pilotProbability: bad })).toThrow(
      /row 6/,
    );
  });
});

describe('fitRareEvents with a ridge', () => {
  it('fits data with a duplicated column that the plain recipe refuses as rank deficient', () => {
    const data = simulateRareEvents({ rows: 30_000, seed: 5, intercept: -4, slopes: [-0.5, 0.5] });
    // Append a copy of x1: the plain fit has no unique solution.
    const d = data.x.columns;
    const wide = new Float64Array(data.x.rows * (d + 1));
    for (let i = 0; i < data.x.rows; i++) {
      wide.set(data.x.data.subarray(i * d, i * d + d), i * (d + 1));
      wide[i * (d + 1) + d] = data.x.data[i * d + 1] as number;
    }
    const x = {
      data: wide,
      rows: data.x.rows,
      columns: d + 1,
      names: [...data.x.names, 'x1_copy'],
      intercept: true,
    };
    expect(() => fitRareEvents({ x, y: data.y, design: 'optA', pilotSize: 400, seed: 1 })).toThrow(
      /collinear|singular|rank/i,
    );
    const fit = fitRareEvents({ x, y: data.y, design: 'optA', pilotSize: 400, seed: 1, ridge: 1 });
    // The ridge splits x1's effect evenly between the two copies; their sum estimates the slope -0.5.
    const split = (fit.coefficients[1] as number) + (fit.coefficients[3] as number);
    expect(Math.abs(split + 0.5)).toBeLessThan(
      4 * Math.hypot(fit.standardErrors[1] as number, fit.standardErrors[3] as number),
    );
    expect(Math.abs((fit.coefficients[1] as number) - (fit.coefficients[3] as number))).toBeLessThan(1e-6);
    // With a ridge the reported estimate is the subsample's (no A.8 combination).
    expect(Array.from(fit.coefficients)).toEqual(Array.from(fit.subsample.coefficients));
  });
});
