import { RarefyInputError, requireArgument } from '@rarefy/sampling-core';
import { type TopKResult, topKByDotProduct } from '../eval/topk.js';

/** The nearest items of one query, best first (only real items: no padding). */
export interface SearchResult {
  /** Item ids, best first. */
  readonly ids: string[];
  /** Item indices (positions in the index), best first. */
  readonly indices: Int32Array;
  /** Inner products of the (normalised, where the index normalises) query and items. */
  readonly scores: Float32Array;
}

/** What an exact or approximate top-K index answers. */
export interface TopKSearchIndex {
  /** Vector length. */
  readonly dim: number;
  /** Number of items. */
  readonly size: number;
  /** Whether vectors are L2-normalised before they are stored and before queries are scored. */
  readonly normalize: boolean;
  /** The k items with the largest inner product with `query` (a `dim`-vector). */
  search(query: Float32Array, k: number): SearchResult;
  /** {@link search} for each row of `queries` (`count x dim`, row-major). */
  searchBatch(queries: Float32Array, k: number): SearchResult[];
}

/**
 * Copies `vectors` (rows of `dim`) with every row scaled to unit L2 norm; all-zero rows stay zero.
 *
 * @param vectors - row-major `count x dim`
 * @param dim - row length
 * @returns the normalised copy
 * @example
 * ```ts
 * const unit = normalizeRows(itemEmbeddings, 64);
 * ```
 */
export function normalizeRows(vectors: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(vectors.length);
  for (let base = 0; base < vectors.length; base += dim) {
    let sum = 0;
    for (let t = 0; t < dim; t++) {
      const value = vectors[base + t] as number;
      sum += value * value;
    }
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let t = 0; t < dim; t++) out[base + t] = (vectors[base + t] as number) * scale;
  }
  return out;
}

/** Throws unless `vectors` is finite and a whole number of `dim` rows. @internal */
export function checkVectors(vectors: Float32Array, dim: number, name: string): number {
  if (vectors.length % dim !== 0) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `${name}: length ${vectors.length} is not a multiple of dim ${dim}`,
      `pass ${name} as a row-major count x ${dim} Float32Array`,
      { input: name, length: vectors.length, dim },
    );
  }
  for (let at = 0; at < vectors.length; at++) {
    if (!Number.isFinite(vectors[at] as number)) {
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `${name}: entry ${at} (row ${Math.floor(at / dim)}) is ${vectors[at]}`,
        'replace NaN / infinite embedding values (a diverged model?) before indexing or searching',
        { input: name, at },
      );
    }
  }
  return vectors.length / dim;
}

/** Throws unless `ids` has one entry per item. @internal */
export function checkIds(ids: readonly string[], count: number): void {
  if (ids.length !== count) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `ids: has ${ids.length} ids but there are ${count} item vectors`,
      'pass one id per item row, in row order (e.g. itemIds of the interaction data)',
      { input: 'ids', expected: count, actual: ids.length },
    );
  }
}

/** Options of {@link ExactIndex}. */
export interface ExactIndexOptions {
  /** Vector length. */
  dim: number;
  /** L2-normalise items and queries (inner product = cosine; default false: raw <u, v>). */
  normalize?: boolean;
  /** Items per scoring block of {@link topKByDotProduct}. */
  blockSize?: number;
}

/**
 * Exact maximum-inner-product search over item embeddings, on {@link topKByDotProduct}: every
 * search scores the whole catalogue, so results are exact (ties: lower index first). The serving
 * score of ALGORITHMS.md B.3 is the plain <u, v>; pass `normalize: true` only for raw vectors.
 * Browser-safe; the reference that `HnswIndex` (Node-only) is measured against.
 *
 * @example
 * ```ts
 * const index = new ExactIndex(itemEmbeddings, train.itemIds, { dim: 64 });
 * const { ids, scores } = index.search(userEmbedding, 10);
 * ```
 */
export class ExactIndex implements TopKSearchIndex {
  /** Vector length. */
  readonly dim: number;
  /** Number of items. */
  readonly size: number;
  /** Whether items and queries are L2-normalised. */
  readonly normalize: boolean;
  /** Item ids, by index. */
  readonly ids: readonly string[];
  /** The stored (possibly normalised) item vectors, `size x dim`. */
  readonly items: Float32Array;
  private readonly blockSize: number | undefined;

  /**
   * @param items - item vectors, `count x dim`, row-major (kept by reference unless normalised)
   * @param ids - one id per item row
   * @param options - dim, normalize, blockSize
   * @throws RarefyError `RAREFY_DIMENSION_MISMATCH` when the sizes disagree, `RAREFY_NON_FINITE` for
   *   NaN / infinite values
   */
  constructor(items: Float32Array, ids: readonly string[], options: ExactIndexOptions) {
    requireArgument(
      Number.isInteger(options.dim) && options.dim >= 1,
      'dim',
      `${options.dim} is not a positive integer`,
      'pass the embedding length',
    );
    this.dim = options.dim;
    this.size = checkVectors(items, this.dim, 'items');
    checkIds(ids, this.size);
    this.normalize = options.normalize ?? false;
    this.items = this.normalize ? normalizeRows(items, this.dim) : items;
    this.ids = ids;
    this.blockSize = options.blockSize;
  }

  /**
   * Top-K lists for many queries at once (the fast path: queries share each pass over the items),
   * in {@link TopKResult} form, padded with -1 when k exceeds the catalogue.
   *
   * @param queries - `count x dim`, row-major
   * @param k - items per query
   * @param exclude - optional ascending item indices to leave out, per query
   * @returns the lists
   */
  topK(
    queries: Float32Array,
    k: number,
    exclude?: (queryIndex: number) => Int32Array | undefined,
  ): TopKResult {
    checkVectors(queries, this.dim, 'queries');
    return topKByDotProduct({
      queries: this.normalize ? normalizeRows(queries, this.dim) : queries,
      items: this.items,
      dim: this.dim,
      k,
      ...(exclude ? { exclude } : {}),
      ...(this.blockSize !== undefined ? { blockSize: this.blockSize } : {}),
    });
  }

  /**
   * The k items with the largest inner product with `query`.
   *
   * @param query - a `dim`-vector
   * @param k - how many (fewer come back when the index is smaller)
   * @returns ids, indices and scores, best first
   * @throws RarefyError `RAREFY_DIMENSION_MISMATCH` when `query` is not `dim` long
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
   * {@link search} for each row of `queries`.
   *
   * @param queries - `count x dim`, row-major
   * @param k - items per query
   * @returns one result per query
   */
  searchBatch(queries: Float32Array, k: number): SearchResult[] {
    return resultsFromTopK(this.topK(queries, k), this.ids);
  }
}

/** Splits {@link TopKResult} rows into per-query results with ids, dropping padding. @internal */
export function resultsFromTopK(topK: TopKResult, ids: readonly string[]): SearchResult[] {
  const results: SearchResult[] = [];
  for (let base = 0; base < topK.indices.length; base += topK.k) {
    let count = 0;
    while (count < topK.k && (topK.indices[base + count] as number) >= 0) count++;
    const indices = topK.indices.slice(base, base + count);
    results.push({
      ids: Array.from(indices, (index) => ids[index] as string),
      indices,
      scores: topK.scores.slice(base, base + count),
    });
  }
  return results;
}
