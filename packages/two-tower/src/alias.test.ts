import { createRng, isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { AliasSampler, popularityDistribution } from './alias.js';

/** Upper p-quantile of chi-square with k degrees of freedom, Wilson-Hilferty approximation. */
function chiSquareCritical(k: number, zUpper: number): number {
  const c = 2 / (9 * k);
  return k * (1 - c + zUpper * Math.sqrt(c)) ** 3;
}

/** z such that P(Z > z) = 0.001 for a standard normal Z. */
const Z_UPPER_0_001 = 3.090232306167813;

/** Pearson's statistic of `counts` against `probabilities` (cells of probability 0 must be empty). */
function chiSquare(counts: Float64Array, probabilities: Float64Array, draws: number): number {
  let statistic = 0;
  for (let j = 0; j < counts.length; j++) {
    const expected = draws * (probabilities[j] as number);
    if (expected === 0) continue;
    const difference = (counts[j] as number) - expected;
    statistic += (difference * difference) / expected;
  }
  return statistic;
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isRarefyError(error) ? error.code : 'not a RarefyError';
  }
  return undefined;
}

describe('AliasSampler', () => {
  it('encodes exactly the input distribution (table reconstruction to 1e-12)', () => {
    const rng = createRng(3);
    for (const n of [1, 2, 7, 1000, 4097]) {
      const weights = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        // Heavy-tailed weights spanning ~9 orders of magnitude, with some exact zeros.
        weights[j] = j % 11 === 5 ? 0 : Math.exp(8 * rng.normal());
      }
      if (n <= 2) weights.fill(1, 0, 1);
      const sampler = new AliasSampler(weights);
      let total = 0;
      for (const w of weights) total += w;
      const table = sampler.tableProbabilities();
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const expected = (weights[j] as number) / total;
        expect(Math.abs((table[j] as number) - expected)).toBeLessThan(1e-12);
        expect(sampler.probability(j)).toBeCloseTo(expected, 15);
        sum += table[j] as number;
      }
      expect(sum).toBeCloseTo(1, 12);
    }
  });

  it('never draws a weight-0 outcome and passes a chi-square test on 1e6 draws of a skewed law', () => {
    // Zipf(1.3) over 200 items with every 17th item given weight 0.
    const n = 200;
    const weights = new Float64Array(n);
    for (let j = 0; j < n; j++) weights[j] = j % 17 === 16 ? 0 : (j + 1) ** -1.3;
    const sampler = new AliasSampler(weights);
    const draws = 1_000_000;
    const out = sampler.sampleInto(new Int32Array(draws), createRng(2024));
    const counts = new Float64Array(n);
    for (const j of out) counts[j] = (counts[j] as number) + 1;
    const probabilities = new Float64Array(n);
    let positiveCells = 0;
    let smallestExpected = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) {
      probabilities[j] = sampler.probability(j);
      if ((weights[j] as number) === 0) {
        expect(counts[j]).toBe(0);
      } else {
        positiveCells++;
        smallestExpected = Math.min(smallestExpected, draws * (probabilities[j] as number));
      }
    }
    expect(positiveCells).toBe(189);
    expect(smallestExpected).toBeGreaterThan(5); // the chi-square approximation is valid
    // 188 degrees of freedom at p = 0.001: Wilson-Hilferty gives 253.70; the exact quantile is 253.659
    // (scipy.stats.chi2.ppf(0.999, 188)).
    const critical = chiSquareCritical(positiveCells - 1, Z_UPPER_0_001);
    expect(Math.abs(critical - 253.659)).toBeLessThan(0.1);
    const statistic = chiSquare(counts, probabilities, draws);
    expect(statistic).toBeLessThan(critical);
    // The test has power: the same draws are rejected against a slightly different law (b 1.3 -> 1.32).
    const other = new Float64Array(n);
    let otherTotal = 0;
    for (let j = 0; j < n; j++) {
      other[j] = (weights[j] as number) === 0 ? 0 : (j + 1) ** -1.32;
      otherTotal += other[j] as number;
    }
    for (let j = 0; j < n; j++) other[j] = (other[j] as number) / otherTotal;
    expect(chiSquare(counts, other, draws)).toBeGreaterThan(critical);
  });

  it('sample and sampleInto give the same seeded draws', () => {
    const sampler = new AliasSampler([5, 1, 0, 2, 2]);
    const one = createRng('alias');
    const single = Int32Array.from({ length: 500 }, () => sampler.sample(one));
    const batched = sampler.sampleInto(new Int32Array(500), createRng('alias'));
    expect(Array.from(batched)).toEqual(Array.from(single));
    expect(single.includes(2)).toBe(false);
  });

  it('draws the only positive outcome every time', () => {
    const sampler = new AliasSampler(new Float64Array([0, 0, 3, 0]));
    const out = sampler.sampleInto(new Int32Array(1000), createRng(1));
    expect(out.every((j) => j === 2)).toBe(true);
    expect(sampler.probability(2)).toBe(1);
    expect(sampler.probability(7)).toBe(0);
  });

  it('refuses negative, NaN, infinite, empty and all-zero weights with typed errors', () => {
    expect(codeOf(() => new AliasSampler([1, -1]))).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => new AliasSampler([1, Number.NaN]))).toBe('RAREFY_NON_FINITE');
    expect(codeOf(() => new AliasSampler([1, Number.POSITIVE_INFINITY]))).toBe('RAREFY_NON_FINITE');
    expect(codeOf(() => new AliasSampler([]))).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => new AliasSampler([0, 0, 0]))).toBe('RAREFY_INVALID_ARGUMENT');
    expect(() => new AliasSampler([0, -2])).toThrow(/weights: entry 1 is -2.*Fix:/);
    expect(() => new AliasSampler([0, 0])).toThrow(/sum to 0/);
  });
});

