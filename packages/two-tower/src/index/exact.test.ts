import { createRng, isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { topKByDotProduct } from '../eval/topk.js';
import { ExactIndex, normalizeRows } from './exact.js';

const dim = 8;
const rng = createRng(4);
const items = Float32Array.from({ length: 50 * dim }, () => rng.normal());
const ids = Array.from({ length: 50 }, (_, item) => `item-${item}`);
const queries = Float32Array.from({ length: 5 * dim }, () => rng.normal());

describe('ExactIndex', () => {
  it('returns the brute-force top k with ids, best first', () => {
    const index = new ExactIndex(items, ids, { dim });
    expect(index.size).toBe(50);
    const query = queries.subarray(0, dim);
    const result = index.search(query, 5);
    const dots = Array.from({ length: 50 }, (_, item) => {
      let sum = 0;
      for (let t = 0; t < dim; t++) sum += query[t]! * items[item * dim + t]!;
      return [sum, item] as const;
    }).sort((a, b) => b[0] - a[0]);
    expect(Array.from(result.indices)).toEqual(dots.slice(0, 5).map(([, item]) => item));
    expect(result.ids).toEqual(dots.slice(0, 5).map(([, item]) => `item-${item}`));
    result.scores.forEach((score, at) => {
      expect(score).toBeCloseTo(dots[at]![0], 5);
    });
  });

  it('searchBatch equals topKByDotProduct row by row; k beyond the catalogue is trimmed', () => {
    const index = new ExactIndex(items, ids, { dim });
    const batch = index.searchBatch(queries, 60);
    const reference = topKByDotProduct({ queries, items, dim, k: 60 });
    expect(batch).toHaveLength(5);
    batch.forEach((result, q) => {
      expect(result.indices).toHaveLength(50);
      expect(Array.from(result.indices)).toEqual(Array.from(reference.indices.subarray(q * 60, q * 60 + 50)));
    });
  });

  it('with normalize, scores are cosines and the vector norms no longer matter', () => {
    const scaled = items.map((value, at) => value * (1 + Math.floor(at / dim)));
    const plain = new ExactIndex(items, ids, { dim, normalize: true });
    const cosine = new ExactIndex(scaled, ids, { dim, normalize: true });
    const a = plain.search(queries.subarray(0, dim), 10);
    const b = cosine.search(
      queries.subarray(0, dim).map((v) => v * 7),
      10,
    );
    expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
    for (const score of b.scores) expect(Math.abs(score)).toBeLessThanOrEqual(1 + 1e-6);
    // Raw inner products would rank the long (late) rows first.
    const raw = new ExactIndex(scaled, ids, { dim }).search(queries.subarray(0, dim), 10);
    expect(Array.from(raw.indices)).not.toEqual(Array.from(a.indices));
  });

  it('refuses non-finite vectors, missing ids and queries of the wrong length', () => {
    const broken = items.slice();
    broken[17] = Number.NaN;
    try {
      new ExactIndex(broken, ids, { dim });
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_NON_FINITE')).toBe(true);
      if (isRarefyError(error)) expect(error.message).toMatch(/items: entry 17 \(row 2\)/);
    }
    expect(() => new ExactIndex(items, ids.slice(1), { dim })).toThrow(/ids: has 49 ids/);
    expect(() => new ExactIndex(items, ids, { dim }).search(new Float32Array(3), 1)).toThrow(
      /query: has 3 values/,
    );
  });
});

describe('normalizeRows', () => {
  it('scales rows to unit length and leaves zero rows at zero', () => {
    const out = normalizeRows(Float32Array.of(3, 4, 0, 0), 2);
    expect(Array.from(out)).toEqual([Math.fround(0.6), Math.fround(0.8), 0, 0]);
  });
});
