import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import {
  createRng,
  isRarefyError,
  RarefyInputError,
  RarefyIoError,
  requireArgument,
  sampleWithoutReplacement,
} from '@rarefy/sampling-core';
import type { BatchMatches, Matches, Index as UsearchIndex } from 'usearch';
import { checkTopKArguments, type TopKResult } from '../eval/topk.js';
import {
  checkIds,
  checkVectors,
  ExactIndex,
  normalizeRows,
  type SearchResult,
  type TopKSearchIndex,
} from './exact.js';

type UsearchModule = typeof import('usearch');

/** The usearch version this code is written and tested against. */
export const USEARCH_VERSION = '2.26.2';

/**
 * usearch could not be loaded (not installed, or no native binary for this platform). Code
 * `RAREFY_IO_ERROR`, input `usearch`; the fix says how to install it.
 */
export class HnswUnavailableError extends RarefyIoError {}

let usearchModule: UsearchModule | undefined;

/**
 * Loads usearch through its CommonJS entry. (Its ESM entry finds the native binary with the
 * `bindings` package's stack-trace lookup, which recurses without end under Node 20's ESM loader;
 * the CommonJS entry resolves `__dirname` directly.)
 *
 * @throws HnswUnavailableError when the package or its native binary cannot be loaded
 */
function loadUsearch(): UsearchModule {
  if (usearchModule !== undefined) return usearchModule;
  try {
    const require = createRequire(import.meta.url);
    usearchModule = require('usearch') as UsearchModule;
    return usearchModule;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new HnswUnavailableError(
      'RAREFY_IO_ERROR',
      `usearch: the HNSW library could not be loaded (${reason})`,
      `install it beside @rarefy/two-tower: \`pnpm add usearch@${USEARCH_VERSION}\` (or npm install); it ships prebuilt binaries for linux-x64/arm64, macOS and win32-x64, other platforms need a C++ toolchain for node-gyp. ExactIndex needs no native code`,
      { input: 'usearch', cause: reason },
    );
  }
}

/** Options of {@link HnswIndex}. */
export interface HnswIndexOptions {
  /** Vector length. */
  dim: number;
  /** Graph degree M: links per node (default 16). More: better recall, more memory, slower build. */
  connectivity?: number;
  /** Candidate list size while inserting, efConstruction (default 128). */
  expansionAdd?: number;
  /**
   * Candidate list size while searching, ef (default 128). Measured recall@10: 20k random 32-dim
   * unit vectors 0.93 at usearch's own default of 64, 0.99 at 128; 1e6 embedding-like 64-dim
   * vectors (intrinsic dimension 16) 0.986 at 64, 0.998 at 128; 20k i.i.d. uniform 64-dim vectors
   * (the worst case) 0.89 at 128, 0.97 at 256. Can be changed at load time.
   */
  expansionSearch?: number;
  /** L2-normalise items and queries, so the inner product is the cosine (default true). */
  normalize?: boolean;
  /** Threads for build and batch search (default 0: usearch picks, all cores). */
  threads?: number;
}

/** The manifest written beside a saved index (`<path>.json`). */
interface HnswManifest {
  format: 'rarefy-hnsw';
  version: 1;
  usearch: string;
  metric: 'ip';
  dim: number;
  normalize: boolean;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  size: number;
  indexBytes: number;
  ids: string[];
}

/** Options of {@link HnswIndex.load}. */
export interface HnswLoadOptions {
  /** Search-time candidate list size (default: the saved one). */
  expansionSearch?: number;
  /** Threads for batch search (default 0: all cores). */
  threads?: number;
  /** Memory-map the file instead of reading it into memory (read-only; default false). */
  view?: boolean;
}

/** Checks an optional positive-integer option. */
function positiveOption(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  requireArgument(
    Number.isInteger(resolved) && resolved >= 1,
    name,
    `${resolved} is not a positive integer`,
    `leave it out (${fallback}) or pass a positive integer`,
  );
  return resolved;
}

