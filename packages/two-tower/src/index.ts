/**
 * @packageDocumentation
 * Two-tower retrieval models trained with corrected negative sampling (ALGORITHMS.md part B),
 * browser-safe. Node-only parts (files, HNSW) are under `@rarefy/two-tower/node`.
 */

export type { EmbeddingSet, RetrievalExport } from './export/format.js';
export {
  bytesToFloat32,
  float32ToBytes,
  RETRIEVAL_FILES,
  retrievalExportContents,
  retrievalExportFromFiles,
} from './export/format.js';
export type { InteractionData } from './interactions.js';
export { itemCounts, selectInteractions } from './interactions.js';
