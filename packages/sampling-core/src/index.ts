/**
 * @packageDocumentation
 * Seeded randomness, samplers and the negative-sampling designs of Rarefy. No runtime dependencies;
 * runs in Node and in browsers.
 */
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
export { designMatrix, INTERCEPT_NAME, linearPredictor, logit, selectRows, sigmoid } from './matrix.js';
export type { Rng } from './rng.js';
export { createRng, sampleWithoutReplacement, shuffleInPlace } from './rng.js';
export type { SimulatedData, SimulateRareEventsOptions } from './simulate.js';
export { simulateRareEvents } from './simulate.js';
