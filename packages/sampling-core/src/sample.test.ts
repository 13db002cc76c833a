import { describe, expect, it } from 'vitest';
import { type DesignName, designScores, optAMatrix } from './designs.js';
import { isRarefyError } from './errors.js';
import { linearPredictor, selectRows, sigmoid } from './matrix.js';
import { drawBalancedPilot } from './pilot.js';
import { createRng, type Rng } from './rng.js';
import { type SampleResult, sampleWithScores, scoreAndSampleLogistic } from './sample.js';
import { type ScaleSolution, solveScale } from './scale.js';
import { simulateRareEvents } from './simulate.js';

/** A generator that replays fixed uniforms (and fails on anything else), counting the draws. */
function replayRng(uniforms: number[]): Rng & { drawn: () => number } {
  let k = 0;
  const unsupported = (): never => {
    throw new Error('replayRng supports nextFloat64 only');
  };
  return {
    nextFloat64: () => {
      const u = uniforms[k++];
      if (u === undefined) throw new Error('replayRng ran out of uniforms');
      return u;
    },
    nextUint32: unsupported,
    nextInt: unsupported,
    normal: unsupported,
    split: unsupported,
    drawn: () => k,
  };
}

/** Element-wise identity of two samples (Object.is per value; faster than a deep toEqual). */
function expectSameSample(actual: SampleResult, expected: SampleResult): void {
  for (const key of ['rows', 'labels', 'pi', 'offset', 'weight'] as const) {
    const a = actual[key];
    const b = expected[key];
    expect(a.length).toBe(b.length);
    let mismatches = 0;
    for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) mismatches++;
    expect(mismatches, key).toBe(0);
  }
  for (const key of [
    'positives',
    'negatives',
    'expectedNegatives',
    'expectedPositives',
    'atCap',
    'atFloor',
  ] as const) {
    expect(actual[key], key).toBe(expected[key]);
  }
}

function solution(partial: Partial<ScaleSolution>): ScaleSolution {
  return {
    method: 'exact',
    scale: 1,
    uniformRate: 0.1,
    alpha: 0,
    piMin: 1e-6,
    expectedNegatives: 0,
    expectedPositives: 0,
    atCap: 0,
    atFloor: 0,
    iterations: 1,
    ...partial,
  };
}

