import { fitRareEvents } from '@rarefy/correction';
import { designMatrix, isRarefyError, simulateRareEvents } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { batchFromMatrix } from './__fixtures__/design-batch.js';
import { LogisticPilot } from './logistic-pilot.js';

const data = simulateRareEvents({ rows: 20_000, seed: 3 });

describe('LogisticPilot.fit', () => {
  it("reproduces fitRareEvents' pilot exactly for the same seed and pilot size", () => {
    for (const seed of [1, 'pilot-seed']) {
      const fit = fitRareEvents({ x: data.x, y: data.y, design: 'optA', pilotSize: 400, seed });
      const pilot = LogisticPilot.fit({ x: data.x, y: data.y, pilotSize: 400, seed });
      // Same draw, same solver, same correction: bit-identical, no tolerance needed.
      expect(Array.from(pilot.coefficients)).toEqual(Array.from(fit.pilot?.coefficients ?? []));
      expect(Array.from(pilot.pilotDraw?.rows ?? [])).toEqual(Array.from(fit.pilot?.draw.rows ?? []));
    }
  });

  it('records the design, the sizes and the intercept correction log(r1/r0)', () => {
    const pilot = LogisticPilot.fit({ x: data.x, y: data.y, pilotSize: 300, seed: 2 });
    const negatives = data.y.length - data.positives;
    expect(pilot.fitted).toEqual({
      design: 'balanced',
      sizes: {
        negatives: 150,
        positives: 150,
        populationNegatives: negatives,
        populationPositives: data.positives,
      },
      interceptCorrection: Math.log(150 / data.positives / (150 / negatives)),
      seed: 2,
      wholeClass: null,
    });
    expect(pilot.features).toEqual(['x1', 'x2', 'x3', 'x4', 'x5', 'x6']);
    expect(pilot.names[0]).toBe('(Intercept)');
    const uncorrected = pilot.uncorrectedFit?.coefficients[0] as number;
    expect(pilot.coefficients[0]).toBeCloseTo(
      uncorrected - (pilot.fitted?.interceptCorrection as number),
      12,
    );
    // The corrected intercept is near the truth (-6); the balanced pilot alone is near -6 + log(N0/N1).
    expect(Math.abs((pilot.coefficients[0] as number) + 6)).toBeLessThan(1);
  });

  it('fits a model without intercept with the constant offset, as the recipe does', () => {
    const features = new Float64Array(data.x.rows * 6);
    for (let i = 0; i < data.x.rows; i++) features.set(data.x.data.subarray(i * 7 + 1, i * 7 + 7), i * 6);
    const x = designMatrix(features, ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'], { intercept: false });
    const fit = fitRareEvents({ x, y: data.y, design: 'optL', pilotSize: 400, seed: 5 });
    const pilot = LogisticPilot.fit({ x, y: data.y, pilotSize: 400, seed: 5 });
    expect(pilot.intercept).toBe(false);
    expect(Array.from(pilot.coefficients)).toEqual(Array.from(fit.pilot?.coefficients ?? []));
  });

  it('raises the typed pilot-too-large error and honours takeWholeClass', () => {
    const big = data.positives * 2 + 2;
    expect(() => LogisticPilot.fit({ x: data.x, y: data.y, pilotSize: big, seed: 1 })).toThrowError(
      expect.objectContaining({ code: 'RAREFY_PILOT_TOO_LARGE' }),
    );
    const whole = LogisticPilot.fit({ x: data.x, y: data.y, pilotSize: big, seed: 1, takeWholeClass: true });
    expect(whole.fitted?.wholeClass).toBe('positives');
    expect(whole.fitted?.sizes.positives).toBe(data.positives);
  });
});

describe('LogisticPilot scoring', () => {
  const pilot = LogisticPilot.fit({ x: data.x, y: data.y, pilotSize: 400, seed: 1 });

  it('scores a batch like the design matrix', () => {
    const expected = pilot.predictMatrix(data.x);
    const batch = batchFromMatrix(data.x, data.y);
    expect(Array.from(pilot.predictProbability(batch))).toEqual(Array.from(expected));
    for (let i = 0; i < 50; i++) {
      let eta = 0;
      for (let j = 0; j < 7; j++)
        eta += (data.x.data[i * 7 + j] as number) * (pilot.coefficients[j] as number);
      expect(expected[i]).toBeCloseTo(1 / (1 + Math.exp(-eta)), 14);
    }
  });

  it('names the missing column', () => {
    const batch = batchFromMatrix(data.x);
    const { x3: _dropped, ...columns } = batch.columns;
    expect(() => pilot.predictProbability({ ...batch, columns })).toThrowError(/no column "x3"/);
  });

  it('refuses a design matrix with other columns', () => {
    const x = designMatrix(new Float64Array([1, 2]), ['a', 'b']);
    try {
      pilot.predictMatrix(x);
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
    }
  });
});

describe('LogisticPilot.fromCoefficients', () => {
  it('accepts names with or without the intercept', () => {
    const a = LogisticPilot.fromCoefficients(['(Intercept)', 'u', 'v'], [-1, 2, 3]);
    const b = LogisticPilot.fromCoefficients(['u', 'v'], [-1, 2, 3]);
    const c = LogisticPilot.fromCoefficients(['u', 'v'], [2, 3], { intercept: false });
    expect(a.features).toEqual(['u', 'v']);
    expect(b.names).toEqual(a.names);
    expect(a.intercept && b.intercept && !c.intercept).toBe(true);
    expect(a.fitted).toBeNull();
    const batch = {
      schema: [],
      rows: 1,
      firstRow: 0,
      columns: { u: new Float64Array([0.5]), v: new Float64Array([-1]) },
    };
    expect(a.predictProbability(batch)[0]).toBeCloseTo(1 / (1 + Math.exp(-(-1 + 1 - 3))), 15);
    expect(c.predictProbability(batch)[0]).toBeCloseTo(1 / (1 + Math.exp(-(1 - 3))), 15);
  });

  it('rejects a count mismatch and non-finite values with typed errors', () => {
    expect(() => LogisticPilot.fromCoefficients(['u', 'v'], [1, 2, 3, 4])).toThrowError(
      /4 coefficients for 2 features/,
    );
    expect(() => LogisticPilot.fromCoefficients(['u'], [Number.NaN], { intercept: false })).toThrowError(
      /coefficient 0 is NaN/,
    );
    expect(() => LogisticPilot.fromCoefficients(['u', 'u'], [1, 2], { intercept: false })).toThrowError(
      /twice/,
    );
  });

  it('wraps a corrected final model with its training record', () => {
    const fit = fitRareEvents({ x: data.x, y: data.y, design: 'optA', pilotSize: 400, seed: 1 });
    const model = LogisticPilot.fromRareEventsFit(fit, { seed: 1 });
    expect(Array.from(model.coefficients)).toEqual(Array.from(fit.coefficients));
    expect(model.training).toMatchObject({ design: 'optA', estimator: 'log-odds', seed: 1 });
    expect(model.training?.sizes.negatives).toBe(fit.sample.negatives);
  });
});
