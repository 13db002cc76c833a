import { createRng } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { StreamingFrequencyEstimator } from '../frequency-estimator.js';
import { type InteractionData, itemCounts } from '../interactions.js';
import { ExactFrequency } from '../logq.js';
import { accidentalHitMask, knownPositiveMask, UserItemSet } from '../masking.js';
import { BatchPlanner, type BatchPlannerOptions, validateNegativeOptions } from './negatives.js';

// 4 users, 6 items; item 1 is popular.
const DATA: InteractionData = {
  userIds: ['u0', 'u1', 'u2', 'u3'],
  itemIds: ['i0', 'i1', 'i2', 'i3', 'i4', 'i5'],
  users: Int32Array.of(0, 1, 2, 3, 0, 1, 2, 3),
  items: Int32Array.of(1, 2, 1, 4, 3, 1, 0, 1),
};
const B = 4;
const ALL = Int32Array.of(0, 1, 2, 3);

function planner(options: Partial<BatchPlannerOptions> = {}): BatchPlanner {
  return new BatchPlanner({
    data: DATA,
    batchSize: B,
    dimension: 2,
    negatives: {},
    frequency: new ExactFrequency(itemCounts(DATA), B),
    rng: createRng(1),
    ...options,
  });
}

function masked(entries: Int32Array | undefined, columns: number): Array<[number, number]> {
  return Array.from(entries ?? [], (at) => [Math.floor(at / columns), at % columns] as [number, number]).sort(
    (a, b) => a[0] - b[0] || a[1] - b[1],
  );
}