describe('sampleWithScores (hand-computed)', () => {
  it('proportional: keeps on u <= pi, positives always; offset -log(pi), weight 1/pi or 1', () => {
    // c = 2: pi = 0.2, 1 (capped from 1.2), 0.2, 0.8 (the positive's pi at its own x).
    const scores = new Float64Array([0.1, 0.6, 0.1, 0.4]);
    const labels = Uint8Array.from([0, 0, 0, 1]);
    const rng = replayRng([0.15, 0.99, 0.25, 0.999]);
    const sample = sampleWithScores('proportional', scores, labels, solution({ scale: 2 }), rng);
    expect(rng.drawn()).toBe(4); // one uniform per row, the positive's included
    expect([...sample.rows]).toEqual([0, 1, 3]); // row 2: 0.25 > 0.2
    expect([...sample.labels]).toEqual([0, 0, 1]);
    expect(sample.pi[0]).toBeCloseTo(0.2, 15);
    expect(sample.pi[1]).toBe(1);
    expect(sample.pi[2]).toBeCloseTo(0.8, 15);
    expect(sample.offset[0]).toBeCloseTo(Math.log(5), 14);
    expect(sample.offset[1]).toBe(0);
    expect(sample.offset[2]).toBeCloseTo(-Math.log(0.8), 14);
    expect(sample.weight[0]).toBeCloseTo(5, 14);
    expect(sample.weight[1]).toBe(1);
    expect(sample.weight[2]).toBe(1);
    expect(sample.negatives).toBe(2);
    expect(sample.positives).toBe(1);
    expect(sample.expectedNegatives).toBeCloseTo(1.4, 14);
    expect(sample.expectedPositives).toBe(1);
    expect(sample.atCap).toBe(1);
    expect(sample.atFloor).toBe(0);
  });

  it('mixing and floor: pi = max(piMin, (1 - alpha) c s + alpha c0)', () => {
    // alpha 0.5, c = 1, c0 = 0.1, piMin 0.06: s = 0 -> max(0.06, 0.05) = 0.06; s = 0.3 -> 0.2.
    const scores = new Float64Array([0, 0.3]);
    const sample = sampleWithScores(
      'optL',
      scores,
      Uint8Array.from([0, 0]),
      solution({ alpha: 0.5, piMin: 0.06 }),
      replayRng([0.05, 0.1]),
    );
    expect([...sample.rows]).toEqual([0, 1]);
    expect(sample.pi[0]).toBe(0.06);
    expect(sample.pi[1]).toBeCloseTo(0.2, 15);
    expect(sample.offset[0]).toBeCloseTo(-Math.log(0.06), 14);
    expect(sample.weight[1]).toBeCloseTo(5, 13);
    expect(sample.atFloor).toBe(1);
  });

  it('LCC thins positives too: offset log(a1/a0), weight 1 / own keep probability', () => {
    // c = 2. Negative p = 0.1: a0 = 0.2, a1 = min(1, 1.8) = 1 -> offset log 5, weight 5.
    // Positive p = 0.6: a0 = min(1, 1.2) = 1, a1 = 0.8 -> offset log 0.8, weight 1.25.
    // Positive p = 0.7: a1 = 0.6, dropped by u = 0.9.
    const scores = new Float64Array([0.1, 0.6, 0.7]);
    const labels = Uint8Array.from([0, 1, 1]);
    const sample = sampleWithScores(
      'LCC',
      scores,
      labels,
      solution({ scale: 2 }),
      replayRng([0.1, 0.7, 0.9]),
    );
    expect([...sample.rows]).toEqual([0, 1]);
    expect(sample.pi[0]).toBeCloseTo(0.2, 15);
    expect(sample.pi[1]).toBe(1);
    expect(sample.offset[0]).toBeCloseTo(Math.log(5), 14);
    expect(sample.offset[1]).toBeCloseTo(Math.log(0.8), 14);
    expect(sample.weight[0]).toBeCloseTo(5, 14);
    expect(sample.weight[1]).toBeCloseTo(1.25, 14);
    expect(sample.expectedPositives).toBeCloseTo(0.8 + 0.6, 14);
    expect(sample.positives).toBe(1);
  });

  it('LCC: a kept negative whose a1 is below 1 gets offset log(a1/a0), not -log(a0)', () => {
    // c = 1.5, negative p = 0.6: a0 = 0.9, a1 = min(1, 1.5 * 0.4) = 0.6 -> offset log(0.6 / 0.9).
    const sample = sampleWithScores(
      'LCC',
      new Float64Array([0.6]),
      Uint8Array.from([0]),
      solution({ scale: 1.5 }),
      replayRng([0.5]),
    );
    expect([...sample.rows]).toEqual([0]);
    expect(sample.offset[0]).toBeCloseTo(Math.log(0.6 / 0.9), 14);
    expect(sample.weight[0]).toBeCloseTo(1 / 0.9, 14);
  });

  it('uniform: offset is -log r for every kept row', () => {
    const sample = sampleWithScores(
      'uniform',
      new Float64Array(3).fill(1),
      Uint8Array.from([0, 1, 0]),
      solution({ scale: 0.25 }),
      replayRng([0.2, 0.5, 0.3]),
    );
    expect([...sample.rows]).toEqual([0, 1]);
    for (const offset of sample.offset) expect(offset).toBeCloseTo(-Math.log(0.25), 14);
  });

  it('grows its buffers when the solution under-states the size', () => {
    const n = 5000;
    const sample = sampleWithScores(
      'uniform',
      new Float64Array(n).fill(1),
      new Uint8Array(n),
      solution({ scale: 1, expectedNegatives: 0 }),
      createRng(1),
    );
    expect(sample.rows.length).toBe(n);
    expect(sample.rows[n - 1]).toBe(n - 1);
  });

  it('Poisson inclusion frequencies match pi (20000 seeded reps, 4 binomial sd)', () => {
    const scores = new Float64Array([0.01, 0.1, 0.25, 0.45, 0.2]);
    const labels = Uint8Array.from([0, 0, 0, 0, 1]);
    const fixed = solution({ scale: 2 });
    const reps = 20_000;
    const counts = new Array(5).fill(0);
    const rng = createRng(31);
    for (let r = 0; r < reps; r++)
      for (const i of sampleWithScores('proportional', scores, labels, fixed, rng).rows) counts[i]++;
    [0.02, 0.2, 0.5, 0.9, 1].forEach((pi, i) => {
      expect(Math.abs(counts[i] - reps * pi)).toBeLessThanOrEqual(4 * Math.sqrt(reps * pi * (1 - pi)));
    });
  });

  it('rejects mismatched inputs, bad labels, NaN scores and hand-made solutions without a floor', () => {
    const scores = new Float64Array([0.1, 0.2]);
    const labels = Uint8Array.from([0, 1]);
    const check = (fn: () => unknown, code: string) => {
      try {
        fn();
        expect.unreachable();
      } catch (error) {
        expect(isRarefyError(error, code as never)).toBe(true);
      }
    };
    check(
      () => sampleWithScores('optL', scores.subarray(1), labels, solution({}), createRng(1)),
      'RAREFY_DIMENSION_MISMATCH',
    );
    check(
      () => sampleWithScores('optL', scores, Uint8Array.from([0, 3]), solution({}), createRng(1)),
      'RAREFY_INVALID_LABEL',
    );
    check(
      () => sampleWithScores('optL', new Float64Array([0.1, Number.NaN]), labels, solution({}), createRng(1)),
      'RAREFY_INVALID_ARGUMENT',
    );
    check(
      () => sampleWithScores('optL', scores, labels, solution({ piMin: 0 }), createRng(1)),
      'RAREFY_PI_UNDERFLOW',
    );
    check(
      () => sampleWithScores('optL', scores, labels, solution({ scale: Number.NaN }), createRng(1)),
      'RAREFY_INVALID_ARGUMENT',
    );
  });
});

