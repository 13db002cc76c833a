import { existsSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, isRarefyError, type Rng } from '@rarefy/sampling-core';
import { afterAll, describe, expect, it } from 'vitest';
import { HnswIndex } from './hnsw.js';

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
