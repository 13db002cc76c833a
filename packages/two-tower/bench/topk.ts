/**
 * Benchmark of top-K retrieval over generated item embeddings (ALGORITHMS.md B.9, the index part):
 *
 * - exact search, `topKByDotProduct` over 1e6 items x 64 dims, a batch of a few hundred queries
 *   (queries/s, query-item pairs/s, GFLOP/s), and `ExactIndex.search` one query per call;
 * - the baseline, measured in the same run: a plain one-query-at-a-time dot-product loop (one
 *   accumulator, scores written to an array, no top-K), so the blocked kernel is reported as a ratio;
 * - HNSW (usearch): build time, batch queries/s and recall@10 against the exact lists, at
 *   expansionSearch 64 / 128 (default) / 256 (one build, reloaded with each setting).
 *
 * Data: embedding-like vectors of intrinsic dimension 16 (a random 64 x 16 projection of Gaussian
 * factors plus noise 0.1 per coordinate), because trained towers' embeddings are far from
 * isotropic; plus a worst case for HNSW, i.i.d. uniform vectors (--iid-items, default 20000).
 *
 * Run from packages/two-tower:
 *   node --conditions=@rarefy/source --import tsx bench/topk.ts [--items 1000000] [--queries 256]
 *     [--hnsw-items N (default = items)] [--iid-items 20000] [--skip-hnsw]
 * The HNSW build over 1e6 items took about 21 minutes on a loaded 2-core machine (use
 * --hnsw-items 100000 for a quick run). Writes bench-results/topk.json (topk-exact.json with
 * --skip-hnsw).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, writeResult } from '@rarefy/bench';
import { createRng, type Rng } from '@rarefy/sampling-core';
import { topKByDotProduct } from '../src/eval/topk.js';
import { ExactIndex } from '../src/index/exact.js';
import { HnswIndex, hnswRecallAgainstExact } from '../src/index/hnsw.js';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a positive integer`);
  return value;
}

const DIM = 64;
const ITEMS = option('items', 1_000_000);
const QUERIES = option('queries', 256);
const HNSW_ITEMS = Math.min(option('hnsw-items', ITEMS), ITEMS);
const IID_ITEMS = option('iid-items', 20_000);
const SKIP_HNSW = process.argv.includes('--skip-hnsw');
const K = 10;
const RANK = 16;
const NOISE = 0.1;

/** Embedding-like vectors: W z + noise, z ~ N(0, I_RANK), W a fixed random DIM x RANK matrix. */
function lowRankVectors(count: number, rng: Rng, projection: Float64Array): Float32Array {
  const out = new Float32Array(count * DIM);
  const factors = new Float64Array(RANK);
  for (let row = 0; row < count; row++) {
    for (let r = 0; r < RANK; r++) factors[r] = rng.normal();
    for (let t = 0; t < DIM; t++) {
      let sum = 0;
      for (let r = 0; r < RANK; r++) sum += (projection[t * RANK + r] as number) * (factors[r] as number);
      out[row * DIM + t] = sum + NOISE * rng.normal();
    }
  }
  return out;
}

/** I.i.d. uniform vectors on [-0.5, 0.5)^DIM: no structure, the hard case for graph indexes. */
function uniformVectors(count: number, rng: Rng): Float32Array {
  const out = new Float32Array(count * DIM);
  for (let at = 0; at < out.length; at++) out[at] = rng.nextUint32() / 4294967296 - 0.5;
  return out;
}

/** The baseline: one query at a time, a plain dot-product loop per item, scores to an array. */
function plainDotProducts(queries: Float32Array, items: Float32Array, queryCount: number): number {
  const itemCount = items.length / DIM;
  const scores = new Float32Array(itemCount);
  let checksum = 0;
  for (let q = 0; q < queryCount; q++) {
    const qo = q * DIM;
    for (let item = 0; item < itemCount; item++) {
      const io = item * DIM;
      let sum = 0;
      for (let t = 0; t < DIM; t++) sum += (queries[qo + t] as number) * (items[io + t] as number);
      scores[item] = sum;
    }
    checksum += scores[q] as number;
  }
  return checksum;
}

const seconds = (start: number): number => (performance.now() - start) / 1000;

const rng = createRng(2026);
const projection = Float64Array.from({ length: DIM * RANK }, () => rng.normal() / Math.sqrt(RANK));
let started = performance.now();
const items = lowRankVectors(ITEMS, rng, projection);
const queries = lowRankVectors(QUERIES, rng, projection);
const ids = Array.from({ length: ITEMS }, (_, item) => `item-${item}`);
console.log(`generated ${ITEMS} x ${DIM} items and ${QUERIES} queries in ${seconds(started).toFixed(1)} s`);

