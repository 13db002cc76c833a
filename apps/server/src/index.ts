/**
 * @packageDocumentation
 * Serve corrected rare-event probabilities and two-tower recommendations over HTTP: Fastify 5 with
 * JSON-schema validated endpoints (OpenAPI at `/docs`), Prometheus metrics, a bounded number of
 * requests in flight (503 with Retry-After beyond it), atomic model reload and draining shutdown.
 * `rarefy serve` runs it; {@link createServer} embeds it in another Node service or a test.
 */

export { ConcurrencyLimiter } from './concurrency.js';
export type {
  ErrorResponseBody,
  RarefyServerErrorOptions,
  ServerErrorCode,
  ValidationIssue,
} from './errors.js';
export { fieldName, isRarefyServerError, RarefyServerError, validationError } from './errors.js';
export type { ServedModelFacts } from './metrics.js';
export { LATENCY_BUCKETS_SECONDS, ServerMetrics } from './metrics.js';
export type {
  EmbeddingTable,
  FeatureColumn,
  ModelLease,
  ModelLoadOptions,
  ModelSwapListener,
  RetrievalModel,
  ScoringModel,
  ServedModel,
  ServedModelBase,
} from './model-state.js';
export { disposeServedModel, loadServedModel, ModelState } from './model-state.js';
export type {
  HnswOptions,
  IndexKind,
  RecommendIndex,
  RecommendIndexOptions,
  SearchResult,
} from './recommend-index.js';
export {
  AUTO_EXACT_MAX_ITEMS,
  createRecommendIndex,
  DEFAULT_EXPANSION_SEARCH,
  DEFAULT_HNSW_SEARCH_THREADS,
  ExactRecommendIndex,
  HnswRecommendIndex,
} from './recommend-index.js';
export type { ReloadRequest, ReloadResponse } from './routes/admin.js';
export type { RequestLimits } from './routes/context.js';
export type { EmbedRequest, EmbedResponse } from './routes/embed.js';
export type { ModelInfo } from './routes/health.js';
export { modelInfo } from './routes/health.js';
export type {
  RecommendRequest,
  RecommendResponse,
  ScoredItem,
  SimilarItemsRequest,
} from './routes/recommend.js';
export { DEFAULT_K } from './routes/recommend.js';
export type { ScoreRequest, ScoreResponse } from './routes/score.js';
export type { ListenOptions, RarefyServer, RarefyServerState, ServerOptions } from './server.js';
export { createServer, DEFAULT_HOST, DEFAULT_PORT, listen } from './server.js';
export type { FeatureRow, FeatureValue } from './tower.js';
export { OnnxTower } from './tower.js';
