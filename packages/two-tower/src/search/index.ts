/**
 * @packageDocumentation
 * Top-K search alone: the exact index and dot-product top-K, and (Node) the HNSW index and usearch's
 * SIMD exact top-K. Nothing here reaches tfjs or onnx, so a process or worker thread that only
 * searches (a server's index worker) loads a few megabytes instead of the whole package. The same
 * exports are in `@rarefy/two-tower/node`.
 */

export type { TopKByDotProductOptions, TopKResult } from '../eval/topk.js';
export { topKByDotProduct } from '../eval/topk.js';
export type { ExactIndexOptions, SearchResult, TopKSearchIndex } from '../index/exact.js';
export { ExactIndex, normalizeRows } from '../index/exact.js';
export type {
  HnswIndexOptions,
  HnswLoadOptions,
  HnswRecallOptions,
  HnswRecallReport,
  TopKByDotProductNativeOptions,
} from '../index/hnsw.js';
export {
  HnswIndex,
  HnswUnavailableError,
  hnswRecallAgainstExact,
  topKByDotProductNative,
  USEARCH_VERSION,
} from '../index/hnsw.js';
