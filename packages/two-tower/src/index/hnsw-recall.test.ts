import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, type Rng } from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExactIndex } from './exact.js';
import { HnswIndex, hnswRecallAgainstExact } from './hnsw.js';

function normals(count: number, dim: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: count * dim }, () => rng.normal());
}

const directory = mkdtempSync(join(tmpdir(), 'rarefy-hnsw-recall-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('HnswIndex on 20k random 32-dim vectors', () => {
  const dim = 32;
  const rng = createRng(2024);
  const items = normals(20_000, dim, rng);
  const ids = Array.from({ length: 20_000 }, (_, item) => `m${item}`);
  const queries = normals(400, dim, rng);
  let index: HnswIndex;
  beforeAll(() => {
    index = new HnswIndex({ dim }).build(items, ids);
  });

  it('reaches recall@10 >= 0.95 against exact search with the default settings', () => {
    // Random Gaussian directions are a hard case for HNSW (no low-dimensional structure); with
    // ef = 128 recall@10 is about 0.99 here, and seeded data makes the run repeatable.
    const report = hnswRecallAgainstExact({ index, items, queries, sampleSize: 300 });
    expect(report.queries).toBe(300);
    expect(report.k).toBe(10);
    expect(report.recall).toBeGreaterThanOrEqual(0.95);
    expect(report.recall).toBeLessThanOrEqual(1);
    expect(report.hnswQueriesPerSecond).toBeGreaterThan(0);
  });

  it('returns ids and inner-product scores of the normalised vectors', () => {
    const exact = new ExactIndex(items, ids, { dim, normalize: true });
    const query = queries.subarray(0, dim);
    const approximate = index.search(query, 10);
    const truth = exact.search(query, 10);
    expect(approximate.ids).toHaveLength(10);
    expect(approximate.ids[0]).toBe(truth.ids[0]);
    expect(approximate.scores[0]).toBeCloseTo(truth.scores[0]!, 5);
    for (let at = 1; at < 10; at++)
      expect(approximate.scores[at]!).toBeLessThanOrEqual(approximate.scores[at - 1]! + 1e-6);
    expect(approximate.ids.every((id, at) => id === `m${approximate.indices[at]}`)).toBe(true);
  });

  it('a small expansionSearch loses recall (the check can fail)', () => {
    const path = join(directory, 'big.usearch');
    index.save(path);
    const narrow = HnswIndex.load(path, { expansionSearch: 10 });
    expect(narrow.expansionSearch).toBe(10);
    const report = hnswRecallAgainstExact({ index: narrow, items, queries, sampleSize: 300 });
    expect(report.recall).toBeLessThan(0.95);
  });
});