describe('BatchPlanner', () => {
  it('merges the candidates of one item into one column with its multiplicity', () => {
    const plan = planner().plan(ALL, 0);
    // Positives 1, 2, 1, 4: three distinct items, item 1 twice; no accidental hit is left to mask.
    expect(Array.from(plan.uniqueItems)).toEqual([1, 2, 4]);
    expect(Array.from(plan.columnItems)).toEqual([1, 2, 4]);
    expect(Array.from(plan.positives ?? [])).toEqual([0, 1, 0, 2]);
    expect(Array.from(plan.multiplicity ?? [])).toEqual([2, 1, 1]);
    expect(Array.from(plan.logQ ?? [])).toEqual([Math.log(2), Math.log(0.5), Math.log(0.5)]);
    expect(plan.maskedEntries).toBeUndefined();
    // Known positives are masked in the deduplicated columns too (never the row's own positive).
    const known = planner({ knownPositives: UserItemSet.fromInteractions(DATA) }).plan(
      Int32Array.of(0, 1, 2, 3, 4),
      0,
    );
    // Columns: items 1, 2, 4, 3. User 0 knows {1, 3}; user 1 {1, 2}; user 2 {0, 1}; user 3 {1, 4}.
    expect(masked(known.maskedEntries, 4)).toEqual([
      [0, 3],
      [1, 0],
      [3, 0],
      [4, 0],
    ]);
  });

  it("keeps the cache columns apart from the deduplicated ones and masks the positives' cached copies", () => {
    const cached = planner({ negatives: { crossBatch: { batches: 1, warmupSteps: 1 } } });
    const first = cached.plan(ALL, 0);
    cached.pushCache(first.sharedItems.subarray(0, B), new Float32Array(8));
    const warm = cached.plan(Int32Array.of(4, 5, 6, 7), 1);
    // Distinct candidates 3, 1, 0 (item 1 twice), then the cache: items 1, 2, 1, 4.
    expect(Array.from(warm.columnItems)).toEqual([3, 1, 0, 1, 2, 1, 4]);
    expect(Array.from(warm.multiplicity ?? [])).toEqual([1, 2, 1, 1, 1, 1, 1]);
    expect(Array.from(warm.positives ?? [])).toEqual([0, 1, 2, 1]);
    // Rows 1 and 3 (item 1, own column 1) must not see the cached copies of item 1 (columns 3 and 5).
    expect(masked(warm.maskedEntries, 7)).toEqual([
      [1, 3],
      [1, 5],
      [3, 3],
      [3, 5],
    ]);
  });

  it('uses the batch positives as columns, with log Q = log(B q_j) and accidental hits masked', () => {
    const plan = planner({ deduplicate: false }).plan(ALL, 0);
    expect(Array.from(plan.columnItems)).toEqual([1, 2, 1, 4]);
    // q: item 1 has 4 of 8 positives, items 2 and 4 one each.
    expect(Array.from(plan.logQ ?? [])).toEqual([Math.log(2), Math.log(0.5), Math.log(2), Math.log(0.5)]);
    // Rows 0 and 2 share item 1: each other's column is an accidental hit.
    expect(masked(plan.maskedEntries, 4)).toEqual([
      [0, 2],
      [2, 0],
    ]);
    expect(plan.rewards).toBeUndefined();
  });

  it('masks every known positive of the row user when asked', () => {
    const plan = planner({ deduplicate: false, knownPositives: UserItemSet.fromInteractions(DATA) }).plan(
      Int32Array.of(0, 1, 2, 3, 4),
      0,
    );
    // Columns: items 1, 2, 1, 4, 3 of users 0, 1, 2, 3, 0. User 0 knows {1, 3}; user 1 {1, 2}; user 2 {0, 1}; user 3 {1, 4}.
    expect(masked(plan.maskedEntries, 5)).toEqual([
      [0, 2],
      [0, 4],
      [1, 0],
      [1, 2],
      [2, 0],
      [3, 0],
      [3, 2],
      [4, 0],
      [4, 2],
    ]);
  });

  it('finds the same entries as the dense masks of masking.ts', () => {
    const known = UserItemSet.fromInteractions(DATA);
    const rows = Int32Array.of(0, 1, 2, 3, 4, 5, 6, 7);
    const sparse = (plan: { maskedEntries: Int32Array | undefined }): number[] =>
      Array.from(new Set(plan.maskedEntries ?? [])).sort((a, b) => a - b);
    const dense = (mask: Uint8Array): number[] => Array.from(mask.keys()).filter((k) => mask[k] === 1);
    const hits = planner({ batchSize: 8, deduplicate: false, negatives: { uniform: 5 } }).plan(rows, 0);
    expect(sparse(hits)).toEqual(dense(accidentalHitMask(hits.sharedItems.subarray(0, 8), hits.columnItems)));
    const all = planner({
      batchSize: 8,
      deduplicate: false,
      negatives: { uniform: 5 },
      knownPositives: known,
    }).plan(rows, 0);
    expect(sparse(all)).toEqual(dense(knownPositiveMask(all.users, all.columnItems, known)));
  });

  it('adds uniform and popularity columns with Q summed over the sources on the expected-count scale', () => {
    const counts = itemCounts(DATA);
    const plan = planner({
      negatives: { uniform: 3, popularity: { count: 5, exponent: 1 } },
      popularityCounts: counts,
    }).plan(ALL, 0);
    expect(plan.sharedItems.length).toBe(4 + 3 + 5);
    // P(j) ∝ (f_j + 1): f = [1, 4, 1, 1, 1, 0] + 1 -> [2, 5, 2, 2, 2, 1] / 14.
    const p = [2, 5, 2, 2, 2, 1].map((w) => w / 14);
    plan.columnItems.forEach((item, j) => {
      const q = (counts[item] as number) / 8;
      expect(plan.logQ?.[j]).toBeCloseTo(Math.log(B * q + 3 / 6 + 5 * (p[item] as number)), 12);
    });
    expect(plan.sources.map((source) => source.kind)).toEqual(['in-batch', 'uniform', 'popularity']);
  });

  it('draws popularity negatives from (f + 1)^b', () => {
    const counts = itemCounts(DATA);
    const sampler = planner({
      negatives: { popularity: { count: 500, exponent: 0.75 } },
      popularityCounts: counts,
    });
    const histogram = new Float64Array(6);
    for (let step = 0; step < 20; step++) {
      const plan = sampler.plan(ALL, step);
      for (let k = 4; k < plan.sharedItems.length; k++) {
        const item = plan.sharedItems[k] as number;
        histogram[item] = (histogram[item] as number) + 1;
      }
    }
    const weights = Array.from(counts, (f) => (f + 1) ** 0.75);
    const total = weights.reduce((a, b) => a + b, 0);
    histogram.forEach((observed, j) => {
      expect(observed / 10_000).toBeCloseTo((weights[j] as number) / total, 1);
    });
  });

  it('uses the cross-batch cache after the warm-up, with Q += M B q and hits masked', () => {
    const cached = planner({ deduplicate: false, negatives: { crossBatch: { batches: 2, warmupSteps: 1 } } });
    const first = cached.plan(ALL, 0);
    expect(first.cacheRows).toBe(0);
    cached.pushCache(first.sharedItems.subarray(0, B), Float32Array.of(1, 0, 0, 1, 1, 0, 0, 1));
    const warm = cached.plan(Int32Array.of(4, 5, 6, 7), 1);
    expect(warm.cacheRows).toBe(4);
    expect(Array.from(warm.columnItems)).toEqual([3, 1, 0, 1, 1, 2, 1, 4]);
    expect(Array.from(warm.cacheEmbeddings ?? [])).toEqual([1, 0, 0, 1, 1, 0, 0, 1]);
    // Q_j = (B + 1 cached batch of B) q_j.
    expect(warm.logQ?.[1]).toBeCloseTo(Math.log(8 * 0.5), 12);
    expect(warm.sources.at(-1)).toEqual({ kind: 'cross-batch', batches: 1, batchSize: 4 });
    // Row 1 (item 1) must not see the cached copies of item 1 (columns 4 and 6) nor row 3's column.
    expect(masked(warm.maskedEntries, 8).filter(([row]) => row === 1)).toEqual([
      [1, 3],
      [1, 4],
      [1, 6],
    ]);
  });

  it('pads per-row negatives and masks the padding and hits', () => {
    const plan = planner({
      negatives: { rowNegatives: (row, _user, item) => (row === 0 ? [5, item] : row === 2 ? [4] : []) },
    }).plan(ALL, 0);
    expect(plan.extraColumns).toBe(2);
    expect(Array.from(plan.extraItems)).toEqual([5, 1, 2, 2, 4, 1, 4, 4]);
    // Row 0: 5 kept, its own positive masked; row 1 and 3: padding; row 2: 4 kept, padding masked.
    expect(Array.from(plan.extraMask ?? [])).toEqual([0, 1, 1, 1, 0, 1, 1, 1]);
    expect(() => planner({ negatives: { rowNegatives: () => [6] } }).plan(ALL, 0)).toThrowError(
      /negatives\.rowNegatives: returned item 6 for training row 0, outside the catalogue \[0, 6\)/,
    );
  });

  it('updates a streaming estimator every step and reads its per-batch expected counts', () => {
    const estimator = new StreamingFrequencyEstimator({ batchSize: B, corpusSize: 6, buckets: 64, seed: 1 });
    const streaming = planner({ frequency: estimator });
    const first = streaming.plan(ALL, 0);
    expect(estimator.step).toBe(1);
    first.columnItems.forEach((item, j) => {
      expect(first.logQ?.[j]).toBeCloseTo(Math.log(estimator.expectedCount(item)), 12);
    });
    // A first sighting only sets A: an unseen bucket reads the uniform prior B / |corpus| = 4 / 6.
    expect(estimator.expectedCount(5)).toBeCloseTo(-Math.log1p(-4 / 6), 12);
    const second = streaming.plan(ALL, 1);
    expect(estimator.step).toBe(2);
    expect(second.logQ?.[0]).toBeCloseTo(Math.log(estimator.expectedCount(1)), 12);
  });

  it('passes rewards and validates its options', () => {
    const weighted = planner({ data: { ...DATA, weights: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8) } }).plan(
      Int32Array.of(3, 1),
      0,
    );
    expect(Array.from(weighted.rewards ?? [])).toEqual([4, 2]);
    expect(() => validateNegativeOptions({ uniform: -1 })).toThrowError(
      /negatives\.uniform: -1 is not a non-negative integer/,
    );
    expect(() => validateNegativeOptions({ crossBatch: { batches: 0 } })).toThrowError(
      /negatives\.crossBatch\.batches: 0 is not a positive integer/,
    );
    expect(() => validateNegativeOptions({ inBatch: false as unknown as true })).toThrowError(
      /cannot be turned off/,
    );
  });
});
