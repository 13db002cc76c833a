import {
  type DesignMatrix,
  linearPredictor,
  multiplyMatrixVector,
  RarefyInputError,
  requireArgument,
  selectRows,
  sigmoid,
} from '@rarefy/sampling-core';
import { combinePilotAndSample, pilotInformation, standardErrors } from './estimators.js';
import { fitLogistic, type LogisticFit } from './glm.js';
import { invertSymmetric, sandwichCovariance, weightedCrossProduct } from './sandwich.js';
import { checkLabels } from './validate.js';

/** The sampling criteria of R's `ssp.relogit`. */
export type ReferenceCriterion = 'optA' | 'optL' | 'LCC' | 'uniform';
/** The second-stage likelihoods of R's `ssp.relogit`. */
export type ReferenceLikelihood = 'logOddsCorrection' | 'weighted';

/** The data, settings and the rows R drew, for {@link fitReference}. */
export interface ReferenceInput {
  /** All N rows, intercept column first. */
  x: DesignMatrix;
  /** All N labels. */
  y: Uint8Array;
  criterion: ReferenceCriterion;
  /** Ignored for `uniform`. */
  likelihood: ReferenceLikelihood;
  /** The pilot rows, 0-based, negatives first then positives (R's order); unused for `uniform`. */
  pilotRows: Int32Array;
  /** The second-stage rows, 0-based. */
  sampleRows: Int32Array;
  /** n_ssp: the expected number of sampled negatives. */
  sampleSize: number;
  /** Defensive mixing alpha (default 0). */
  alpha?: number;
  /** Truncation constant b (default 2). */
  b?: number;
}

/** What {@link fitReference} returns, in the shape of R's `ssp.relogit` output. */
export interface ReferenceResult {
  /** R's `coef`: the combined estimate (for `uniform`, the corrected fit). */
  coefficients: Float64Array;
  /** R's `se`: from `covariance`. */
  standardErrors: Float64Array;
  /** R's `coef.plt`: the pilot after the intercept correction (null for `uniform`). */
  pilotCoefficients: Float64Array | null;
  /** R's `coef.ssp`: the second-stage fit alone (null for `uniform`). */
  subsampleCoefficients: Float64Array | null;
  /** R's `se.ssp`: the second-stage fit's own (survey::svyglm) standard errors (null for `uniform`). */
  subsampleStandardErrors: Float64Array | null;
  /** The covariance behind `standardErrors`, row-major d x d. */
  covariance: Float64Array;
}

/**
 * R's default sample quantile (type 7): linear interpolation between the order statistics at
 * position (m - 1) p (0-based). Used for the score truncation of the reference mode.
 *
 * @param values - the sample (not modified)
 * @param probability - the level p in [0, 1] (clamped)
 * @returns the quantile (NaN for an empty sample)
 * @example
 * ```ts
 * quantileType7(Float64Array.of(8, 1, 4, 2), 0.9); // 6.8, as R's quantile(c(8, 1, 4, 2), 0.9)
 * ```
 */
export function quantileType7(values: Float64Array, probability: number): number {
  const sorted = Float64Array.from(values).sort();
  const m = sorted.length;
  if (m === 0) return Number.NaN;
  const h = (m - 1) * Math.min(1, Math.max(0, probability));
  const low = Math.floor(h);
  const high = Math.min(m - 1, low + 1);
  return (sorted[low] as number) + (h - low) * ((sorted[high] as number) - (sorted[low] as number));
}

/**
 * The covariance R reports for `uniform`, which comes from `survey::svyglm` (a with-replacement
 * design with unit weights) rather than from the package's own formulas: a sandwich whose bread is
 * glm's `cov.unscaled`, (X' W X)^-1 with the working weights W of the LAST IRLS step (computed at the
 * previous iterate), and whose meat is n/(n-1) times the centred cross-product of the estimating
 * functions x_i * working residual * working weight = x_i (y_i - mu_i) W_i / (mu_i (1 - mu_i)), with
 * mu at the final iterate (prior weights multiply both). At convergence this is the (n/(n-1))-scaled
 * sandwich up to about 1e-6. R reports it for `uniform` and as the second stage's own covariance.
 */
