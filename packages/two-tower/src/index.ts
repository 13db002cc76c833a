/**
 * @packageDocumentation
 * Two-tower retrieval models trained with corrected negative sampling (ALGORITHMS.md part B),
 * browser-safe. Node-only parts (files, HNSW) are under `@rarefy/two-tower/node`.
 */

export type { PopularityDistributionOptions } from './alias.js';
export { AliasSampler, popularityDistribution } from './alias.js';
export type { BaselineTopKOptions } from './eval/baselines.js';
export { itemKnnTopK, popularityTopK } from './eval/baselines.js';
export type {
  EmbeddingEvaluation,
  EvaluateRankingsOptions,
  EvaluateRetrievalOptions,
  RetrievalEvaluation,
} from './eval/evaluate.js';
export { DEFAULT_CUTOFFS, evaluateRankings, evaluateRetrieval } from './eval/evaluate.js';
export type {
  EvaluationProtocol,
  PopularityBucketName,
  PopularityBucketRecall,
  RecallByPopularityBucketOptions,
  RetrievalMetricKey,
  RetrievalMetricName,
  RetrievalMetrics,
  RetrievalMetricsOptions,
} from './eval/metrics.js';
export {
  catalogueCoverage,
  POPULARITY_BUCKETS,
  popularityBuckets,
  recallByPopularityBucket,
  retrievalMetrics,
} from './eval/metrics.js';
export type { InteractionSplit, PerUserSplitOptions, TfrsSplitOptions } from './eval/split.js';
export { perUserSplit, perUserSplitCounts, tfrsSplit } from './eval/split.js';
export type { TopKByDotProductOptions, TopKResult } from './eval/topk.js';
export { topKByDotProduct } from './eval/topk.js';
export type { SparseLists, SparseListsOptions } from './eval/user-items.js';
export { itemUserLists, userItemLists, usersWithInteractions } from './eval/user-items.js';
export type {
  ExperimentTraining,
  RetrievalExperimentOptions,
  RetrievalExperimentResult,
} from './experiment.js';
export { runRetrievalExperiment } from './experiment.js';
export type { EmbeddingSet, RetrievalExport } from './export/format.js';
export {
  bytesToFloat32,
  float32ToBytes,
  RETRIEVAL_FILES,
  retrievalExportContents,
  retrievalExportFromFiles,
} from './export/format.js';
export type { ModelExportOptions } from './export/from-model.js';
export { modelExport } from './export/from-model.js';
export type { TowerToOnnxOptions } from './export/onnx.js';
export { TOWER_METADATA, towerToOnnx } from './export/onnx.js';
export type {
  CategoricalTowerInput,
  IdTowerInput,
  MultiHotTowerInput,
  NumericTowerInput,
  TowerFeed,
  TowerFeeds,
  TowerInput,
  TowerInputHashing,
  TowerInputRow,
  TowerInputsDescription,
} from './export/tower-inputs.js';
export {
  encodeTowerInputs,
  parseTowerInputsDescription,
  retrievalTowerInputs,
  TOWER_INPUT_NAMES,
  TOWER_INPUTS_FORMAT,
  TOWER_INPUTS_VERSION,
  TOWER_OUTPUT,
  towerInputsDescription,
} from './export/tower-inputs.js';
export type { FrequencyBucketState, StreamingFrequencyOptions } from './frequency-estimator.js';
export { fmix32, MAX_BATCH_PROBABILITY, StreamingFrequencyEstimator } from './frequency-estimator.js';
export type { ExactIndexOptions, SearchResult, TopKSearchIndex } from './index/exact.js';
export { ExactIndex, normalizeRows } from './index/exact.js';
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
export type {
  CategoricalFeatureSpec,
  FeatureTable,
  FeatureValue,
  IdFeatureSpec,
  MultiHotFeatureSpec,
  NumericFeatureSpec,
  ResolvedTowerSpec,
  TowerSpec,
} from './model/features.js';
export type { FromWeightsOptions, TwoTowerModelOptions } from './model/two-tower-model.js';
export { DEFAULT_TEMPERATURE, TwoTowerModel } from './model/two-tower-model.js';
export type { EmbeddingWeights, LayerWeights, TowerWeights, TwoTowerWeights } from './model/weights.js';
export type { DownsampledPositives, DownsamplePositivesOptions } from './positive-downsampling.js';
export {
  DEFAULT_DOWNSAMPLING_A,
  downsamplePositives,
  positiveKeepProbabilities,
} from './positive-downsampling.js';
export type {
  HardNegativeRound,
  MineHardNegativesOptions,
  MiningEmbeddings,
  MixHardAndEasyOptions,
  TrainWithHardNegativesOptions,
  TrainWithHardNegativesResult,
} from './train/hard-negatives.js';
export {
  DEFAULT_EASY_RATIO,
  DEFAULT_HARD_NEGATIVE_RANKS,
  MinedNegatives,
  mineHardNegatives,
  mixHardAndEasy,
  trainWithHardNegatives,
} from './train/hard-negatives.js';
export type { NegativeSelection } from './train/loss.js';
export type { NegativeOptions } from './train/negatives.js';
export type { SyntheticCatalogue, SyntheticCatalogueOptions } from './train/synthetic.js';
export { syntheticCatalogue } from './train/synthetic.js';
export type {
  LogQMode,
  TrainTwoTowerOptions,
  TrainTwoTowerResult,
  TwoTowerHistory,
  TwoTowerProgress,
  TwoTowerValidation,
} from './train/train.js';
export { trainTwoTower } from './train/train.js';
