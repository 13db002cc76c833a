import { createRng } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import type { InteractionData } from '../interactions.js';
import { interactionsFromPairs } from './__fixtures__/interactions.js';
import { itemKnnTopK, popularityTopK } from './baselines.js';
import type { TopKResult } from './topk.js';

// u0: {0, 1}; u1: {0, 2}; u2: {0, 1, 3} (item 1 twice); u3: {4}.
const train = interactionsFromPairs(4, 5, [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 2],
  [2, 0],
  [2, 1],
  [2, 3],
  [2, 1],
  [3, 4],
]);
const row = (topK: TopKResult, r: number) =>
  Array.from(topK.indices.subarray(r * topK.k, r * topK.k + topK.k));
const rowScores = (topK: TopKResult, r: number) =>
  Array.from(topK.scores.subarray(r * topK.k, r * topK.k + topK.k));

describe('popularityTopK', () => {
  it('ranks by training count (ties by lower index) for every user', () => {
    // Counts: i0 3, i1 3, i2 1, i3 1, i4 1.
    const topK = popularityTopK({ train, k: 3 });
    for (let r = 0; r < 4; r++) {
      expect(row(topK, r)).toEqual([0, 1, 2]);
      expect(rowScores(topK, r)).toEqual([3, 3, 1]);
    }
  });

  it('masks each user’s training items when asked, padding with -1', () => {
    const topK = popularityTopK({ train, k: 3, maskTrainItems: true, queryUsers: Int32Array.of(2, 0, 3) });
    expect(row(topK, 0)).toEqual([2, 4, -1]); // u2 saw 0, 1, 3
    expect(rowScores(topK, 0)).toEqual([1, 1, Number.NEGATIVE_INFINITY]);
    expect(row(topK, 1)).toEqual([2, 3, 4]); // u0 saw 0, 1
    expect(row(topK, 2)).toEqual([0, 1, 2]); // u3 saw 4
  });

  it('refuses a bad k or query user', () => {
    expect(() => popularityTopK({ train, k: 0 })).toThrow(/^k/);
    expect(() => popularityTopK({ train, k: 1, queryUsers: Int32Array.of(4) })).toThrow(/queryUsers/);
  });
});

/** Dense reference: cosine of binary item vectors over users, summed over the user's items. */
function denseItemKnn(
  data: InteractionData,
  k: number,
  mask: boolean,
): { indices: number[][]; scores: number[][] } {
  const users = data.userIds.length;
  const items = data.itemIds.length;
  const matrix = Array.from({ length: items }, () => new Array<number>(users).fill(0));
  for (let at = 0; at < data.users.length; at++) matrix[data.items[at]!]![data.users[at]!] = 1;
  const norm = matrix.map((v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0)));
  const cos = (i: number, j: number) =>
    norm[i] === 0 || norm[j] === 0
      ? 0
      : matrix[i]!.reduce((s, x, u) => s + x * matrix[j]![u]!, 0) / (norm[i]! * norm[j]!);
  const indices: number[][] = [];
  const scores: number[][] = [];
  for (let u = 0; u < users; u++) {
    const own = [...Array(items).keys()].filter((i) => matrix[i]![u] === 1);
    const ranked = [...Array(items).keys()]
      .filter((j) => !(mask && own.includes(j)))
      .map((j) => [Math.fround(own.reduce((s, i) => s + cos(i, j), 0)), j] as [number, number])
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, k);
    while (ranked.length < k) ranked.push([Number.NEGATIVE_INFINITY, -1]);
    indices.push(ranked.map(([, j]) => j));
    scores.push(ranked.map(([s]) => s));
  }
  return { indices, scores };
}

describe('itemKnnTopK', () => {
  it('scores by summed cosine of co-occurrence (hand-computed)', () => {
    const topK = itemKnnTopK({ train, k: 3, maskTrainItems: true });
    // u0 {0, 1}: i3 = cos(0,3) + cos(1,3) = 1/sqrt(3) + 1/sqrt(2); i2 = cos(0,2) = 1/sqrt(3); i4 = 0.
    expect(row(topK, 0)).toEqual([3, 2, 4]);
    expect(rowScores(topK, 0)[0]).toBeCloseTo(1 / Math.sqrt(3) + 1 / Math.sqrt(2), 6);
    expect(rowScores(topK, 0)[1]).toBeCloseTo(1 / Math.sqrt(3), 6);
    expect(rowScores(topK, 0)[2]).toBe(0);
    // u1 {0, 2}: i1 = cos(0,1) = 2/sqrt(6), i3 = cos(0,3) = 1/sqrt(3), i4 = 0.
    expect(row(topK, 1)).toEqual([1, 3, 4]);
    expect(rowScores(topK, 1)[0]).toBeCloseTo(2 / Math.sqrt(6), 6);
    // u3 {4}: nothing co-occurs with i4, so zeros in index order.
    expect(row(topK, 3)).toEqual([0, 1, 2]);
    expect(rowScores(topK, 3)).toEqual([0, 0, 0]);
    // Without the mask u3's own item leads with cos(4, 4) = 1.
    const unmasked = itemKnnTopK({ train, k: 3, queryUsers: Int32Array.of(3) });
    expect(row(unmasked, 0)).toEqual([4, 0, 1]);
    expect(rowScores(unmasked, 0)).toEqual([1, 0, 0]);
  });

  it('agrees with a dense reference on random data, masked and unmasked', () => {
    const rng = createRng(21);
    const pairs: Array<[number, number]> = [];
    for (let at = 0; at < 400; at++) {
      // Skewed items so that co-occurrence is common.
      const item = Math.floor(40 * rng.nextFloat64() ** 2);
      pairs.push([rng.nextInt(30), item]);
    }
    const data = interactionsFromPairs(30, 45, pairs); // items 40..44 never seen
    for (const mask of [false, true]) {
      const k = 12;
      const topK = itemKnnTopK({ train: data, k, maskTrainItems: mask });
      const expected = denseItemKnn(data, k, mask);
      for (let u = 0; u < 30; u++) {
        const scores = rowScores(topK, u);
        const want = expected.scores[u]!;
        // Float64 sums in another order, then Float32: agree to 1e-6 relative.
        scores.forEach((s, r) => {
          expect(Math.abs(s - want[r]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[r]!)));
        });
        // Order must match wherever the reference scores are not (near-)tied.
        const got = row(topK, u);
        for (let r = 0; r < k; r++) {
          const separated =
            (r === 0 || want[r - 1]! - want[r]! > 1e-5) && (r === k - 1 || want[r]! - want[r + 1]! > 1e-5);
          if (separated) expect(got[r]).toBe(expected.indices[u]![r]);
        }
      }
    }
  });

  it('pads with -1 when masking leaves fewer than k items', () => {
    const topK = itemKnnTopK({ train, k: 4, maskTrainItems: true, queryUsers: Int32Array.of(2) });
    expect(row(topK, 0)).toEqual([2, 4, -1, -1]);
  });
});
