import { createRng, isRarefyError, type Rng } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { topKByDotProduct } from './topk.js';

/** Values on a grid of 1/4 in [-1, 1]: every dot product is exact in Float32, so ties are real. */
function gridVectors(count: number, dim: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: count * dim }, () => (rng.nextInt(9) - 4) / 4);
}

function normalVectors(count: number, dim: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: count * dim }, () => rng.normal());
}

/** Brute force: score every item, sort (score desc, index asc), drop masked, pad with -1. */
function bruteForce(
  queries: Float32Array,
  items: Float32Array,
  dim: number,
  k: number,
  exclude?: (query: number) => Int32Array | undefined,
): { indices: number[][]; scores: number[][] } {
  const queryCount = queries.length / dim;
  const itemCount = items.length / dim;
  const indices: number[][] = [];
  const scores: number[][] = [];
  for (let q = 0; q < queryCount; q++) {
    const masked = new Set(exclude?.(q) ?? []);
    const ranked: Array<[number, number]> = [];
    for (let j = 0; j < itemCount; j++) {
      if (masked.has(j)) continue;
      let sum = 0;
      for (let t = 0; t < dim; t++) sum += queries[q * dim + t]! * items[j * dim + t]!;
      ranked.push([Math.fround(sum), j]);
    }
    ranked.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const top = ranked.slice(0, k);
    while (top.length < k) top.push([Number.NEGATIVE_INFINITY, -1]);
    indices.push(top.map(([, j]) => j));
    scores.push(top.map(([s]) => s));
  }
  return { indices, scores };
}

function rows(array: Int32Array | Float32Array, k: number): number[][] {
  const out: number[][] = [];
  for (let at = 0; at < array.length; at += k) out.push(Array.from(array.subarray(at, at + k)));
  return out;
}

