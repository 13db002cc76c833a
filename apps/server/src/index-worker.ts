/**
 * The worker thread of the recommendation indexes (a side-effect module: it answers on its parent
 * port). The search itself is @rarefy/two-tower's, from its search-only entry `@rarefy/two-tower/search`
 * (no tfjs or onnx in the thread): `topKByDotProductNative` (exact, usearch's SIMD
 * brute force over this thread's copy of the items) and `HnswIndex` (built here and saved, or a saved
 * graph memory-mapped). What is the server's own: leaving the excluded items out
 * ({@link searchExcluding}) and answering one job at a time, off the event loop. Jobs:
 * - `exact`: exact top-K of one query over the items;
 * - `hnsw`: top-K of one query from the mapped graph;
 * - `build`: the HNSW graph of the items, saved to a file (building 100,000 x 64 takes tens of
 *   seconds, which must not block serving);
 * - `ping`: answers once the worker is ready (its graph mapped).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HnswIndex, topKByDotProductNative } from '@rarefy/two-tower/search';
import { type SearchResult, searchExcluding } from './exclusion.js';

/** What a worker thread starts with: the items (a copy) and/or a saved HNSW graph to memory-map. */
export interface IndexWorkerSetup {
  readonly dimension: number;
  readonly items?: Float32Array;
  readonly graph?: { readonly path: string; readonly expansionSearch: number };
}

/** HNSW graph tuning (left out: two-tower's defaults). */
export interface GraphTuning {
  readonly connectivity?: number;
  readonly expansionAdd?: number;
  readonly expansionSearch: number;
}

/** What a worker is asked to do. */
export type IndexWorkerRequest =
  | { readonly type: 'exact'; readonly query: Float32Array; readonly k: number; readonly exclude: Int32Array }
  | {
      readonly type: 'hnsw';
      readonly query: Float32Array;
      readonly k: number;
      readonly exclude: Int32Array;
      /** The most candidates to ask the graph for before settling for fewer than k. */
      readonly limit: number;
    }
  | { readonly type: 'build'; readonly path: string; readonly tuning: GraphTuning; readonly threads: number }
  | { readonly type: 'ping' };

/** A request with the id its reply carries. */
export type IndexWorkerJob = IndexWorkerRequest & { readonly id: number };

/** The reply to a job: its result or the error's message. */
export interface IndexWorkerReply {
  readonly id: number;
  readonly result?: SearchResult | { readonly size: number };
  readonly error?: string;
}

const port = parentPort;
if (port === null) {
  throw new Error('index-worker: this module runs only as a worker thread of a recommendation index');
}
const { dimension, items, graph } = workerData as IndexWorkerSetup;
const count = items === undefined ? 0 : items.length / dimension;
const mapped =
  graph === undefined
    ? null
    : HnswIndex.load(graph.path, { view: true, expansionSearch: graph.expansionSearch, threads: 1 });

function answer(job: IndexWorkerJob): IndexWorkerReply['result'] {
  switch (job.type) {
    case 'exact':
      // The items are a whole array (offset 0), so two-tower hands them to usearch without a copy.
      return searchExcluding(
        (asked) =>
          topKByDotProductNative({
            queries: job.query,
            items: items as Float32Array,
            dim: dimension,
            k: asked,
            threads: 1,
          }),
        count,
        job.k,
        job.exclude,
      );
    case 'hnsw': {
      const index = mapped as HnswIndex;
      return searchExcluding(
        (asked) => index.search(job.query, asked),
        index.size,
        job.k,
        job.exclude,
        job.limit,
      );
    }
    case 'build': {
      const ids = Array.from({ length: count }, (_, row) => String(row));
      // The embeddings are unit vectors already: inner product, no normalisation (scores are <u, v>).
      new HnswIndex({ dim: dimension, normalize: false, threads: job.threads, ...job.tuning })
        .build(items as Float32Array, ids)
        .save(job.path);
      return { size: count };
    }
    case 'ping':
      return { size: mapped === null ? count : mapped.size };
  }
}

port.on('message', (job: IndexWorkerJob) => {
  let reply: IndexWorkerReply;
  try {
    reply = { id: job.id, result: answer(job) };
  } catch (error) {
    reply = { id: job.id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