const exactRows: Array<Record<string, unknown>> = [];
// Warm-up (JIT) on a slice, then the timed batch.
topKByDotProduct({
  queries: queries.subarray(0, 8 * DIM),
  items: items.subarray(0, 50_000 * DIM),
  dim: DIM,
  k: K,
});
started = performance.now();
topKByDotProduct({ queries, items, dim: DIM, k: K });
const batchSeconds = seconds(started);
const batchPairs = (ITEMS * QUERIES) / batchSeconds;
exactRows.push({
  method: `topKByDotProduct, batch of ${QUERIES}`,
  seconds: batchSeconds,
  'queries/s': QUERIES / batchSeconds,
  'Mpairs/s': batchPairs / 1e6,
  'GFLOP/s': (2 * DIM * batchPairs) / 1e9,
});

const exact = new ExactIndex(items, ids, { dim: DIM });
const singleCount = Math.min(16, QUERIES);
exact.search(queries.subarray(0, DIM), K);
started = performance.now();
for (let q = 0; q < singleCount; q++) exact.search(queries.subarray(q * DIM, q * DIM + DIM), K);
const singleSeconds = seconds(started);
exactRows.push({
  method: `ExactIndex.search, ${singleCount} single queries`,
  seconds: singleSeconds,
  'queries/s': singleCount / singleSeconds,
  'Mpairs/s': (ITEMS * singleCount) / singleSeconds / 1e6,
  'GFLOP/s': (2 * DIM * ITEMS * singleCount) / singleSeconds / 1e9,
});

const baselineCount = Math.min(8, QUERIES);
plainDotProducts(queries, items.subarray(0, 50_000 * DIM), 2);
started = performance.now();
plainDotProducts(queries, items, baselineCount);
const baselineSeconds = seconds(started);
const baselinePairs = (ITEMS * baselineCount) / baselineSeconds;
exactRows.push({
  method: `baseline: plain dot loop, ${baselineCount} queries`,
  seconds: baselineSeconds,
  'queries/s': baselineCount / baselineSeconds,
  'Mpairs/s': baselinePairs / 1e6,
  'GFLOP/s': (2 * DIM * baselinePairs) / 1e9,
});
console.log(`\nExact top-${K} over ${ITEMS} items x ${DIM} dims (single thread)\n`);
console.log(markdownTable(exactRows));
console.log(`\nblocked batch / plain loop: ${(batchPairs / baselinePairs).toFixed(2)}x pairs per second`);

const hnswRows: Array<Record<string, unknown>> = [];
if (!SKIP_HNSW) {
  const directory = mkdtempSync(join(tmpdir(), 'rarefy-bench-hnsw-'));
  try {
    const runs: Array<[string, Float32Array, Float32Array]> = [
      [`low-rank ${RANK}`, items.subarray(0, HNSW_ITEMS * DIM), queries],
      ['iid uniform', uniformVectors(IID_ITEMS, rng), uniformVectors(QUERIES, rng)],
    ];
    for (const [data, vectors, probes] of runs) {
      const count = vectors.length / DIM;
      started = performance.now();
      const built = new HnswIndex({ dim: DIM }).build(vectors, ids.slice(0, count));
      const buildSeconds = seconds(started);
      console.log(`built HNSW over ${count} ${data} vectors in ${buildSeconds.toFixed(1)} s`);
      const path = join(directory, 'index.usearch');
      built.save(path);
      for (const expansionSearch of [64, 128, 256]) {
        const index =
          expansionSearch === built.expansionSearch ? built : HnswIndex.load(path, { expansionSearch });
        const report = hnswRecallAgainstExact({
          index,
          items: vectors,
          queries: probes,
          k: K,
          sampleSize: QUERIES,
        });
        hnswRows.push({
          data,
          items: count,
          'build s': buildSeconds,
          'items/s built': count / buildSeconds,
          expansionSearch,
          'recall@10': report.recall,
          'HNSW queries/s': report.hnswQueriesPerSecond,
          'exact queries/s': report.exactQueriesPerSecond,
          speedup: report.hnswQueriesPerSecond / report.exactQueriesPerSecond,
        });
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  console.log(
    `\nHNSW (usearch, connectivity 16, expansionAdd 128, inner product on unit vectors; 2 threads)\n`,
  );
  console.log(markdownTable(hnswRows));
}

const file = writeResult(packageDir, SKIP_HNSW ? 'topk-exact' : 'topk', {
  items: ITEMS,
  dim: DIM,
  queries: QUERIES,
  k: K,
  data: `low-rank ${RANK} + noise ${NOISE}`,
  exact: exactRows,
  blockedOverPlain: batchPairs / baselinePairs,
  hnsw: hnswRows,
});
console.log(`\nwrote ${file}`);
