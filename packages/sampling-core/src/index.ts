/**
 * @packageDocumentation
 * Seeded randomness, samplers and the negative-sampling designs of Rarefy. No runtime dependencies;
 * runs in Node and in browsers.
 */

export type {
  ColumnBatch,
  ColumnData,
  ColumnSchema,
  ColumnType,
  DictionaryColumn,
  NumericColumnData,
  Pilot,
} from './batch.js';
export {
  batchDesignMatrix,
  batchLinearPredictor,
  batchLogisticProbability,
  columnsLinearPredictor,
} from './batch.js';
export type { DesignName, DesignScoreOptions } from './designs.js';
export { DESIGN_NAMES, designScores, optAMatrix, optANormFactor } from './designs.js';
export type { RarefyErrorCode, RarefyErrorDetails } from './errors.js';
export {
  isRarefyError,
  RarefyError,
  RarefyFitError,
  RarefyInputError,
  RarefyIoError,
  RarefySamplingError,
  requireArgument,
} from './errors.js';
export type { CholeskyResult } from './linalg.js';
export {
  addWeightedOuterProduct,
  cholesky,
  choleskyInverse,
  choleskySolve,
  multiplyMatrixVector,
  multiplySquare,
  symmetrizeFromLower,
} from './linalg.js';
export type { DesignMatrix } from './matrix.js';
export {
  designMatrix,
  INTERCEPT_NAME,
  linearPredictor,
  logisticProbabilities,
  logit,
  selectRows,
  sigmoid,
} from './matrix.js';
export type { PilotDraw, PilotOptions } from './pilot.js';
export { drawBalancedPilot, PilotReservoir } from './pilot.js';
export { poissonSample } from './poisson.js';
export type { Rng } from './rng.js';
export { createRng, sampleWithoutReplacement, shuffleInPlace } from './rng.js';
export type { PoissonStreamTotals, SampleResult } from './sample.js';
export {
  logisticDesignScores,
  PoissonStreamSampler,
  sampleWithScores,
  scoreAndSampleLogistic,
} from './sample.js';
export type { ExactScaleInputs, ExactScaleSetup, ScaleOptions, ScaleSolution } from './scale.js';
export { clampKeepProbability, exactScaleSetup, keepProbability, solveScale } from './scale.js';
export type { SimulatedData, SimulateRareEventsOptions } from './simulate.js';
export { simulateRareEvents } from './simulate.js';
export { stratifiedSplit } from './split.js';
export type { ClassCounts } from './validate.js';
export { countClasses, requireBothClasses, validateDesignMatrix } from './validate.js';
