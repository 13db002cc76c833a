import { existsSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, isRarefyError, type Rng } from '@rarefy/sampling-core';
import { afterAll, describe, expect, it } from 'vitest';
import { topKByDotProduct } from '../eval/topk.js';
import { HnswIndex, topKByDotProductNative } from './hnsw.js';

function normals(count: number, dim: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: count * dim }, () => rng.normal());
}

const directory = mkdtempSync(join(tmpdir(), 'rarefy-hnsw-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('HnswIndex save / load and errors', () => {
  const dim = 16;
  const rng = createRng(7);
  const items = normals(2000, dim, rng);
  const ids = Array.from({ length: 2000 }, (_, item) => `item-${item}`);
  const queries = normals(20, dim, rng);

  it('round-trips through save and load (atomically, no temporary files left)', () => {
    const index = new HnswIndex({ dim, connectivity: 8, expansionAdd: 64, expansionSearch: 64 }).build(
      items,
      ids,
    );
    const path = join(directory, 'small.usearch');
    index.save(path);
    index.save(path); // replacing works too
    expect(readdirSync(directory).filter((name) => name.includes('rarefy-tmp'))).toEqual([]);
    expect(existsSync(`${path}.json`)).toBe(true);
    for (const view of [false, true]) {
      const loaded = HnswIndex.load(path, { view });
      expect(loaded.size).toBe(2000);
      expect(loaded.connectivity).toBe(8);
      expect(loaded.expansionSearch).toBe(64);
      expect(loaded.normalize).toBe(true);
      expect(loaded.searchBatch(queries, 5)).toEqual(index.searchBatch(queries, 5));
    }
  });

  it('refuses a second build, searching an empty index, and bad queries', () => {
    const index = new HnswIndex({ dim });
    expect(() => index.search(new Float32Array(dim), 3)).toThrow(/HnswIndex: is empty/);
    index.build(items.subarray(0, 10 * dim), ids.slice(0, 10));
    expect(() => index.build(items.subarray(0, 10 * dim), ids.slice(0, 10))).toThrow(
      /already holds 10 items/,
    );
    expect(() => index.search(new Float32Array(dim + 1), 3)).toThrow(/query: has 17 values/);
    expect(index.search(new Float32Array(dim).fill(1), 50).ids).toHaveLength(10);
    expect(() => new HnswIndex({ dim, connectivity: 0 })).toThrow(/connectivity/);
  });

  it('reports missing, mismatched and malformed files with typed errors', () => {
    const missing = join(directory, 'absent.usearch');
    try {
      HnswIndex.load(missing);
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_IO_ERROR')).toBe(true);
    }
    const path = join(directory, 'damaged.usearch');
    new HnswIndex({ dim }).build(items.subarray(0, 100 * dim), ids.slice(0, 100)).save(path);
    truncateSync(path, 1000);
    expect(() => HnswIndex.load(path)).toThrow(/different saves/);
    writeFileSync(`${path}.json`, '{ not json');
    try {
      HnswIndex.load(path);
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_PARSE_ERROR')).toBe(true);
    }
  });
});

describe('topKByDotProductNative', () => {
  const dim = 24;
  const rng = createRng(31);
  const items = normals(700, dim, rng);
  const queries = normals(9, dim, rng);

  function expectSameTopK(
    actual: ReturnType<typeof topKByDotProduct>,
    expected: ReturnType<typeof topKByDotProduct>,
  ): void {
    expect(actual.k).toBe(expected.k);
    // Gaussian vectors: no ties, so both orders are the same; float32 sums in another order: 1e-5.
    expect(Array.from(actual.indices)).toEqual(Array.from(expected.indices));
    actual.scores.forEach((score, at) => {
      const reference = expected.scores[at] as number;
      if (reference === Number.NEGATIVE_INFINITY) expect(score).toBe(reference);
      else expect(Math.abs(score - reference)).toBeLessThan(1e-5);
    });
  }

  it('returns the top K of topKByDotProduct, one query or a batch, padded past the catalogue', () => {
    for (const threads of [0, 1]) {
      expectSameTopK(
        topKByDotProductNative({ queries, items, dim, k: 10, threads }),
        topKByDotProduct({ queries, items, dim, k: 10 }),
      );
    }
    const one = queries.slice(0, dim);
    expectSameTopK(
      topKByDotProductNative({ queries: one, items, dim, k: 3 }),
      topKByDotProduct({ queries: one, items, dim, k: 3 }),
    );
    const few = items.slice(0, 5 * dim);
    const padded = topKByDotProductNative({ queries, items: few, dim, k: 8 });
    expectSameTopK(padded, topKByDotProduct({ queries, items: few, dim, k: 8 }));
    expect(padded.indices[7]).toBe(-1);
  });

  it('searches views into larger buffers (usearch reads them from the buffer start)', () => {
    const itemBuffer = new Float32Array(items.length + 3 * dim);
    itemBuffer.set(items, 3 * dim);
    const queryBuffer = new Float32Array(queries.length + dim);
    queryBuffer.set(queries, dim);
    const itemView = itemBuffer.subarray(3 * dim);
    const queryView = queryBuffer.subarray(dim);
    expectSameTopK(
      topKByDotProductNative({ queries: queryView, items: itemView, dim, k: 6 }),
      topKByDotProduct({ queries, items, dim, k: 6 }),
    );
    expectSameTopK(
      topKByDotProductNative({ queries: queryView.subarray(2 * dim, 3 * dim), items, dim, k: 6 }),
      topKByDotProduct({ queries: queries.slice(2 * dim, 3 * dim), items, dim, k: 6 }),
    );
    // A view at offset 0 that ends before its buffer does: only its own rows are searched.
    expectSameTopK(
      topKByDotProductNative({ queries, items: items.subarray(0, 40 * dim), dim, k: 6 }),
      topKByDotProduct({ queries, items: items.slice(0, 40 * dim), dim, k: 6 }),
    );
  });

  it('answers an empty catalogue with padding and names bad arguments', () => {
    const empty = topKByDotProductNative({ queries, items: new Float32Array(0), dim, k: 2 });
    expect(Array.from(empty.indices)).toEqual(Array(18).fill(-1));
    expect(() => topKByDotProductNative({ queries, items, dim, k: 0 })).toThrow(/k: 0/);
    expect(() => topKByDotProductNative({ queries: new Float32Array(5), items, dim, k: 2 })).toThrow(
      /queries: length 5 is not a multiple of dim 24/,
    );
    expect(() => topKByDotProductNative({ queries, items, dim, k: 2, threads: -1 })).toThrow(/threads/);
  });
});
