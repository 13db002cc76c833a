/**
 * @packageDocumentation
 * The Node-only part of `@rarefy/two-tower`: retrieval export folders on disk and the HNSW index.
 * Everything browser-safe is re-exported too.
 */

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
export * from '../index.js';
export { readRetrievalExport, writeRetrievalExport } from './export.js';