describe('topKByDotProduct', () => {
  it('matches a brute-force sort exactly on grid data full of ties (odd sizes, small blocks)', () => {
    const rng = createRng(11);
    const dim = 7;
    const queries = gridVectors(13, dim, rng);
    const items = gridVectors(103, dim, rng);
    for (const k of [1, 5, 37, 103]) {
      for (const blockSize of [1, 6, 16, 512]) {
        const result = topKByDotProduct({ queries, items, dim, k, blockSize });
        const expected = bruteForce(queries, items, dim, k);
        expect(result.k).toBe(k);
        expect(rows(result.indices, k)).toEqual(expected.indices);
        expect(rows(result.scores, k)).toEqual(expected.scores);
      }
    }
    // The data really has ties inside the top lists, so the tie rule was exercised.
    const top = topKByDotProduct({ queries, items, dim, k: 20 });
    let ties = 0;
    for (let at = 1; at < top.scores.length; at++) if (top.scores[at] === top.scores[at - 1]) ties++;
    expect(ties).toBeGreaterThan(20);
  });

  it('pads with -1 / -Infinity when k exceeds the catalogue', () => {
    const rng = createRng(3);
    const dim = 5;
    const queries = gridVectors(6, dim, rng);
    const items = gridVectors(9, dim, rng);
    const result = topKByDotProduct({ queries, items, dim, k: 12 });
    const expected = bruteForce(queries, items, dim, 12);
    expect(rows(result.indices, 12)).toEqual(expected.indices);
    expect(rows(result.scores, 12)).toEqual(expected.scores);
    for (let q = 0; q < 6; q++) {
      expect(Array.from(result.indices.subarray(q * 12 + 9, q * 12 + 12))).toEqual([-1, -1, -1]);
      expect(result.scores[q * 12 + 11]).toBe(Number.NEGATIVE_INFINITY);
    }
  });

  it('never returns masked items, and pads when masking leaves fewer than k', () => {
    const rng = createRng(5);
    const dim = 6;
    const itemCount = 150;
    const queries = gridVectors(10, dim, rng);
    const items = gridVectors(itemCount, dim, rng);
    const masks = Array.from({ length: 10 }, (_, q) => {
      if (q === 0) return undefined;
      if (q === 1) return Int32Array.from({ length: itemCount - 3 }, (_, j) => j + 3); // leaves 3 items
      if (q === 2) return new Int32Array(0);
      const chosen: number[] = [];
      for (let j = 0; j < itemCount; j++) if (rng.nextFloat64() < 0.3) chosen.push(j);
      return Int32Array.from(chosen);
    });
    const exclude = (q: number) => masks[q];
    for (const blockSize of [7, 64, 512]) {
      const result = topKByDotProduct({ queries, items, dim, k: 20, exclude, blockSize });
      const expected = bruteForce(queries, items, dim, 20, exclude);
      expect(rows(result.indices, 20)).toEqual(expected.indices);
      expect(rows(result.scores, 20)).toEqual(expected.scores);
    }
    const result = topKByDotProduct({ queries, items, dim, k: 20, exclude });
    expect(Array.from(result.indices.subarray(20, 40)).filter((j) => j >= 0)).toHaveLength(3);
    for (let q = 3; q < 10; q++) {
      const masked = new Set(masks[q]);
      for (const j of result.indices.subarray(q * 20, q * 20 + 20)) expect(masked.has(j)).toBe(false);
    }
  });

  it('agrees with brute force on continuous random data, across query spans (large dim)', () => {
    const rng = createRng(8);
    for (const [dim, queryCount, itemCount] of [
      [32, 21, 700],
      [4096, 19, 40], // 8 queries per pass over the items: three passes
    ] as const) {
      const queries = normalVectors(queryCount, dim, rng);
      const items = normalVectors(itemCount, dim, rng);
      const k = 10;
      const result = topKByDotProduct({ queries, items, dim, k });
      const expected = bruteForce(queries, items, dim, k);
      for (let q = 0; q < queryCount; q++) {
        for (let r = 0; r < k; r++) {
          // Summation order differs (16 accumulators vs one): allow a relative 1e-5 in Float32.
          const want = expected.scores[q]![r]!;
          expect(Math.abs(result.scores[q * k + r]! - want)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want)));
        }
        expect(Array.from(result.indices.subarray(q * k, q * k + k))).toEqual(expected.indices[q]);
      }
    }
  });

  it('handles no queries, and a single query and item', () => {
    const empty = topKByDotProduct({
      queries: new Float32Array(0),
      items: new Float32Array(4),
      dim: 2,
      k: 3,
    });
    expect(empty.indices).toHaveLength(0);
    const one = topKByDotProduct({
      queries: Float32Array.of(1, 2),
      items: Float32Array.of(3, 4),
      dim: 2,
      k: 2,
    });
    expect(Array.from(one.indices)).toEqual([0, -1]);
    expect(Array.from(one.scores)).toEqual([11, Number.NEGATIVE_INFINITY]);
  });

  it('refuses bad arguments with typed errors naming the input', () => {
    const items = new Float32Array(12);
    const queries = new Float32Array(6);
    const expectCode = (fn: () => unknown, code: string, input: RegExp) => {
      try {
        fn();
        expect.unreachable();
      } catch (error) {
        expect(isRarefyError(error)).toBe(true);
        if (isRarefyError(error)) {
          expect(error.code).toBe(code);
          expect(error.message).toMatch(input);
        }
      }
    };
    expectCode(() => topKByDotProduct({ queries, items, dim: 0, k: 1 }), 'RAREFY_INVALID_ARGUMENT', /^dim/);
    expectCode(() => topKByDotProduct({ queries, items, dim: 3, k: 0 }), 'RAREFY_INVALID_ARGUMENT', /^k/);
    expectCode(
      () => topKByDotProduct({ queries, items, dim: 3, k: 1, blockSize: 2.5 }),
      'RAREFY_INVALID_ARGUMENT',
      /^blockSize/,
    );
    expectCode(
      () => topKByDotProduct({ queries: new Float32Array(5), items, dim: 3, k: 1 }),
      'RAREFY_DIMENSION_MISMATCH',
      /^queries/,
    );
    expectCode(
      () => topKByDotProduct({ queries, items, dim: 3, k: 1, exclude: () => Int32Array.of(2, 1) }),
      'RAREFY_INVALID_ARGUMENT',
      /exclude\(0\).*ascending/,
    );
    expectCode(
      () => topKByDotProduct({ queries, items, dim: 3, k: 1, exclude: () => Int32Array.of(4) }),
      'RAREFY_INVALID_ARGUMENT',
      /outside \[0, 4\)/,
    );
  });
});
