import { createRng, isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import type { InteractionData } from './interactions.js';
import { downsamplePositives, positiveKeepProbabilities } from './positive-downsampling.js';

const GOLDEN_SQUARED = ((1 + Math.sqrt(5)) / 2) ** 2; // 2.618..., where (sqrt(x) + 1) / x = 1

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isRarefyError(error) ? error.code : 'not a RarefyError';
  }
  return undefined;
}

/** Interactions in which item j appears counts[j] times, rows shuffled, one user per row. */
function dataWithCounts(counts: readonly number[], seed: number): InteractionData {
  const items: number[] = [];
  counts.forEach((count, j) => {
    for (let k = 0; k < count; k++) items.push(j);
  });
  const rng = createRng(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const swap = items[i] as number;
    items[i] = items[j] as number;
    items[j] = swap;
  }
  return {
    userIds: items.map((_, i) => `u${i}`),
    itemIds: counts.map((_, j) => `i${j}`),
    users: Int32Array.from(items, (_, i) => i),
    items: Int32Array.from(items),
    timestamps: Float64Array.from(items, (_, i) => 1000 + i),
  };
}

describe('positiveKeepProbabilities', () => {
  it('matches hand-computed values (z / a = count when a = 1 / total)', () => {
    // (sqrt(c) + 1) / c: 21/400, 11/100, 5/16, 3/4, 2 -> 1; count 0 -> 1.
    const keep = positiveKeepProbabilities(new Float64Array([400, 100, 16, 4, 1, 0]), 1 / 521);
    const expected = [21 / 400, 11 / 100, 5 / 16, 3 / 4, 1, 1];
    expected.forEach((value, j) => {
      expect(keep[j]).toBeCloseTo(value, 12);
    });
  });

  it('uses a = 1e-3 by default', () => {
    // z = 0.9: (sqrt(900) + 1) * 1e-3 / 0.9 = 31 / 900.
    const keep = positiveKeepProbabilities(new Float64Array([900, 100]));
    expect(keep[0]).toBeCloseTo(31 / 900, 12);
    expect(keep[1]).toBeCloseTo(11 / 100, 12);
  });

  it('keeps everything below z = phi^2 a (about 2.6 a) and nothing for sure above it', () => {
    for (const a of [1e-4, 1e-3, 0.01]) {
      // One item at share z, the rest of the mass on a second item; total 1e6.
      for (const [factor, sure] of [
        [GOLDEN_SQUARED * 0.999, true],
        [2.6, true],
        [GOLDEN_SQUARED * 1.001, false],
        [2.65, false],
      ] as const) {
        const count = factor * a * 1e6;
        const keep = positiveKeepProbabilities(new Float64Array([count, 1e6 - count]), a);
        if (sure) expect(keep[0]).toBe(1);
        else {
          expect(keep[0]).toBeLessThan(1);
          expect(keep[0]).toBeGreaterThan(0.99);
        }
      }
    }
  });

  it('decreases with popularity and follows sqrt(a / z) in the tail', () => {
    const a = 1e-5;
    const shares = [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 0.5];
    const counts = new Float64Array(shares.map((z) => z * 1e8));
    counts[counts.length - 1] = 1e8 - counts.slice(0, -1).reduce((s, c) => s + c, 0);
    const keep = positiveKeepProbabilities(counts, a);
    for (let j = 1; j < shares.length; j++) expect(keep[j]).toBeLessThan(keep[j - 1] as number);
    for (let j = 0; j < shares.length; j++) {
      const z = (counts[j] as number) / 1e8;
      const ratio = Math.sqrt(a / z);
      if (z / a >= GOLDEN_SQUARED) {
        // Exactly (1 + sqrt(a/z)) times sqrt(a/z).
        expect((keep[j] as number) / ratio).toBeCloseTo(1 + ratio, 12);
      }
      if (z >= 1e4 * a) expect(Math.abs((keep[j] as number) / ratio - 1)).toBeLessThanOrEqual(0.01 + 1e-12);
    }
  });

  it('refuses a bad a or bad counts', () => {
    expect(codeOf(() => positiveKeepProbabilities(new Float64Array([1]), 0))).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => positiveKeepProbabilities(new Float64Array([1]), Number.NaN))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(codeOf(() => positiveKeepProbabilities(new Float64Array([1, -1])))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(codeOf(() => positiveKeepProbabilities(new Float64Array([1, Number.NaN])))).toBe(
      'RAREFY_NON_FINITE',
    );
    expect(() => positiveKeepProbabilities(new Float64Array([1]), -1)).toThrow(/^a: -1 .*Fix: pass/);
  });
});

describe('downsamplePositives', () => {
  // Item 0 holds 60% of 50,000 interactions, item 1 30%, item 2 9%, items 3-4 the rest.
  const counts = [30_000, 15_000, 4_500, 450, 50];
  const data = dataWithCounts(counts, 5);

  it('keeps each item at its keep probability (seeded; 4 binomial sd)', () => {
    const a = 0.01;
    const { data: kept, kept: rows, keepProbability } = downsamplePositives(data, { a, seed: 11 });
    const expectedKeep = positiveKeepProbabilities(new Float64Array(counts), a);
    expect(Array.from(keepProbability)).toEqual(Array.from(expectedKeep));
    // z / a = 60, 30, 9 -> (sqrt(x) + 1) / x; 0.9 and 0.1 -> 1.
    expect(keepProbability[0]).toBeCloseTo((Math.sqrt(60) + 1) / 60, 12);
    expect(keepProbability[3]).toBe(1);
    const keptCounts = new Float64Array(counts.length);
    for (const item of kept.items) keptCounts[item] = (keptCounts[item] as number) + 1;
    counts.forEach((count, j) => {
      const p = keepProbability[j] as number;
      const sd = Math.sqrt(count * p * (1 - p));
      expect(Math.abs((keptCounts[j] as number) - count * p)).toBeLessThanOrEqual(4 * sd);
    });
    expect(keptCounts[3]).toBe(450);
    expect(keptCounts[4]).toBe(50);
    // The head is flattened: item 0's share falls from 60% to about 43% (4373 of 10112 expected).
    expect((keptCounts[0] as number) / kept.items.length).toBeLessThan(0.5);
    expect(rows.length).toBe(kept.items.length);
  });

  it('returns ascending kept rows whose columns match the input rows', () => {
    const { data: kept, kept: rows } = downsamplePositives(data, { seed: 'rows' });
    for (let k = 1; k < rows.length; k++) expect(rows[k]).toBeGreaterThan(rows[k - 1] as number);
    for (let k = 0; k < rows.length; k += 97) {
      const row = rows[k] as number;
      expect(kept.items[k]).toBe(data.items[row]);
      expect(kept.users[k]).toBe(data.users[row]);
      expect(kept.timestamps?.[k]).toBe(data.timestamps?.[row]);
    }
    expect(kept.itemIds).toBe(data.itemIds);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const first = downsamplePositives(data, { seed: 3 }).kept;
    const again = downsamplePositives(data, { seed: 3 }).kept;
    const other = downsamplePositives(data, { seed: 4 }).kept;
    expect(Array.from(again)).toEqual(Array.from(first));
    expect(Array.from(other)).not.toEqual(Array.from(first));
  });

  it('refuses a bad a', () => {
    expect(codeOf(() => downsamplePositives(data, { a: -1, seed: 1 }))).toBe('RAREFY_INVALID_ARGUMENT');
  });
});
