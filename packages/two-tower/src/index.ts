/**
 * @packageDocumentation
 * Two-tower retrieval models trained with corrected negative sampling (ALGORITHMS.md part B),
 * browser-safe. Node-only parts (files, HNSW) are under `@rarefy/two-tower/node`.
 */

export type { PopularityDistributionOptions } from './alias.js';
export { AliasSampler, popularityDistribution } from './alias.js';
export type { EmbeddingSet, RetrievalExport } from './export/format.js';
export {
  bytesToFloat32,
  float32ToBytes,
  RETRIEVAL_FILES,
  retrievalExportContents,
  retrievalExportFromFiles,
} from './export/format.js';
export type { FrequencyBucketState, StreamingFrequencyOptions } from './frequency-estimator.js';
export { fmix32, MAX_BATCH_PROBABILITY, StreamingFrequencyEstimator } from './frequency-estimator.js';
export type { InteractionData } from './interactions.js';
export { itemCounts, selectInteractions } from './interactions.js';
export type {
  BuiltInteractions,
  ImpressionCheckOptions,
  InteractionColumns,
  InteractionPurpose,
  LabelValue,
} from './labels.js';
export { buildInteractions, DEFAULT_IMPRESSION_LABELS, rejectImpressionNegatives } from './labels.js';
export type { ItemFrequency, NegativeSource } from './logq.js';
export { columnExpectedCounts, columnLogQ, ExactFrequency, expectedCounts, logQ } from './logq.js';
export { accidentalHitMask, knownPositiveMask, UserItemSet } from './masking.js';
export type { DownsampledPositives, DownsamplePositivesOptions } from './positive-downsampling.js';
export {
  DEFAULT_DOWNSAMPLING_A,
  downsamplePositives,
  positiveKeepProbabilities,
} from './positive-downsampling.js';