describe('on the A.10 data', () => {
  const data = simulateRareEvents({ rows: 100_000, seed: 7 });
  const { x, y, trueCoefficients } = data;
  // The true coefficients serve as a population-scale pilot.
  const p = linearPredictor(x, trueCoefficients).map(sigmoid);
  const draw = drawBalancedPilot(y, 200, createRng(2));
  const xPilot = selectRows(x, draw.rows);
  const yPilot = Uint8Array.from(draw.rows, (i) => y[i]!);
  const pPilot = Float64Array.from(draw.rows, (i) => p[i]!);
  const optAInverse = optAMatrix(xPilot, yPilot, pPilot, draw).inverse;
  const designs: DesignName[] = ['uniform', 'proportional', 'optL', 'optA', 'LCC'];

  it('scoreAndSampleLogistic equals designScores + sampleWithScores exactly (7 columns and generic)', () => {
    const narrow = simulateRareEvents({ rows: 20_000, seed: 9, slopes: [-1, 0.5], intercept: -4 });
    const narrowP = linearPredictor(narrow.x, narrow.trueCoefficients).map(sigmoid);
    const narrowInverse = new Float64Array([2, 0.1, 0, 0.1, 1, 0.2, 0, 0.2, 0.5]);
    for (const [xs, ys, beta, ps, inverse] of [
      [x, y, trueCoefficients, p, optAInverse],
      [narrow.x, narrow.y, narrow.trueCoefficients, narrowP, narrowInverse],
    ] as const) {
      for (const design of designs) {
        const scores = designScores(design, ps, xs, { optAInverse: inverse });
        for (const scale of [
          solveScale(design, scores, ys, { method: 'exact', sampleSize: 1000, alpha: 0.1 }),
          solveScale(design, scores, ys, { method: 'rate', rate: 0.05, piMin: 1e-3 }),
        ]) {
          const reference = sampleWithScores(design, scores, ys, scale, createRng(5));
          const fused = scoreAndSampleLogistic(xs, ys, beta, design, scale, createRng(5), {
            optAInverse: inverse,
          });
          expectSameSample(fused, reference);
          expect(reference.rows.length).toBeGreaterThan(0);
        }
      }
    }
  });

  it('realised negatives at sampleSize 1000 over 40 seeds: relative sd < 5%, mean within 4 MC se', () => {
    for (const design of designs) {
      const scores = designScores(design, p, x, { optAInverse });
      const scale = solveScale(design, scores, y, { method: 'exact', sampleSize: 1000 });
      // Outside LCC the expected negatives are 1000; under LCC the expected total is 1000 + N1.
      const target = design === 'LCC' ? 1000 + data.positives : 1000;
      const sizes: number[] = [];
      for (let seed = 1; seed <= 40; seed++) {
        const sample = sampleWithScores(design, scores, y, scale, createRng(seed));
        sizes.push(design === 'LCC' ? sample.rows.length : sample.negatives);
      }
      const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
      const sd = Math.sqrt(sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / (sizes.length - 1));
      expect(sd / target).toBeLessThan(0.05);
      // Poisson sampling: the realised size has sd <= sqrt(target); 4 standard errors of the mean.
      expect(Math.abs(mean - target)).toBeLessThan((4 * Math.sqrt(target)) / Math.sqrt(sizes.length));
    }
  });

  it('the same seed gives the same sample; positives are all kept outside LCC', () => {
    const scores = designScores('optL', p, x);
    const scale = solveScale('optL', scores, y, { method: 'exact', sampleSize: 1000 });
    const a = sampleWithScores('optL', scores, y, scale, createRng(3));
    expect(sampleWithScores('optL', scores, y, scale, createRng(3))).toEqual(a);
    expect(a.positives).toBe(data.positives);
    expect(a.expectedNegatives).toBeCloseTo(scale.expectedNegatives, 6);
  });
});
