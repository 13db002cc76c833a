/**
 * @packageDocumentation
 * The Node-only part of `@rarefy/two-tower`: retrieval export folders on disk and the HNSW index.
 * Everything browser-safe is re-exported too.
 */

export * from '../index.js';
export { readRetrievalExport, writeRetrievalExport } from './export.js';