function surveyGlmCovariance(
  x: DesignMatrix,
  y: Uint8Array,
  fit: LogisticFit,
  options: { offset?: Float64Array; weight?: Float64Array; start: Float64Array },
): Float64Array {
  const n = x.rows;
  const d = x.columns;
  const weight = options.weight;
  let previousFitted: Float64Array;
  let previousInformation: Float64Array;
  if (fit.iterations > 1) {
    const previous = fitLogistic(x, y, {
      ...R_FIT,
      ...options,
      maxIterations: fit.iterations - 1,
      requireConvergence: false,
      input: 'sample',
    });
    previousFitted = previous.fitted;
    previousInformation = previous.information;
  } else {
    // One step: the working weights came from the starting coefficients.
    const eta = linearPredictor(x, options.start);
    previousFitted = eta.map((value, i) => sigmoid(value + (options.offset?.[i] ?? 0)));
    previousInformation = weightedCrossProduct(
      x,
      previousFitted.map((p, i) => (weight?.[i] ?? 1) * p * (1 - p)),
    );
  }
  const scores = new Float64Array(n * d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const before = previousFitted[i] as number;
    const after = fit.fitted[i] as number;
    const priorWeight = weight === undefined ? 1 : (weight[i] as number);
    const factor = (priorWeight * ((y[i] as number) - after) * before * (1 - before)) / (after * (1 - after));
    for (let j = 0; j < d; j++) {
      const value = (x.data[i * d + j] as number) * factor;
      scores[i * d + j] = value;
      mean[j] = (mean[j] as number) + value / n;
    }
  }
  const meat = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const centred = (scores[i * d + j] as number) - (mean[j] as number);
      for (let k = 0; k <= j; k++) {
        meat[j * d + k] =
          (meat[j * d + k] as number) + centred * ((scores[i * d + k] as number) - (mean[k] as number));
      }
    }
  }
  const scale = n / (n - 1);
  for (let j = 0; j < d; j++) {
    for (let k = 0; k <= j; k++) {
      const value = (meat[j * d + k] as number) * scale;
      meat[j * d + k] = value;
      meat[k * d + j] = value;
    }
  }
  return sandwichCovariance(previousInformation, meat, d, x.names);
}

/** R's IRLS settings: 25 steps at most, relative deviance change below 1e-8 (every call also passes R's start). */
const R_FIT = { maxIterations: 25, tolerance: 1e-8 } as const;

/**
 * Reproduces R's `ssp.relogit` (package `subsampling` 0.1, ALGORITHMS.md A.9) given the pilot rows
 * and the second-stage rows R drew (its random numbers cannot be replayed elsewhere). Use it to check
 * a migration from R; for new work use the default recipe, which differs on purpose:
 *
 * - **Pilot intercept.** R subtracts log(N0/N1) from the pilot's intercept, which is right only when
 *   the pilot draws equally many rows of each class; the default subtracts log(r1/r0) with the
 *   pilot's real sampling rates, right for any pilot (and for a class taken whole).
 * - **optA's M.** R averages P(1-P) x x' over the balanced pilot rows unweighted, so positives
 *   count as if they were half the data; the default weights each pilot row by the inverse of its
 *   sampling rate, estimating the full-data average the A-optimality criterion is defined with.
 * - **The scale.** R estimates the normaliser Z from about n_plt pilot rows (and for optA/optL
 *   multiplies by N0/N), so the realised number of negatives is very noisy (469 to 2069 for 1000
 *   asked, over 20 seeds); the default scores every row and solves sum pi = n exactly, so the size
 *   varies only by Poisson noise.
 * - **Truncation.** R caps scores at a type-7 quantile of the pilot's scores; the default caps
 *   keep probabilities at 1 (after defensive mixing and a floor) and reports the rows at the cap
 *   and floor.
 * - **Weighted likelihood's matrices.** R scales the weighted fit's information by n_ssp^2/N and
 *   its meat by n_ssp^4/N^2 before combining with the pilot, which weighs the pilot against the
 *   sample by an arbitrary constant; the default uses the IPW sandwich sum w mu(1-mu) x x',
 *   sum w^2 (y-mu)^2 x x' on the population scale, consistent with the pilot's matrices.
 * - **Uniform.** R fits without offset, shifts the intercept by log(n_ssp/N0) and takes its covariance
 *   from `survey::svyglm`: bread from the working weights of the previous IRLS iterate, centred
 *   estimating functions scaled by n/(n-1) (reproduced here exactly); the default treats uniform like
 *   every design (offset -log r, pilot combination, the sandwich at the estimate).
 * - **LCC.** Identical in spirit; R's scale again comes from the pilot estimate of the size.
 * - **IRLS.** Same stopping rule (|delta dev| / (|dev| + 0.1) < 1e-8, 25 steps); the default
 *   additionally halves steps that raise the deviance and reports separation and rank deficiency as
 *   typed errors, where R's `glm` warns and returns huge coefficients.
 *
 * @param input - the data, the criterion and likelihood, R's pilot and second-stage rows and sizes
 * @returns R's `coef`, `se`, `coef.plt`, `coef.ssp`, `se.ssp` (to about 1e-7 relative)
 * @throws RarefyInputError for labels that are not 0/1, rows out of range, or a missing class
 * @example
 * ```ts
 * const result = fitReference({
 *   x, y, criterion: 'optA', likelihood: 'logOddsCorrection',
 *   pilotRows, sampleRows, sampleSize: 600,
 * });
 * console.log(result.coefficients, result.standardErrors);
 * ```
 */
