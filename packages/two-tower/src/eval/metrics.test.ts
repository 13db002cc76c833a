import { isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { interactionsFromPairs } from './__fixtures__/interactions.js';
import {
  catalogueCoverage,
  popularityBuckets,
  recallByPopularityBucket,
  retrievalMetrics,
} from './metrics.js';
import type { TopKResult } from './topk.js';

/** Lists for users u0..u3 over 6 items, k = 3; u3 has no test items. */
const lists: number[][] = [
  [0, 1, 2], // u0
  [3, 4, 5], // u1
  [5, 0, 1], // u2
  [2, 3, -1], // u3 (padded)
];
const topK: TopKResult = {
  indices: Int32Array.from(lists.flat()),
  scores: Float32Array.from(lists.flat(), (item, at) =>
    item < 0 ? Number.NEGATIVE_INFINITY : 10 - (at % 3),
  ),
  k: 3,
};
// u0: items 1 (rank 2) and 4 (missed); u1: 3 (rank 1) and 5 twice (rank 3); u2: 2 (missed).
const test = interactionsFromPairs(4, 6, [
  [0, 1],
  [1, 5],
  [0, 4],
  [1, 3],
  [2, 2],
  [1, 5],
]);
const log2 = Math.log2;

describe('retrievalMetrics', () => {
  it('TFRS protocol: recall per test pair, the rest per user (hand-computed)', () => {
    const metrics = retrievalMetrics({ topK, ks: [1, 3], test, protocol: 'tfrs' });
    expect(metrics['recall@1']).toBeCloseTo(1 / 6, 12); // (u1, 3)
    expect(metrics['recall@3']).toBeCloseTo(4 / 6, 12); // (u0, 1), (u1, 3), (u1, 5) x 2
    expect(metrics['hit-rate@1']).toBeCloseTo(1 / 3, 12);
    expect(metrics['hit-rate@3']).toBeCloseTo(2 / 3, 12);
    expect(metrics['mrr@1']).toBeCloseTo(1 / 3, 12);
    expect(metrics['mrr@3']).toBeCloseTo((1 / 2 + 1 + 0) / 3, 12);
    expect(metrics['ndcg@1']).toBeCloseTo((0 + 1 + 0) / 3, 12);
    const ideal2 = 1 + 1 / log2(3);
    const ndcgU0 = 1 / log2(3) / ideal2;
    const ndcgU1 = (1 + 1 / log2(4)) / ideal2;
    expect(metrics['ndcg@3']).toBeCloseTo((ndcgU0 + ndcgU1 + 0) / 3, 12);
    expect(Object.keys(metrics).sort()).toEqual(
      ['hit-rate@1', 'hit-rate@3', 'mrr@1', 'mrr@3', 'ndcg@1', 'ndcg@3', 'recall@1', 'recall@3'].sort(),
    );
  });

  it('per-user protocol: recall = hits / distinct test items, averaged over users', () => {
    const metrics = retrievalMetrics({ topK, ks: [3, 1], test, protocol: 'per-user' });
    expect(metrics['recall@1']).toBeCloseTo((0 + 1 / 2 + 0) / 3, 12);
    expect(metrics['recall@3']).toBeCloseTo((1 / 2 + 2 / 2 + 0) / 3, 12);
    // The other metrics do not depend on the protocol.
    const tfrs = retrievalMetrics({ topK, ks: [1, 3], test, protocol: 'tfrs' });
    expect(metrics['ndcg@3']).toBe(tfrs['ndcg@3']);
    expect(metrics['mrr@3']).toBe(tfrs['mrr@3']);
  });

  it('ideal DCG is over min(|test items|, K): a user with 3 test items all at the top scores 1', () => {
    const one: TopKResult = { indices: Int32Array.of(4, 2, 0, 1, 3), scores: new Float32Array(5), k: 5 };
    const data = interactionsFromPairs(1, 6, [
      [0, 0],
      [0, 2],
      [0, 4],
    ]);
    const metrics = retrievalMetrics({ topK: one, ks: [2, 5], test: data, protocol: 'per-user' });
    expect(metrics['ndcg@2']).toBeCloseTo(1, 12);
    expect(metrics['ndcg@5']).toBeCloseTo(1, 12);
    expect(metrics['recall@2']).toBeCloseTo(2 / 3, 12);
    // Hits at ranks 1, 3, 5 instead: DCG / ideal over 3 ranks.
    const spread: TopKResult = { indices: Int32Array.of(0, 1, 2, 3, 4), scores: new Float32Array(5), k: 5 };
    const dcg = 1 + 1 / log2(4) + 1 / log2(6);
    const ideal = 1 + 1 / log2(3) + 1 / log2(4);
    expect(
      retrievalMetrics({ topK: spread, ks: [5], test: data, protocol: 'per-user' })['ndcg@5'],
    ).toBeCloseTo(dcg / ideal, 12);
  });

  it('maps rows to users through queryUsers and counts a repeated list item once', () => {
    const order = [2, 0, 3, 1];
    const permuted: TopKResult = {
      indices: Int32Array.from(order.flatMap((user) => lists[user]!)),
      scores: new Float32Array(12),
      k: 3,
    };
    const direct = retrievalMetrics({ topK, ks: [1, 3], test, protocol: 'tfrs' });
    const mapped = retrievalMetrics({
      topK: permuted,
      queryUsers: Int32Array.from(order),
      ks: [1, 3],
      test,
      protocol: 'tfrs',
    });
    expect(mapped).toEqual(direct);
    const repeated: TopKResult = { indices: Int32Array.of(1, 1, 1), scores: new Float32Array(3), k: 3 };
    const single = interactionsFromPairs(1, 6, [[0, 1]]);
    expect(
      retrievalMetrics({ topK: repeated, ks: [3], test: single, protocol: 'per-user' })['recall@3'],
    ).toBe(1);
  });

  it('refuses cutoffs above k, a test user without a row, and an empty test set', () => {
    expect(() => retrievalMetrics({ topK, ks: [4], test, protocol: 'tfrs' })).toThrow(/ks: cutoff 4/);
    try {
      retrievalMetrics({ topK, queryUsers: Int32Array.of(0, 1, 3, 3), ks: [1], test, protocol: 'tfrs' });
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_INVALID_ARGUMENT')).toBe(true);
    }
    try {
      retrievalMetrics({
        topK,
        queryUsers: Int32Array.of(0, 1, 3, 3).subarray(0, 3),
        ks: [1],
        test,
        protocol: 'tfrs',
      });
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
    }
    const partial: TopKResult = {
      indices: topK.indices.subarray(0, 6),
      scores: topK.scores.subarray(0, 6),
      k: 3,
    };
    expect(() => retrievalMetrics({ topK: partial, ks: [1], test, protocol: 'tfrs' })).toThrow(
      /test user 2 \('u2'\).*no top-K row/,
    );
    expect(() =>
      retrievalMetrics({ topK, ks: [1], test: interactionsFromPairs(4, 6, []), protocol: 'tfrs' }),
    ).toThrow(/test: has no interactions/);
    const outside: TopKResult = { indices: Int32Array.of(7, 0, 1), scores: new Float32Array(3), k: 3 };
    expect(() =>
      retrievalMetrics({
        topK: outside,
        ks: [1],
        test: interactionsFromPairs(1, 6, [[0, 1]]),
        protocol: 'tfrs',
      }),
    ).toThrow(/outside the catalogue/);
  });
});

describe('popularityBuckets', () => {
  it('head carries the first third of training interactions, torso the next, tail the rest', () => {
    // Counts: i0 6, i1 3, i2 2, i3 1, i4 0, i5 0 (12 in all).
    const pairs: Array<[number, number]> = [];
    [6, 3, 2, 1, 0, 0].forEach((count, item) => {
      for (let c = 0; c < count; c++) pairs.push([c, item]);
    });
    const train = interactionsFromPairs(6, 6, pairs);
    expect(Array.from(popularityBuckets(train))).toEqual([0, 1, 2, 2, 2, 2]);
  });

  it('breaks count ties by the lower index, and makes everything tail without training data', () => {
    // Four items with 3 interactions each (12), taken in index order: i0 (0 before) and i1 (3 before,
    // under 12 / 3) are head, i2 (6 before, under 2 x 12 / 3) torso, i3 (9 before) tail.
    const pairs: Array<[number, number]> = [];
    for (const item of [3, 2, 1, 0]) for (let c = 0; c < 3; c++) pairs.push([c, item]);
    expect(Array.from(popularityBuckets(interactionsFromPairs(3, 4, pairs)))).toEqual([0, 0, 1, 2]);
    expect(Array.from(popularityBuckets(interactionsFromPairs(1, 3, [])))).toEqual([2, 2, 2]);
    // Exactly on a boundary: counts 4, 2, 2, 2, 2 (12). i1 has 4 = 12 / 3 before it, so it is not
    // head; i3 has 8 = 2 x 12 / 3 before it, so it is tail.
    const boundary: Array<[number, number]> = [];
    [4, 2, 2, 2, 2].forEach((count, item) => {
      for (let c = 0; c < count; c++) boundary.push([c, item]);
    });
    expect(Array.from(popularityBuckets(interactionsFromPairs(4, 5, boundary)))).toEqual([0, 1, 1, 2, 2]);
  });
});

describe('recallByPopularityBucket', () => {
  it('reports per-pair recall of the test pairs whose item is in each bucket (hand-computed)', () => {
    const pairs: Array<[number, number]> = [];
    [6, 3, 2, 1, 0, 0].forEach((count, item) => {
      for (let c = 0; c < count; c++) pairs.push([c % 4, item]);
    });
    const train = interactionsFromPairs(4, 6, pairs, test);
    const buckets = recallByPopularityBucket({ topK, ks: [1, 3], train, test });
    expect(buckets.map((b) => b.bucket)).toEqual(['head', 'torso', 'tail']);
    expect(buckets[0]).toEqual({
      bucket: 'head',
      items: 1,
      trainInteractions: 6,
      testPairs: 0,
      recall: { 'recall@1': null, 'recall@3': null },
    });
    // torso = {i1}: (u0, 1) at rank 2.
    expect(buckets[1]).toMatchObject({ items: 1, trainInteractions: 3, testPairs: 1 });
    expect(buckets[1]!.recall).toEqual({ 'recall@1': 0, 'recall@3': 1 });
    // tail = {i2..i5}: (u0, 4) miss, (u1, 3) rank 1, (u1, 5) x 2 rank 3, (u2, 2) miss.
    expect(buckets[2]).toMatchObject({ items: 4, trainInteractions: 3, testPairs: 5 });
    expect(buckets[2]!.recall['recall@1']).toBeCloseTo(1 / 5, 12);
    expect(buckets[2]!.recall['recall@3']).toBeCloseTo(3 / 5, 12);
  });

  it('refuses train and test with different dictionaries', () => {
    const other = interactionsFromPairs(4, 7, [[0, 1]]);
    expect(() => recallByPopularityBucket({ topK, ks: [1], train: other, test })).toThrow(/itemIds/);
  });
});

describe('catalogueCoverage', () => {
  it('is the share of the catalogue in any top-K list (padding ignored)', () => {
    expect(catalogueCoverage(topK, 6)).toBe(1);
    expect(catalogueCoverage(topK, 6, 1)).toBe(4 / 6); // first column: 0, 3, 5, 2
    expect(catalogueCoverage(topK, 10, 2)).toBe(6 / 10); // 0, 1, 3, 4, 5, 2
    expect(() => catalogueCoverage(topK, 6, 4)).toThrow(/^k/);
    expect(() => catalogueCoverage(topK, 5)).toThrow(/outside the catalogue/);
  });
});
