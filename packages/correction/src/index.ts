/**
 * @packageDocumentation
 * Corrected estimation for subsampled rare-event data: a logistic GLM with offsets, weights and a
 * ridge penalty; the log-odds-corrected and inverse-probability-weighted estimators with sandwich
 * covariances; pilot/sample combination; recalibration; R `ssp.relogit` compatibility; calibration
 * metrics. No runtime dependencies beyond `@rarefy/sampling-core`; runs in Node and in browsers.
 */

export type {
  CompareDesignsOptions,
  DesignComparison,
  DesignComparisonRow,
} from './compare.js';
export { compareDesigns } from './compare.js';
export type {
  EstimateWithInformation,
  EstimatorName,
  SubsampleFit,
} from './estimators.js';
export {
  combinePilotAndSample,
  correctCaseControlIntercept,
  fitClassReweighted,
  fitSubsample,
  pilotInformation,
  predictProbability,
  recalibrateProbability,
  standardErrors,
  uniformInterceptShift,
  waldIntervals,
} from './estimators.js';
export type { LogisticFit, LogisticFitOptions } from './glm.js';
export { fitLogistic } from './glm.js';
export type { CalibrationReport, ReliabilityBin } from './metrics.js';
export { calibrationReport, wilsonInterval } from './metrics.js';
export { normalCdf, normalQuantile } from './normal.js';
export type { FitRareEventsOptions, RareEventsFit, RecipeStage, RecipeTimings } from './recipe.js';
export { fitRareEvents } from './recipe.js';
export type {
  ReferenceCriterion,
  ReferenceInput,
  ReferenceLikelihood,
  ReferenceResult,
} from './reference.js';
export { fitReference, quantileType7 } from './reference.js';
export { invertSymmetric, sandwichCovariance, weightedCrossProduct } from './sandwich.js';