/** Writes a file through `write(temporary)`, fsyncs it and renames it over `path`. */
function replaceAtomically(path: string, write: (temporary: string) => void): void {
  const temporary = `${path}.rarefy-tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    write(temporary);
    const handle = openSync(temporary, 'r+');
    try {
      fsyncSync(handle);
    } finally {
      closeSync(handle);
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // The temporary file was never created or is already gone.
    }
    throw error;
  }
}

/**
 * One query's matches of a usearch search that asked for `asked` per query: item indices (the keys)
 * and inner products, best first.
 */
function queryMatches(
  found: Matches | BatchMatches,
  query: number,
  asked: number,
): { indices: Int32Array; scores: Float32Array } {
  const got = 'counts' in found ? Number(found.counts[query]) : found.keys.length;
  const base = 'counts' in found ? query * asked : 0;
  const indices = new Int32Array(got);
  const scores = new Float32Array(got);
  for (let at = 0; at < got; at++) {
    indices[at] = Number(found.keys[base + at]);
    // usearch's inner-product distance is 1 - <q, v>.
    scores[at] = 1 - (found.distances[base + at] as number);
  }
  return { indices, scores };
}

/**
 * Approximate maximum-inner-product search with HNSW graphs (usearch, Node-only): metric inner
 * product over L2-normalised embeddings (the towers' outputs are unit vectors, so this is the
 * cosine and the serving score <u, v>). Build once with {@link HnswIndex.build}; save and load with
 * a JSON manifest beside the index file. Check its recall against {@link ExactIndex} with
 * {@link hnswRecallAgainstExact}.
 *
 * @example
 * ```ts
 * import { HnswIndex } from '@rarefy/two-tower/node';
 * const index = new HnswIndex({ dim: 64 }).build(itemEmbeddings, itemIds);
 * const { ids } = index.search(userEmbedding, 10);
 * index.save('items.usearch'); // also writes items.usearch.json
 * const again = HnswIndex.load('items.usearch');
 * ```
 */
export class HnswIndex implements TopKSearchIndex {
  /** Vector length. */
  readonly dim: number;
  /** Whether items and queries are L2-normalised. */
  readonly normalize: boolean;
  /** Graph degree M. */
  readonly connectivity: number;
  /** Insert-time candidate list size. */
  readonly expansionAdd: number;
  /** Search-time candidate list size. */
  readonly expansionSearch: number;
  /** Threads for build and batch search (0: all cores). */
  readonly threads: number;
  private readonly index: UsearchIndex;
  private itemIds: readonly string[] = [];

  /**
   * Creates an empty index (call {@link HnswIndex.build}).
   *
   * @param options - dim, connectivity, expansionAdd, expansionSearch, normalize, threads
   * @throws HnswUnavailableError when usearch cannot be loaded; RarefyError
   *   `RAREFY_INVALID_ARGUMENT` for a bad option
   */
  constructor(options: HnswIndexOptions) {
    requireArgument(
      Number.isInteger(options.dim) && options.dim >= 1,
      'dim',
      `${options.dim} is not a positive integer`,
      'pass the embedding length',
    );
    this.dim = options.dim;
    this.connectivity = positiveOption(options.connectivity, 16, 'connectivity');
    this.expansionAdd = positiveOption(options.expansionAdd, 128, 'expansionAdd');
    this.expansionSearch = positiveOption(options.expansionSearch, 128, 'expansionSearch');
    this.normalize = options.normalize ?? true;
    this.threads = options.threads ?? 0;
    requireArgument(
      Number.isInteger(this.threads) && this.threads >= 0,
      'threads',
      `${this.threads} is not a non-negative integer`,
      'leave it out (0: all cores) or pass a thread count',
    );
    const usearch = loadUsearch();
    this.index = new usearch.Index({
      dimensions: this.dim,
      metric: usearch.MetricKind.IP,
      quantization: usearch.ScalarKind.F32,
      connectivity: this.connectivity,
      expansion_add: this.expansionAdd,
      expansion_search: this.expansionSearch,
      multi: false,
    });
  }

  /** Number of items indexed. */
  get size(): number {
    return this.index.size();
  }

  /** Item ids, by index. */
  get ids(): readonly string[] {
    return this.itemIds;
  }

  /**
   * Inserts every item (the graph is built as they go in). An index is built once.
   *
   * @param items - item vectors, `count x dim`, row-major
   * @param ids - one id per item row
   * @returns this index
   * @throws RarefyError `RAREFY_INVALID_ARGUMENT` when the index already holds items,
   *   `RAREFY_DIMENSION_MISMATCH` / `RAREFY_NON_FINITE` for bad vectors
   */
  build(items: Float32Array, ids: readonly string[]): this {
    requireArgument(
      this.index.size() === 0,
      'HnswIndex',
      `already holds ${this.index.size()} items`,
      'build a new HnswIndex for a new set of items',
    );
    const count = checkVectors(items, this.dim, 'items');
    checkIds(ids, count);
    if (count === 0) return this;
    const keys = new BigUint64Array(count);
    for (let item = 0; item < count; item++) keys[item] = BigInt(item);
    this.index.add(keys, this.normalize ? normalizeRows(items, this.dim) : items, this.threads);
    this.itemIds = [...ids];
    return this;
  }

  /**
   * The (about) k items with the largest inner product with `query`.
   *
   * @param query - a `dim`-vector
   * @param k - how many (fewer come back when the index is smaller)
   * @returns ids, indices and scores (inner products), best first
   */
  search(query: Float32Array, k: number): SearchResult {
    if (query.length !== this.dim) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `query: has ${query.length} values but the index holds ${this.dim}-dim vectors`,
        `pass one ${this.dim}-value Float32Array (searchBatch takes several)`,
        { input: 'query' },
      );
    }
    return this.searchBatch(query, k)[0] as SearchResult;
  }

  /**
   * {@link HnswIndex.search} for each row of `queries` (searched in parallel by usearch).
   *
   * @param queries - `count x dim`, row-major
   * @param k - items per query
   * @returns one result per query
   */
  searchBatch(queries: Float32Array, k: number): SearchResult[] {
    requireArgument(
      Number.isInteger(k) && k >= 1,
      'k',
      `${k} is not a positive integer`,
      'ask for at least one item',
    );
    const count = checkVectors(queries, this.dim, 'queries');
    requireArgument(
      this.index.size() > 0,
      'HnswIndex',
      'is empty',
      'call build(items, ids) (or HnswIndex.load) before searching',
    );
    if (count === 0) return [];
    const input = this.normalize ? normalizeRows(queries, this.dim) : queries;
    const found = this.index.search(input, k, this.threads) as Matches | BatchMatches;
    const results: SearchResult[] = [];
    for (let query = 0; query < count; query++) {
      const { indices, scores } = queryMatches(found, query, k);
      results.push({ ids: Array.from(indices, (index) => this.itemIds[index] as string), indices, scores });
    }
    return results;
  }

  /**
   * Saves the index to `path` (usearch's format) and a manifest with the ids and settings to
   * `<path>.json`. Each file is written atomically: to a temporary file beside it, flushed, then
   * renamed over the target; the manifest records the index file's size, so {@link HnswIndex.load}
   * notices a pair that does not belong together.
   *
   * @param path - the index file to create or replace
   * @throws RarefyIoError `RAREFY_IO_ERROR` naming the path when a file cannot be written
   */
  save(path: string): void {
    try {
      let indexBytes = 0;
      replaceAtomically(path, (temporary) => {
        this.index.save(temporary);
        indexBytes = statSync(temporary).size;
      });
      const manifest: HnswManifest = {
        format: 'rarefy-hnsw',
        version: 1,
        usearch: USEARCH_VERSION,
        metric: 'ip',
        dim: this.dim,
        normalize: this.normalize,
        connectivity: this.connectivity,
        expansionAdd: this.expansionAdd,
        expansionSearch: this.expansionSearch,
        size: this.index.size(),
        indexBytes,
        ids: [...this.itemIds],
      };
      replaceAtomically(`${path}.json`, (temporary) =>
        writeFileSync(temporary, `${JSON.stringify(manifest)}\n`),
      );
    } catch (error) {
      if (isRarefyError(error)) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${path}: the HNSW index could not be written (${reason})`,
        'check that the folder exists, is writable and has space',
        { input: path },
      );
    }
  }

  /**
   * Loads an index saved by {@link HnswIndex.save} (`path` and `<path>.json`).
   *
   * @param path - the index file
   * @param options - expansionSearch (default: the saved one), threads, view (memory-map)
   * @returns the index, ready to search
   * @throws RarefyIoError `RAREFY_IO_ERROR` when a file cannot be read or the pair does not match,
   *   `RAREFY_PARSE_ERROR` for a manifest that is not one; HnswUnavailableError without usearch
   */
  static load(path: string, options: HnswLoadOptions = {}): HnswIndex {
    const manifestPath = `${path}.json`;
    let manifest: HnswManifest;
    let indexBytes: number;
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as HnswManifest;
      indexBytes = statSync(path).size;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const parse = error instanceof SyntaxError;
      throw new RarefyIoError(
        parse ? 'RAREFY_PARSE_ERROR' : 'RAREFY_IO_ERROR',
        `${parse ? manifestPath : path}: the HNSW index could not be read (${reason})`,
        'pass the path given to HnswIndex.save; it needs both the index file and <path>.json',
        { input: parse ? manifestPath : path },
      );
    }
    if (
      manifest === null ||
      typeof manifest !== 'object' ||
      manifest.format !== 'rarefy-hnsw' ||
      manifest.version !== 1 ||
      !Array.isArray(manifest.ids) ||
      typeof manifest.dim !== 'number'
    ) {
      throw new RarefyIoError(
        'RAREFY_PARSE_ERROR',
        `${manifestPath}: is not a version-1 rarefy-hnsw manifest`,
        'pass the path of an index written by HnswIndex.save',
        { input: manifestPath },
      );
    }
    if (manifest.indexBytes !== indexBytes || manifest.ids.length !== manifest.size) {
      throw new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${path}: the index file has ${indexBytes} bytes but its manifest expects ${manifest.indexBytes} (or the ids do not match the size)`,
        'the two files come from different saves: save the index again',
        { input: path },
      );
    }
    const index = new HnswIndex({
      dim: manifest.dim,
      connectivity: manifest.connectivity,
      expansionAdd: manifest.expansionAdd,
      expansionSearch: options.expansionSearch ?? manifest.expansionSearch,
      normalize: manifest.normalize,
      threads: options.threads ?? 0,
    });
    try {
      if (options.view) index.index.view(path);
      else index.index.load(path);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${path}: usearch could not load the index (${reason})`,
        'save the index again with HnswIndex.save',
        { input: path },
      );
    }
    if (index.index.size() !== manifest.size || index.index.dimensions() !== manifest.dim) {
      throw new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${path}: holds ${index.index.size()} vectors of ${index.index.dimensions()} dims, the manifest says ${manifest.size} of ${manifest.dim}`,
        'the two files come from different saves: save the index again',
        { input: path },
      );
    }
    index.itemIds = manifest.ids;
    return index;
  }
}

/** Options of {@link topKByDotProductNative}. */
export interface TopKByDotProductNativeOptions {
  /** Query vectors, `queryCount x dim`, row-major. */
  queries: Float32Array;
  /** Item vectors, `itemCount x dim`, row-major (a whole array avoids a copy per call: see below). */
  items: Float32Array;
  /** Vector length. */
  dim: number;
  /** How many items to keep per query (a positive integer; may exceed the catalogue). */
  k: number;
  /** Threads (default 0: usearch picks, all cores; 1 for a lone query on a thread of its own). */
  threads?: number;
}

/**
 * Full-catalogue top-K by dot product with usearch's SIMD brute force (Node-only): the
 * {@link TopKResult} of `topKByDotProduct` (best first, padded with index -1 and score -Infinity
 * past the catalogue), several times faster per query, without exclusion lists. At equal scores the
 * order is usearch's; scores are `1 - distance` of its inner-product metric (float32).
 *
 * usearch 2.26.2's `exactSearch` reads a typed array from the start of its buffer, ignoring the
 * byte offset of a view, so a view (`subarray` of a larger array) is copied first: keep the items in
 * an array of their own to search them without a copy per call.
 *
 * @param options - queries, items, dim, k, threads
 * @returns the top-K lists
 * @throws HnswUnavailableError when usearch cannot be loaded; RarefyError `RAREFY_INVALID_ARGUMENT`
 *   for a bad dim, k or threads, `RAREFY_DIMENSION_MISMATCH` when a vector array is not a multiple of dim
 * @example
 * ```ts
 * const { indices, scores } = topKByDotProductNative({ queries: user, items: itemEmbeddings, dim: 64, k: 10 });
 * ```
 */
export function topKByDotProductNative(options: TopKByDotProductNativeOptions): TopKResult {
  const { dim, k } = options;
  const threads = options.threads ?? 0;
  checkTopKArguments(options.queries, options.items, dim, k);
  requireArgument(
    Number.isInteger(threads) && threads >= 0,
    'threads',
    `${threads} is not a non-negative integer`,
    'leave it out (0: all cores) or pass a thread count',
  );
  const itemCount = options.items.length / dim;
  const queryCount = options.queries.length / dim;
  const indices = new Int32Array(queryCount * k).fill(-1);
  const scores = new Float32Array(queryCount * k).fill(Number.NEGATIVE_INFINITY);
  if (itemCount === 0 || queryCount === 0) return { indices, scores, k };
  const whole = (values: Float32Array): Float32Array => (values.byteOffset === 0 ? values : values.slice());
  const usearch = loadUsearch();
  const asked = Math.min(k, itemCount);
  const found = usearch.exactSearch(
    whole(options.items),
    whole(options.queries),
    dim,
    asked,
    usearch.MetricKind.IP,
    threads,
  ) as Matches | BatchMatches;
  for (let query = 0; query < queryCount; query++) {
    const matches = queryMatches(found, query, asked);
    indices.set(matches.indices, query * k);
    scores.set(matches.scores, query * k);
  }
  return { indices, scores, k };
}

/** Options of {@link hnswRecallAgainstExact}. */
export interface HnswRecallOptions {
  /** The approximate index. */
  index: HnswIndex;
  /** The vectors it was built from (`index.size x dim`): the exact reference is built over them. */
  items: Float32Array;
  /** Candidate queries, `count x dim`; a seeded sample of `sampleSize` of them is used. */
  queries: Float32Array;
  /** Cutoff (default 10). */
  k?: number;
  /** Queries to sample (default 1000; all when fewer). */
  sampleSize?: number;
  /** Seed of the sample (default 42). */
  seed?: number | string;
}

/** What {@link hnswRecallAgainstExact} measured. */
export interface HnswRecallReport {
  /** Mean over queries of |HNSW top k and exact top k| / |exact top k|. */
  readonly recall: number;
  /** The cutoff. */
  readonly k: number;
  /** Queries measured. */
  readonly queries: number;
  /** Queries per second of the exact batch search. */
  readonly exactQueriesPerSecond: number;
  /** Queries per second of the HNSW batch search. */
  readonly hnswQueriesPerSecond: number;
}

/**
 * Recall@k of an HNSW index against exact search ({@link ExactIndex}, same normalisation) on a
 * seeded sample of queries: per query, the share of the exact top k that HNSW also returns,
 * averaged. The target for serving is recall@10 >= 0.95; raise `expansionSearch` (at load time) or
 * `connectivity` (at build time) when it falls short.
 *
 * @param options - index, items, queries, k, sampleSize, seed
 * @returns the recall and both search speeds
 * @throws RarefyError `RAREFY_DIMENSION_MISMATCH` when `items` does not match the index
 * @example
 * ```ts
 * const report = hnswRecallAgainstExact({ index, items: itemEmbeddings, queries: userEmbeddings });
 * report.recall; // e.g. 0.98
 * ```
 */
export function hnswRecallAgainstExact(options: HnswRecallOptions): HnswRecallReport {
  const { index, items } = options;
  const k = positiveOption(options.k, 10, 'k');
  const sampleSize = positiveOption(options.sampleSize, 1000, 'sampleSize');
  const dim = index.dim;
  const itemCount = checkVectors(items, dim, 'items');
  if (itemCount !== index.size) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `items: has ${itemCount} vectors but the index holds ${index.size}`,
      'pass the very item vectors the index was built from',
      { input: 'items' },
    );
  }
  const available = checkVectors(options.queries, dim, 'queries');
  requireArgument(available > 0, 'queries', 'is empty', 'pass at least one query vector');
  let queries = options.queries;
  if (available > sampleSize) {
    const rows = sampleWithoutReplacement(available, sampleSize, createRng(options.seed ?? 42));
    queries = new Float32Array(sampleSize * dim);
    rows.forEach((row, at) => {
      queries.set(options.queries.subarray(row * dim, row * dim + dim), at * dim);
    });
  }
  const count = queries.length / dim;
  const exact = new ExactIndex(items, index.ids, { dim, normalize: index.normalize });
  let started = performance.now();
  const truth = exact.topK(queries, k);
  const exactSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const approximate = index.searchBatch(queries, k);
  const hnswSeconds = (performance.now() - started) / 1000;
  let recallSum = 0;
  for (let query = 0; query < count; query++) {
    const expected = new Set<number>();
    for (let at = query * k; at < query * k + k; at++) {
      const item = truth.indices[at] as number;
      if (item >= 0) expected.add(item);
    }
    let found = 0;
    for (const item of (approximate[query] as SearchResult).indices) if (expected.has(item)) found++;
    recallSum += found / expected.size;
  }
  return {
    recall: recallSum / count,
    k,
    queries: count,
    exactQueriesPerSecond: count / Math.max(exactSeconds, 1e-9),
    hnswQueriesPerSecond: count / Math.max(hnswSeconds, 1e-9),
  };
}
