import { createRng } from '@rarefy/sampling-core';
import { afterAll, describe, expect, it } from 'vitest';
import { bruteForceTopK, clusteredUnitRows, unitRows } from './__fixtures__/models.js';
import {
  createRecommendIndex,
  ExactRecommendIndex,
  HnswRecommendIndex,
  type RecommendIndex,
} from './recommend-index.js';

const dimension = 16;
const rng = createRng(11);
const items = unitRows(rng, 500, dimension);
const queries = unitRows(rng, 20, dimension);
const opened: RecommendIndex[] = [];

afterAll(async () => {
  await Promise.all(opened.map((index) => index.close()));
});

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += (a[j] as number) * (b[j] as number);
  return sum;
}

describe('ExactRecommendIndex', () => {
  it('returns exactly the brute-force top K with the inner products, best first', async () => {
    const index = new ExactRecommendIndex(items, dimension, { threads: 2 });
    opened.push(index);
    expect(index.size).toBe(500);
    for (let q = 0; q < queries.length / dimension; q++) {
      const query = queries.subarray(q * dimension, (q + 1) * dimension);
      const found = await index.search(query, 7);
      expect(Array.from(found.indices)).toEqual(bruteForceTopK(items, dimension, query, 7));
      found.indices.forEach((row, i) => {
        // float32 products summed in a different order: 1e-5 is far above the rounding (~1e-7).
        expect(found.scores[i]).toBeCloseTo(
          dot(query, items.subarray(row * dimension, (row + 1) * dimension)),
          5,
        );
      });
    }
  });

  it('searches items given as a view into a larger buffer', async () => {
    const padded = new Float32Array(items.length + 3 * dimension);
    padded.set(items, 3 * dimension);
    const view = padded.subarray(3 * dimension);
    const index = new ExactRecommendIndex(view, dimension, { threads: 1 });
    opened.push(index);
    const query = queries.subarray(dimension, 2 * dimension);
    const found = await index.search(query, 5);
    expect(Array.from(found.indices)).toEqual(bruteForceTopK(items, dimension, query, 5));
  });

  it('never returns excluded rows and still returns k of the others', async () => {
    const index = new ExactRecommendIndex(items, dimension, { threads: 1 });
    opened.push(index);
    const query = queries.subarray(0, dimension);
    const best = bruteForceTopK(items, dimension, query, 5);
    const exclude = Int32Array.from(best.slice(0, 3)).sort();
    const found = await index.search(query, 5, exclude);
    expect(Array.from(found.indices)).toEqual(bruteForceTopK(items, dimension, query, 5, new Set(exclude)));
    expect(found.indices).toHaveLength(5);
  });

  it('returns what is left when k exceeds the catalogue less the excluded items', async () => {
    const small = unitRows(createRng(3), 6, dimension);
    const index = new ExactRecommendIndex(small, dimension, { threads: 1 });
    opened.push(index);
    const found = await index.search(small.subarray(0, dimension), 50, Int32Array.of(0, 4));
    expect(Array.from(found.indices).sort()).toEqual([1, 2, 3, 5]);
  });

  it('searches off the event loop: the main thread idles while 100,000 x 64 searches run', async () => {
    const large = unitRows(createRng(5), 100_000, 64);
    const index = new ExactRecommendIndex(large, 64, { threads: 1 });
    opened.push(index);
    await index.search(large.subarray(0, 64), 10); // the worker has started
    const before = performance.eventLoopUtilization();
    for (let q = 1; q <= 10; q++) {
      const found = await index.search(large.subarray(q * 64, (q + 1) * 64), 10);
      expect(found.indices[0]).toBe(q);
    }
    const busy = performance.eventLoopUtilization(before);
    // Scoring 100,000 x 64 on the main thread would keep it busy nearly all of the time (~1); in a
    // worker it waits in the event loop, whatever other load the machine has.
    expect(busy.utilization).toBeLessThan(0.5);
  });

  it('names the problem for a query of the wrong width, and refuses searches once closed', async () => {
    const index = new ExactRecommendIndex(items, dimension, { threads: 1 });
    await expect(index.search(new Float32Array(3), 5)).rejects.toMatchObject({
      code: 'RAREFY_DIMENSION_MISMATCH',
      input: 'query',
    });
    await expect(index.search(queries.subarray(0, dimension), 0)).rejects.toMatchObject({ input: 'k' });
    await index.close();
    await expect(index.search(queries.subarray(0, dimension), 5)).rejects.toMatchObject({ input: 'index' });
  });
});