export function fitReference(input: ReferenceInput): ReferenceResult {
  const { x, y, criterion, likelihood, pilotRows, sampleRows, sampleSize } = input;
  const alpha = input.alpha ?? 0;
  const b = input.b ?? 2;
  requireArgument(
    criterion === 'optA' || criterion === 'optL' || criterion === 'LCC' || criterion === 'uniform',
    'criterion',
    `'${String(criterion)}' is not a criterion of ssp.relogit`,
    "pass 'optA', 'optL', 'LCC' or 'uniform'",
  );
  requireArgument(
    likelihood === 'logOddsCorrection' || likelihood === 'weighted',
    'likelihood',
    `'${String(likelihood)}' is not a likelihood of ssp.relogit`,
    "pass 'logOddsCorrection' or 'weighted'",
  );
  requireArgument(sampleSize > 0, 'sampleSize', `${sampleSize} is not positive`, 'pass n_ssp, e.g. 600');
  requireArgument(
    alpha >= 0 && alpha < 1,
    'alpha',
    `${alpha} is outside [0, 1)`,
    'pass alpha in [0, 1), R uses 0',
  );
  requireArgument(b > 0, 'b', `${b} is not positive`, 'pass b > 0, R uses 2');
  requireArgument(
    x.intercept,
    'x',
    'has no intercept column',
    'build the design matrix with an intercept, as R does',
  );
  const n = x.rows;
  const d = x.columns;
  const positives = checkLabels(y, x, 'y');
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new RarefyInputError(
      positives === 0 ? 'RAREFY_NO_POSITIVES' : 'RAREFY_NO_NEGATIVES',
      `y: the data has no ${positives === 0 ? 'positive' : 'negative'} rows`,
      'pass data with both classes',
      { input: 'y' },
    );
  }
  for (const [name, rows] of [
    ['sampleRows', sampleRows],
    ['pilotRows', pilotRows],
  ] as const) {
    for (const row of rows) {
      if (!(row >= 0 && row < n)) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `${name}: row ${row} is outside [0, ${n})`,
          'pass 0-based row indices (R prints 1-based ones: subtract 1)',
          { input: name, row },
        );
      }
    }
  }
  const xSample = selectRows(x, sampleRows);
  const ySample = Uint8Array.from(sampleRows, (row) => y[row] as number);

  if (criterion === 'uniform') {
    const fit = fitLogistic(xSample, ySample, { ...R_FIT, start: new Float64Array(d), input: 'sample' });
    const coefficients = Float64Array.from(fit.coefficients);
    coefficients[0] = (coefficients[0] as number) + Math.log(sampleSize / negatives);
    const covariance = surveyGlmCovariance(xSample, ySample, fit, { start: new Float64Array(d) });
    return {
      coefficients,
      standardErrors: standardErrors(covariance, d),
      pilotCoefficients: null,
      subsampleCoefficients: null,
      subsampleStandardErrors: null,
      covariance,
    };
  }

  // Pilot: unweighted fit from 0, intercept reduced by log(N0/N1).
  const xPilot = selectRows(x, pilotRows);
  const yPilot = Uint8Array.from(pilotRows, (row) => y[row] as number);
  const m = pilotRows.length;
  const pilotFit = fitLogistic(xPilot, yPilot, { ...R_FIT, start: new Float64Array(d), input: 'pilot' });
  const pilotCoefficients = Float64Array.from(pilotFit.coefficients);
  pilotCoefficients[0] = (pilotCoefficients[0] as number) - Math.log(negatives / positives);
  const pilotMatrices = pilotInformation(xPilot, yPilot, pilotFit.fitted);
  // P = sigma(x' beta_plt) (corrected) on the pilot and the sample rows.
  const pilotP = linearPredictor(xPilot, pilotCoefficients).map(sigmoid);
  const sampleP = linearPredictor(xSample, pilotCoefficients).map(sigmoid);
  // q_i: the pilot's per-row sampling probability as the package writes it.
  const pilotQ = Float64Array.from(yPilot, (label) =>
    label === 1 ? 1 / (2 * positives) : 1 / (2 * negatives),
  );

  const offset = new Float64Array(sampleRows.length);
  const weight = new Float64Array(sampleRows.length);
  if (criterion === 'LCC') {
    let total = 0;
    for (let i = 0; i < m; i++)
      total += Math.abs((yPilot[i] as number) - (pilotP[i] as number)) / (pilotQ[i] as number);
    const c = (sampleSize + positives) / (total / m);
    for (let i = 0; i < sampleRows.length; i++) {
      const p = sampleP[i] as number;
      offset[i] = Math.log(Math.min(c * (1 - p), 1) / Math.min(c * p, 1));
      weight[i] = 1 / Math.min(c * Math.abs((ySample[i] as number) - p), 1);
    }
  } else {
    let norm: (matrix: DesignMatrix, row: number) => number;
    if (criterion === 'optA') {
      const variance = Float64Array.from(pilotP, (p) => (p * (1 - p)) / m);
      const inverse = invertSymmetric(weightedCrossProduct(xPilot, variance), d, 'optA M', x.names);
      norm = (matrix, row) =>
        Math.hypot(...multiplyMatrixVector(inverse, matrix.data.subarray(row * d, row * d + d), d));
    } else {
      norm = (matrix, row) => Math.hypot(...matrix.data.subarray(row * d, row * d + d));
    }
    const score = (matrix: DesignMatrix, p: number, row: number): number =>
      p * Math.sqrt(1 - p) * norm(matrix, row);
    const pilotScores = Float64Array.from(pilotP, (p, i) => score(xPilot, p, i));
    const cap = quantileType7(pilotScores, 1 - sampleSize / (b * n));
    let total = 0;
    for (let i = 0; i < m; i++) total += Math.min(pilotScores[i] as number, cap) / (pilotQ[i] as number);
    const normaliser = (negatives / n) * (total / m);
    for (let i = 0; i < sampleRows.length; i++) {
      const s = Math.min(score(xSample, sampleP[i] as number, i), cap);
      const pi = Math.min(1, sampleSize * (((1 - alpha) * s) / normaliser + alpha / n));
      offset[i] = -Math.log(pi);
      weight[i] = ySample[i] === 1 ? 1 : 1 / pi;
    }
  }

  let subsampleCovariance: Float64Array;
  let sample: { coefficients: Float64Array; information: Float64Array; meat: Float64Array };
  if (likelihood === 'logOddsCorrection') {
    const fit = fitLogistic(xSample, ySample, {
      ...R_FIT,
      offset,
      start: pilotCoefficients,
      input: 'sample',
    });
    subsampleCovariance = surveyGlmCovariance(xSample, ySample, fit, { offset, start: pilotCoefficients });
    const residual = Float64Array.from(ySample, (label, i) => (label - (fit.fitted[i] as number)) ** 2);
    sample = {
      coefficients: fit.coefficients,
      information: fit.information,
      meat: weightedCrossProduct(xSample, residual),
    };
  } else {
    const zero = new Float64Array(d);
    const fit = fitLogistic(xSample, ySample, { ...R_FIT, weight, start: zero, input: 'sample' });
    subsampleCovariance = surveyGlmCovariance(xSample, ySample, fit, { weight, start: zero });
    const informationScale = (sampleSize * sampleSize) / n;
    const meatScale = informationScale * informationScale;
    const residual = Float64Array.from(
      ySample,
      (label, i) => meatScale * ((weight[i] as number) * (label - (fit.fitted[i] as number))) ** 2,
    );
    sample = {
      coefficients: fit.coefficients,
      information: fit.information.map((value) => value * informationScale),
      meat: weightedCrossProduct(xSample, residual),
    };
  }
  const combined = combinePilotAndSample(
    { coefficients: pilotCoefficients, information: pilotMatrices.information, meat: pilotMatrices.meat },
    sample,
    d,
  );
  return {
    coefficients: combined.coefficients,
    standardErrors: standardErrors(combined.covariance, d),
    pilotCoefficients,
    subsampleCoefficients: sample.coefficients,
    subsampleStandardErrors: standardErrors(subsampleCovariance, d),
    covariance: combined.covariance,
  };
}
