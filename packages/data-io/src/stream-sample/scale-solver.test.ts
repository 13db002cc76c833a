import { fitLogistic } from '@rarefy/correction';
import { createRng, drawBalancedPilot, selectRows, simulateRareEvents } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { emptyEvaluation, ScoreHistogram } from './histogram.js';
import { fitLogisticPilot, HISTOGRAM_BITS, solveHistogramScale } from './scale-solver.js';

describe('ScoreHistogram.addBin', () => {
  it('aggregated bins evaluate and solve exactly as the same scores added one by one', () => {
    const rng = createRng(4);
    const scores = Array.from({ length: 20_000 }, () => Math.exp(-12 * rng.nextFloat64()));
    const byRow = new ScoreHistogram(HISTOGRAM_BITS);
    const bins = new Map<number, { count: number; sum: number; low: number; high: number }>();
    for (const s of scores) {
      byRow.add(s);
      const key = byRow.key(s);
      const bin = bins.get(key) ?? { count: 0, sum: 0, low: s, high: s };
      bin.count++;
      bin.sum += s;
      bin.low = Math.min(bin.low, s);
      bin.high = Math.max(bin.high, s);
      bins.set(key, bin);
    }
    byRow.add(0);
    const byBin = new ScoreHistogram(HISTOGRAM_BITS);
    for (const [key, bin] of [...bins].reverse()) byBin.addBin(key, bin.count, bin.sum, bin.low, bin.high);
    byBin.addZeros(1);
    expect(byBin.span).toBe(byRow.span);
    expect(byBin.minimum).toBe(byRow.minimum);
    for (const multiplier of [0.01, 0.5, 3]) {
      const a = emptyEvaluation();
      const b = emptyEvaluation();
      byRow.evaluate(multiplier, 0.001, 1e-6, a);
      byBin.evaluate(multiplier, 0.001, 1e-6, b);
      expect(b).toEqual(a);
    }
    const problem = {
      design: 'optL' as const,
      positives: null,
      populationNegatives: 20_001,
      populationPositives: 300,
      alpha: 0.1,
      piMin: 1e-6,
    };
    expect(solveHistogramScale({ ...problem, negatives: byBin }).scale).toBe(
      solveHistogramScale({ ...problem, negatives: byRow }).scale,
    );
    expect(() => byBin.addBin(byRow.key(0.5), 1, 0.25, 0.25, 0.25)).toThrow(/do not belong/);
  });

  it('solveHistogramScale refuses a sample larger than the negatives', () => {
    const negatives = new ScoreHistogram(HISTOGRAM_BITS);
    negatives.add(0.5);
    expect(() =>
      solveHistogramScale({
        design: 'proportional',
        negatives,
        positives: null,
        populationNegatives: 1,
        populationPositives: 1,
        sampleSize: 2,
        alpha: 0,
        piMin: 1e-6,
      }),
    ).toThrow(expect.objectContaining({ code: 'RAREFY_SAMPLE_TOO_LARGE' }));
  });
});

describe('fitLogisticPilot', () => {
  it('is fitLogistic with the intercept reduced by log(r1/r0)', () => {
    const data = simulateRareEvents({ rows: 20_000, seed: 2 });
    const draw = drawBalancedPilot(data.y, 400, createRng(1));
    const x = selectRows(data.x, draw.rows);
    const y = Uint8Array.from(draw.rows, (i) => data.y[i] as number);
    const { coefficients, probability } = fitLogisticPilot(x, y, draw);
    const plain = fitLogistic(x, y).coefficients;
    expect(coefficients[0]).toBeCloseTo((plain[0] as number) - draw.logOddsShift, 12);
    expect(Array.from(coefficients.slice(1))).toEqual(Array.from(plain.slice(1)));
    expect(probability.every((p) => p > 0 && p < 1)).toBe(true);
  });
});