describe('HnswRecommendIndex', () => {
  it('finds at least 95% of the exact top 10 on clustered embeddings, with exact scores', async () => {
    const clustered = clusteredUnitRows(createRng(21), 4000, 32, 40);
    const index = await HnswRecommendIndex.build(clustered, 32, { buildThreads: 1 });
    opened.push(index);
    expect(index.size).toBe(4000);
    let hits = 0;
    const probe = 50;
    for (let q = 0; q < probe; q++) {
      const query = clustered.subarray(q * 32 * 7, q * 32 * 7 + 32);
      const exact = new Set(bruteForceTopK(clustered, 32, query, 10));
      const found = await index.search(query, 10);
      expect(found.indices).toHaveLength(10);
      for (const row of found.indices) if (exact.has(row)) hits++;
      expect(found.scores[0]).toBeCloseTo(
        dot(query, clustered.subarray(found.indices[0]! * 32, found.indices[0]! * 32 + 32)),
        5,
      );
    }
    // 500 (query, item) pairs; HNSW at these settings misses well under 1% here.
    expect(hits / (probe * 10)).toBeGreaterThanOrEqual(0.95);
  });

  it('searches the same graph in worker threads as on the calling thread', async () => {
    const clustered = clusteredUnitRows(createRng(22), 3000, 32, 30);
    const inline = await HnswRecommendIndex.build(clustered, 32, { buildThreads: 1, searchThreads: 0 });
    const workers = await HnswRecommendIndex.build(clustered, 32, { buildThreads: 1, searchThreads: 2 });
    opened.push(inline, workers);
    for (let q = 0; q < 20; q++) {
      const query = clustered.subarray(q * 32 * 11, q * 32 * 11 + 32);
      const exclude = Int32Array.of(q * 11);
      const [a, b] = await Promise.all([
        inline.search(query, 10, exclude),
        workers.search(query, 10, exclude),
      ]);
      // Both graphs are built single-threaded from the same rows in the same order: identical.
      expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
      expect(Array.from(b.indices)).not.toContain(q * 11);
    }
    await workers.close();
    await expect(workers.search(clustered.subarray(0, 32), 3)).rejects.toMatchObject({ input: 'index' });
  });

  it('leaves out excluded rows', async () => {
    const index = await HnswRecommendIndex.build(items, dimension, { buildThreads: 1 });
    opened.push(index);
    const query = items.subarray(0, dimension);
    const first = await index.search(query, 3);
    expect(first.indices[0]).toBe(0);
    const exclude = Int32Array.from(first.indices).sort();
    const second = await index.search(query, 3, exclude);
    expect(second.indices).toHaveLength(3);
    for (const row of second.indices) expect(Array.from(exclude)).not.toContain(row);
  });
});

describe('HnswRecommendIndex with k above its search list', () => {
  it('still returns k items, none of them excluded', async () => {
    const many = unitRows(createRng(8), 3000, dimension);
    const index = await HnswRecommendIndex.build(many, dimension, { buildThreads: 1, expansionSearch: 32 });
    opened.push(index);
    const exclude = Int32Array.from({ length: 100 }, (_, i) => i * 2);
    const found = await index.search(many.subarray(0, dimension), 500, exclude);
    expect(found.indices).toHaveLength(500);
    const excluded = new Set(exclude);
    for (const row of found.indices) expect(excluded.has(row)).toBe(false);
    expect(new Set(found.indices).size).toBe(500);
  });
});

describe('createRecommendIndex', () => {
  it('searches small catalogues exactly and large ones (or on request) with HNSW', async () => {
    const auto = await createRecommendIndex(items, dimension);
    const hnsw = await createRecommendIndex(items, dimension, { kind: 'hnsw', hnsw: { buildThreads: 1 } });
    opened.push(auto, hnsw);
    expect(auto.kind).toBe('exact');
    expect(hnsw.kind).toBe('hnsw');
  });
});