describe('popularityDistribution', () => {
  const counts = new Float64Array([6, 3, 1, 0]);

  it('is proportional to (f + 1)^0.75 by default', () => {
    const p = popularityDistribution(counts);
    const raw = [7 ** 0.75, 4 ** 0.75, 2 ** 0.75, 1];
    const total = raw.reduce((s, v) => s + v, 0);
    for (let j = 0; j < 4; j++) expect(p[j]).toBeCloseTo((raw[j] as number) / total, 14);
  });

  it('b = 0 is uniform, b = 1 is smoothed popularity, smoothing 0 gives unseen items 0', () => {
    expect(Array.from(popularityDistribution(counts, { exponent: 0 }))).toEqual([0.25, 0.25, 0.25, 0.25]);
    const plain = popularityDistribution(counts, { exponent: 1 });
    [7 / 14, 4 / 14, 2 / 14, 1 / 14].forEach((v, j) => {
      expect(plain[j]).toBeCloseTo(v, 15);
    });
    const unsmoothed = popularityDistribution(counts, { exponent: 1, smoothing: 0 });
    [0.6, 0.3, 0.1, 0].forEach((v, j) => {
      expect(unsmoothed[j]).toBeCloseTo(v, 15);
    });
    // Uniform even when there is nothing to count.
    expect(Array.from(popularityDistribution(new Float64Array(2), { exponent: 0, smoothing: 0 }))).toEqual([
      0.5, 0.5,
    ]);
  });

  it('does not overflow for large counts and exponents', () => {
    const p = popularityDistribution(new Float64Array([1e12, 1e12 - 1, 0]), { exponent: 40 });
    expect(p[0]).toBeGreaterThan(0.5);
    expect(p[1]).toBeGreaterThan(0.49);
    expect(p[2]).toBe(0);
    expect(Number.isFinite(p[0] as number)).toBe(true);
  });

  it('refuses bad counts and options', () => {
    expect(codeOf(() => popularityDistribution(new Float64Array([1, -1])))).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => popularityDistribution(new Float64Array([1, Number.NaN])))).toBe('RAREFY_NON_FINITE');
    expect(codeOf(() => popularityDistribution(new Float64Array(0)))).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => popularityDistribution(counts, { exponent: -1 }))).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => popularityDistribution(counts, { smoothing: Number.NaN }))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(codeOf(() => popularityDistribution(new Float64Array(3), { smoothing: 0 }))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
  });
});
