import { describe, expect, it } from 'vitest';
import { designScores } from './designs.js';
import { isRarefyError, RarefySamplingError } from './errors.js';
import { linearPredictor, sigmoid } from './matrix.js';
import { keepProbability, type ScaleSolution, solveScale } from './scale.js';
import { simulateRareEvents } from './simulate.js';

function caught(fn: () => unknown, code: string): Error {
  try {
    fn();
  } catch (error) {
    expect(isRarefyError(error, code as never)).toBe(true);
    return error as Error;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

// The solver stops at a relative 1e-10 on the expected size; scales agree to about the same.
const closeScale = 9;

describe('keepProbability', () => {
  const solution: ScaleSolution = {
    method: 'exact',
    scale: 2,
    uniformRate: 0.5,
    alpha: 0.5,
    piMin: 0.05,
    expectedNegatives: 0,
    expectedPositives: 0,
    atCap: 0,
    atFloor: 0,
    iterations: 0,
  };

  it('mixes, floors and caps: min(1, max(piMin, (1 - alpha) c s + alpha c0))', () => {
    // (1 - 0.5) * 2 * 0.1 + 0.5 * 0.5 = 0.1 + 0.25 = 0.35
    expect(keepProbability(0.1, solution)).toBeCloseTo(0.35, 15);
    expect(keepProbability(0, solution)).toBeCloseTo(0.25, 15);
    expect(keepProbability(2, solution)).toBe(1); // 2 + 0.25 capped
    // alpha = 0, c = 1: s = 0.01 is floored at 0.05.
    expect(keepProbability(0.01, { ...solution, alpha: 0, scale: 1 })).toBe(0.05);
  });
});

describe('solveScale: rate', () => {
  it('uniform at rate r keeps r N0 negatives in expectation', () => {
    const labels = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    const scores = designScores('uniform', new Float64Array(10).fill(0.2), null);
    const solution = solveScale('uniform', scores, labels, { method: 'rate', rate: 0.25 });
    expect(solution.scale).toBeCloseTo(0.25, 15);
    expect(solution.uniformRate).toBe(0.25);
    expect(solution.expectedNegatives).toBeCloseTo(0.25 * 8, 14);
    expect(solution.expectedPositives).toBe(2);
    expect(solution.iterations).toBe(1);
  });

  it('c = r / mean of s over all rows, positives included', () => {
    // s = 0.1, 0.2, 0.3 (negatives), 0.6 (positive): mean 0.3, r = 0.15 -> c = 0.5.
    const solution = solveScale(
      'proportional',
      new Float64Array([0.1, 0.2, 0.3, 0.6]),
      Uint8Array.from([0, 0, 0, 1]),
      {
        method: 'rate',
        rate: 0.15,
      },
    );
    expect(solution.scale).toBeCloseTo(0.5, 14);
    expect(solution.expectedNegatives).toBeCloseTo(0.05 + 0.1 + 0.15, 14);
  });
});

describe('solveScale: exact (hand-computed)', () => {
  const labels = Uint8Array.from([0, 0, 0, 0, 1]);
  const scores = new Float64Array([0.1, 0.2, 0.3, 0.4, 0.9]); // the positive's score is ignored

  it('no cap or floor binding: c = n / sum of negative scores', () => {
    const solution = solveScale('proportional', scores, labels, { method: 'exact', sampleSize: 1 });
    expect(solution.scale).toBeCloseTo(1, closeScale);
    expect(solution.uniformRate).toBe(0.25);
    expect(solution.expectedNegatives).toBeCloseTo(1, 9);
    expect(solution.atCap).toBe(0);
    expect(solution.atFloor).toBe(0);
    expect(solution.expectedPositives).toBe(1);
  });

  it('with a capped row: 0.6 c + 1 = 2.8 gives c = 3 (pi = 0.3, 0.6, 0.9, 1)', () => {
    const solution = solveScale('proportional', scores, labels, { method: 'exact', sampleSize: 2.8 });
    expect(solution.scale).toBeCloseTo(3, closeScale);
    expect(solution.atCap).toBe(1);
    expect(keepProbability(0.3, solution)).toBeCloseTo(0.9, 9);
    expect(solution.iterations).toBeLessThanOrEqual(10);
  });

  it('with mixing: alpha 0.5, c0 = 2/4: 0.5 c (1.0) + 4 (0.25) = 2 gives c = 2', () => {
    const solution = solveScale('proportional', scores, labels, {
      method: 'exact',
      sampleSize: 2,
      alpha: 0.5,
    });
    expect(solution.uniformRate).toBe(0.5);
    expect(solution.scale).toBeCloseTo(2, closeScale);
    // pi = 0.5 * 2 * s + 0.25 = 0.35, 0.45, 0.55, 0.65
    expect(keepProbability(0.1, solution)).toBeCloseTo(0.35, 9);
    expect(keepProbability(0.4, solution)).toBeCloseTo(0.65, 9);
  });

  it('with the floor: s = 0 floored at piMin 0.05, 0.05 + c (1.0) = 1 gives c = 0.95', () => {
    const solution = solveScale('proportional', new Float64Array([0, 0.2, 0.3, 0.5, 0.9]), labels, {
      method: 'exact',
      sampleSize: 1,
      piMin: 0.05,
    });
    expect(solution.scale).toBeCloseTo(0.95, closeScale);
    expect(solution.atFloor).toBe(1);
    expect(solution.piMin).toBe(0.05);
  });

  it('LCC thins both classes: solves sum of a0 and a1 over all rows = n + N1', () => {
    // Negatives p = 0.1, 0.2; positives p = 0.6, 0.9 (a1 uses 1 - p = 0.4, 0.1). n = 0.9, target 2.9.
    // With the 0.6-positive capped: 0.1c + 0.2c + 1 + 0.1c = 2.9 -> c = 4.75:
    // a0 = 0.475, 0.95; a1 = 1, 0.475.
    const solution = solveScale(
      'LCC',
      new Float64Array([0.1, 0.6, 0.2, 0.9]),
      Uint8Array.from([0, 1, 0, 1]),
      { method: 'exact', sampleSize: 0.9 },
    );
    expect(solution.scale).toBeCloseTo(4.75, closeScale);
    expect(solution.uniformRate).toBeCloseTo(2.9 / 4, 15);
    expect(solution.expectedNegatives).toBeCloseTo(1.425, 9);
    expect(solution.expectedPositives).toBeCloseTo(1.475, 9);
    expect(solution.atCap).toBe(0);
  });

  it('sampleSize = N0 keeps every negative', () => {
    const solution = solveScale('proportional', scores, labels, {
      method: 'exact',
      sampleSize: 4,
      alpha: 0.2,
    });
    expect(solution.expectedNegatives).toBe(4);
    expect(solution.atCap).toBe(4);
    for (const s of [0.1, 0.2, 0.3, 0.4]) expect(keepProbability(s, solution)).toBe(1);
  });
});

describe('solveScale: exact on the A.10 data', () => {
  const { x, y, trueCoefficients } = simulateRareEvents({ rows: 100_000, seed: 3 });
  const p = linearPredictor(x, trueCoefficients).map(sigmoid);

  it('hits the expected size to 1e-8 relative in a handful of passes, for every design', () => {
    for (const design of ['uniform', 'proportional', 'optL', 'LCC'] as const) {
      const scores = designScores(design, p, x);
      for (const [sampleSize, alpha] of [
        [1000, 0],
        [20_000, 0.1],
        [90_000, 0],
      ] as const) {
        const solution = solveScale(design, scores, y, { method: 'exact', sampleSize, alpha });
        const target = design === 'LCC' ? sampleSize + countPositives(y) : sampleSize;
        const total = solution.expectedNegatives + (design === 'LCC' ? solution.expectedPositives : 0);
        expect(Math.abs(total - target) / target).toBeLessThan(1e-8);
        expect(solution.iterations).toBeLessThanOrEqual(12);
      }
    }
  });

  it('reports rows at the cap and the floor', () => {
    const scores = designScores('proportional', p, x);
    const solution = solveScale('proportional', scores, y, {
      method: 'exact',
      sampleSize: 5000,
      piMin: 1e-3,
    });
    let atCap = 0;
    let atFloor = 0;
    for (let i = 0; i < y.length; i++) {
      if (y[i] !== 0) continue;
      const pi = keepProbability(scores[i]!, solution);
      if (pi === 1) atCap++;
      if (pi === 1e-3) atFloor++;
    }
    expect(solution.atCap).toBe(atCap);
    expect(solution.atFloor).toBe(atFloor);
    expect(atCap).toBeGreaterThan(0);
    expect(atFloor).toBeGreaterThan(0);
  });
});

function countPositives(y: Uint8Array): number {
  let count = 0;
  for (const v of y) count += v;
  return count;
}

describe('solveScale: errors', () => {
  const labels = Uint8Array.from([0, 0, 0, 1]);
  const scores = new Float64Array([0.1, 0.2, 0.3, 0.5]);

  it('RAREFY_SAMPLE_TOO_LARGE names both numbers', () => {
    const error = caught(
      () => solveScale('optL', scores, labels, { method: 'exact', sampleSize: 4 }),
      'RAREFY_SAMPLE_TOO_LARGE',
    );
    expect(error).toBeInstanceOf(RarefySamplingError);
    expect(error.message).toContain('4 negatives asked for, but the data has only 3 negatives');
    expect(error.message).toContain('at most 3');
  });

  it('RAREFY_PI_UNDERFLOW for piMin <= 0, explaining the infinite offsets', () => {
    for (const piMin of [0, -1e-3]) {
      const error = caught(
        () => solveScale('optL', scores, labels, { method: 'exact', sampleSize: 1, piMin }),
        'RAREFY_PI_UNDERFLOW',
      );
      expect(error.message).toContain('-log(pi)');
      expect(error.message).toContain('1e-6');
    }
  });

  it('all-zero scores fail with a clear message instead of hanging', () => {
    const zeros = new Float64Array(4);
    for (const options of [
      { method: 'exact', sampleSize: 1 },
      { method: 'exact', sampleSize: 1, alpha: 0.5 },
      { method: 'rate', rate: 0.1 },
    ] as const) {
      expect(
        caught(() => solveScale('proportional', zeros, labels, options), 'RAREFY_INVALID_ARGUMENT').message,
      ).toMatch(/score is 0 on all/);
    }
  });

  it('a size the non-zero scores cannot reach suggests alpha > 0', () => {
    const message = caught(
      () =>
        solveScale('proportional', new Float64Array([0, 0, 0.3, 0.5]), labels, {
          method: 'exact',
          sampleSize: 2,
        }),
      'RAREFY_INVALID_ARGUMENT',
    ).message;
    expect(message).toContain('at most');
    expect(message).toContain('alpha > 0');
    // With alpha the zero-score rows are kept with probability alpha c0 and the size is reachable.
    const solution = solveScale('proportional', new Float64Array([0, 0, 0.3, 0.5]), labels, {
      method: 'exact',
      sampleSize: 2,
      alpha: 0.9,
    });
    expect(solution.expectedNegatives).toBeCloseTo(2, 9);
  });

  it('rejects bad options, labels and scores', () => {
    const exact = { method: 'exact', sampleSize: 1 } as const;
    caught(() => solveScale('optL', scores, labels, { ...exact, alpha: 1 }), 'RAREFY_INVALID_ARGUMENT');
    caught(() => solveScale('optL', scores, labels, { ...exact, piMin: 1 }), 'RAREFY_INVALID_ARGUMENT');
    caught(() => solveScale('optL', scores, labels, { method: 'exact' }), 'RAREFY_INVALID_ARGUMENT');
    caught(() => solveScale('optL', scores, labels, { method: 'rate', rate: 0 }), 'RAREFY_INVALID_ARGUMENT');
    caught(
      () => solveScale('optL', scores, labels, { method: 'rate', rate: 1.5 }),
      'RAREFY_INVALID_ARGUMENT',
    );
    caught(() => solveScale('optL', scores, labels, { ...exact, piMin: 0.5 }), 'RAREFY_INVALID_ARGUMENT');
    caught(() => solveScale('optL', scores.subarray(1), labels, exact), 'RAREFY_DIMENSION_MISMATCH');
    caught(() => solveScale('optL', scores, Uint8Array.from([0, 2, 0, 1]), exact), 'RAREFY_INVALID_LABEL');
    caught(() => solveScale('optL', scores, Uint8Array.from([1, 1, 1, 1]), exact), 'RAREFY_NO_NEGATIVES');
    caught(
      () => solveScale('optL', new Float64Array([0.1, Number.NaN, 0.3, 0.5]), labels, exact),
      'RAREFY_INVALID_ARGUMENT',
    );
    caught(
      () => solveScale('LCC', new Float64Array([0.1, 2, 0.3, 0.5]), labels, exact),
      'RAREFY_INVALID_ARGUMENT',
    );
    caught(() => solveScale('bogus' as never, scores, labels, exact), 'RAREFY_INVALID_ARGUMENT');
  });
});
