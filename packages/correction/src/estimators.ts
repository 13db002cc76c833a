import {
  type DesignMatrix,
  linearPredictor,
  multiplyMatrixVector,
  RarefyInputError,
  requireArgument,
  sigmoid,
} from '@rarefy/sampling-core';
import { fitLogistic, type LogisticFit } from './glm.js';
import { normalQuantile } from './normal.js';
import { invertSymmetric, sandwichCovariance, weightedCrossProduct } from './sandwich.js';
import { checkLabels, checkRowValues, requireLength } from './validate.js';

/** The two corrections of a subsample: `log-odds` (A.4, offsets) and `ipw` (A.5, inverse-probability weights). */
export type EstimatorName = 'log-odds' | 'ipw';

/** A corrected fit on a subsample with its sandwich covariance (ALGORITHMS.md A.4, A.5, A.8). */
export interface SubsampleFit {
  /** Population-scale coefficients (predict with sigma(x' beta), no offset). */
  readonly coefficients: Float64Array;
  /** The sandwich covariance I^-1 B I^-1, row-major d x d. */
  readonly covariance: Float64Array;
  /** The information I (log-odds: sum mu(1-mu) x x'; IPW: sum w mu(1-mu) x x'), without the ridge. */
  readonly information: Float64Array;
  /** The meat B (log-odds: sum (y-mu)^2 x x'; IPW: sum w^2 (y-mu)^2 x x'). */
  readonly meat: Float64Array;
  /** The underlying GLM fit (fitted values on the sample's scale, offset included). */
  readonly fit: LogisticFit;
}

/** Coefficients with the information and meat they were estimated with. */
export interface EstimateWithInformation {
  readonly coefficients: Float64Array;
  readonly information: Float64Array;
  readonly meat: Float64Array;
}

function meatMatrix(
  x: DesignMatrix,
  y: Uint8Array,
  fitted: Float64Array,
  weight?: Float64Array,
): Float64Array {
  const rowWeights = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    const residual = (y[i] as number) - (fitted[i] as number);
    const w = weight === undefined ? 1 : (weight[i] as number);
    rowWeights[i] = w * w * residual * residual;
  }
  return weightedCrossProduct(x, rowWeights);
}

function withRidge(information: Float64Array, x: DesignMatrix, ridge: number): Float64Array {
  if (ridge === 0) return information;
  const d = x.columns;
  const penalised = Float64Array.from(information);
  for (let j = x.intercept ? 1 : 0; j < d; j++)
    penalised[j * d + j] = (penalised[j * d + j] as number) + ridge;
  return penalised;
}

/**
 * Fits a corrected logistic regression on the kept rows of a subsample.
 * - `log-odds` (A.4): maximises the likelihood with the offset o_i = log(a1/a0) on every kept row;
 *   I = sum mu(1-mu) x x', B = sum (y-mu)^2 x x' (mu includes the offset).
 * - `ipw` (A.5): no offset, prior weights w_i = 1 / keep probability;
 *   I = sum w mu(1-mu) x x', B = sum w^2 (y-mu)^2 x x'.
 *
 * The covariance is the sandwich I^-1 B I^-1 (with a ridge, the penalised information is the bread).
 *
 * @param estimator - `log-odds` or `ipw`
 * @param x - the kept rows' design matrix
 * @param y - the kept rows' labels
 * @param correction - per kept row: `offset` (used by log-odds) and `weight` (used by IPW)
 * @param options - `start` coefficients (e.g. the pilot) and a `ridge` penalty
 * @returns coefficients, sandwich covariance, information, meat and the GLM fit
 * @example
 * ```ts
 * const result = fitSubsample('log-odds', xKept, yKept, { offset, weight });
 * const se = standardErrors(result.covariance, xKept.columns);
 * ```
 */
export function fitSubsample(
  estimator: EstimatorName,
  x: DesignMatrix,
  y: Uint8Array,
  correction: { offset: Float64Array; weight: Float64Array },
  options: { start?: Float64Array; ridge?: number } = {},
): SubsampleFit {
  requireArgument(
    estimator === 'log-odds' || estimator === 'ipw',
    'estimator',
    `'${String(estimator)}' is not an estimator`,
    "pass 'log-odds' or 'ipw'",
  );
  const ridge = options.ridge ?? 0;
  const fitOptions = {
    input: 'subsample',
    ridge,
    ...(options.start === undefined ? {} : { start: options.start }),
  };
  let fit: LogisticFit;
  let meat: Float64Array;
  if (estimator === 'log-odds') {
    fit = fitLogistic(x, y, { ...fitOptions, offset: correction.offset });
    meat = meatMatrix(x, y, fit.fitted);
  } else {
    fit = fitLogistic(x, y, { ...fitOptions, weight: correction.weight });
    meat = meatMatrix(x, y, fit.fitted, correction.weight);
  }
  const covariance = sandwichCovariance(withRidge(fit.information, x, ridge), meat, x.columns, x.names);
  return { coefficients: fit.coefficients, covariance, information: fit.information, meat, fit };
}

/**
 * The pilot's information and meat (A.8): I_p = sum p(1-p) x x', B_p = sum (y-p)^2 x x', with p the
 * pilot fit's own fitted probabilities (before any intercept correction).
 *
 * @param xPilot - the pilot rows' design matrix
 * @param yPilot - the pilot rows' labels
 * @param fittedUncorrected - the pilot fit's fitted probabilities on those rows
 * @returns `information` and `meat`, row-major d x d
 * @example
 * ```ts
 * const pilotFit = fitLogistic(xPilot, yPilot);
 * const { information, meat } = pilotInformation(xPilot, yPilot, pilotFit.fitted);
 * ```
 */
export function pilotInformation(
  xPilot: DesignMatrix,
  yPilot: Uint8Array,
  fittedUncorrected: Float64Array,
): { information: Float64Array; meat: Float64Array } {
  checkLabels(yPilot, xPilot, 'yPilot');
  checkRowValues(
    fittedUncorrected,
    xPilot.rows,
    'fittedUncorrected',
    'probabilities',
    true,
    "pass the pilot fit's fitted probabilities (LogisticFit.fitted), one per pilot row",
  );
  const variance = Float64Array.from(fittedUncorrected, (p) => p * (1 - p));
  return {
    information: weightedCrossProduct(xPilot, variance),
    meat: meatMatrix(xPilot, yPilot, fittedUncorrected),
  };
}

/**
 * Combines the pilot and the subsample estimates (A.8):
 * beta = (I_p + I_s)^-1 (I_p beta_plt + I_s beta_s), covariance (I_p+I_s)^-1 (B_p+B_s) (I_p+I_s)^-1.
 *
 * @param pilot - the (intercept-corrected) pilot coefficients with I_p and B_p
 * @param sample - the subsample coefficients with I_s and B_s
 * @param d - number of coefficients
 * @returns the combined coefficients and their sandwich covariance
 * @example
 * ```ts
 * const combined = combinePilotAndSample(
 *   { coefficients: pilotCorrected, ...pilotInformation(xPilot, yPilot, pilotFit.fitted) },
 *   subsample,
 *   7,
 * );
 * ```
 */
export function combinePilotAndSample(
  pilot: EstimateWithInformation,
  sample: EstimateWithInformation,
  d: number,
): { coefficients: Float64Array; covariance: Float64Array } {
  for (const [name, part] of [
    ['pilot', pilot],
    ['sample', sample],
  ] as const) {
    requireLength(part.coefficients.length, d, `${name}.coefficients`, 'coefficients');
    requireLength(part.information.length, d * d, `${name}.information`, 'matrix entries');
    requireLength(part.meat.length, d * d, `${name}.meat`, 'matrix entries');
  }
  const total = new Float64Array(d * d);
  const meat = new Float64Array(d * d);
  for (let k = 0; k < d * d; k++) {
    total[k] = (pilot.information[k] as number) + (sample.information[k] as number);
    meat[k] = (pilot.meat[k] as number) + (sample.meat[k] as number);
  }
  const inverse = invertSymmetric(total, d, 'pilot.information + sample.information');
  const pilotPart = multiplyMatrixVector(pilot.information, pilot.coefficients, d);
  const samplePart = multiplyMatrixVector(sample.information, sample.coefficients, d);
  const sum = new Float64Array(d);
  for (let j = 0; j < d; j++) sum[j] = (pilotPart[j] as number) + (samplePart[j] as number);
  return {
    coefficients: multiplyMatrixVector(inverse, sum, d),
    covariance: sandwichCovariance(total, meat, d),
  };
}

/**
 * Square roots of a covariance matrix's diagonal.
 *
 * @param covariance - row-major d x d
 * @param d - dimension
 * @returns d standard errors
 * @example
 * ```ts
 * const se = standardErrors(result.covariance, 7);
 * ```
 */
export function standardErrors(covariance: Float64Array, d: number): Float64Array {
  requireLength(covariance.length, d * d, 'covariance', 'matrix entries');
  const se = new Float64Array(d);
  for (let j = 0; j < d; j++) se[j] = Math.sqrt(Math.max(0, covariance[j * d + j] as number));
  return se;
}

/**
 * Wald intervals beta_j -/+ z se_j with z the normal quantile at (1 + level) / 2.
 *
 * @param coefficients - estimates
 * @param standardErrors - their standard errors
 * @param level - coverage, in (0, 1) (default 0.95)
 * @returns `lower` and `upper` bounds
 * @example
 * ```ts
 * const { lower, upper } = waldIntervals(result.coefficients, standardErrors(result.covariance, 7));
 * ```
 */
export function waldIntervals(
  coefficients: Float64Array,
  standardErrors: Float64Array,
  level = 0.95,
): { lower: Float64Array; upper: Float64Array } {
  requireArgument(
    level > 0 && level < 1,
    'level',
    `${level} is outside (0, 1)`,
    'pass a coverage level such as 0.95',
  );
  requireLength(standardErrors.length, coefficients.length, 'standardErrors', 'standard errors');
  const z = normalQuantile(0.5 + level / 2);
  const lower = new Float64Array(coefficients.length);
  const upper = new Float64Array(coefficients.length);
  for (let j = 0; j < coefficients.length; j++) {
    const half = z * (standardErrors[j] as number);
    lower[j] = (coefficients[j] as number) - half;
    upper[j] = (coefficients[j] as number) + half;
  }
  return { lower, upper };
}

/**
 * He et al.'s recalibration of a model trained on a uniform negative subsample (negatives kept with
 * rate r, positives all): q = p / (p + (1 - p) / r), the population probability. It is the same as
 * adding log r to the model's log odds (or its intercept).
 *
 * @param probability - the model's probability on the sample's scale, in [0, 1]
 * @param rate - the negative sampling rate r, in (0, 1]
 * @returns the population-scale probability
 * @example
 * ```ts
 * recalibrateProbability(0.5, 0.1); // 0.0909...: 1:1 odds on the sample are 1:10 in the population
 * ```
 */
export function recalibrateProbability(probability: number, rate: number): number {
  requireArgument(
    probability >= 0 && probability <= 1,
    'probability',
    `${probability} is outside [0, 1]`,
    'pass a probability',
  );
  requireArgument(
    rate > 0 && rate <= 1,
    'rate',
    `${rate} is outside (0, 1]`,
    'pass the negative sampling rate r',
  );
  if (probability === 0 || probability === 1) return probability;
  return probability / (probability + (1 - probability) / rate);
}

/**
 * The intercept shift of a uniform negative-sampling rate r: log r (add it to the intercept fitted
 * on the sample to get the population intercept). Equivalent to {@link recalibrateProbability}.
 *
 * @param rate - the negative sampling rate r, in (0, 1]
 * @returns log r
 * @example
 * ```ts
 * coefficients[0] += uniformInterceptShift(0.01); // -4.605...
 * ```
 */
export function uniformInterceptShift(rate: number): number {
  requireArgument(
    rate > 0 && rate <= 1,
    'rate',
    `${rate} is outside (0, 1]`,
    'pass the negative sampling rate r',
  );
  return Math.log(rate);
}

/**
 * Corrects the intercept of a model fitted on a case-control sample (positives drawn at rate
 * r1 = n1/N1, negatives at r0 = n0/N0): beta_0 <- beta_0 - log(r1/r0) (ALGORITHMS.md A.6).
 *
 * @param coefficients - coefficients fitted on the sample, intercept first
 * @param positiveRate - r1, the share of the positives sampled
 * @param negativeRate - r0, the share of the negatives sampled
 * @returns a corrected copy
 * @example
 * ```ts
 * const corrected = correctCaseControlIntercept(pilot.coefficients, 100 / N1, 100 / N0);
 * ```
 */
export function correctCaseControlIntercept(
  coefficients: Float64Array,
  positiveRate: number,
  negativeRate: number,
): Float64Array {
  requireArgument(
    positiveRate > 0 && positiveRate <= 1,
    'positiveRate',
    `${positiveRate} is outside (0, 1]`,
    'pass n1 / N1',
  );
  requireArgument(
    negativeRate > 0 && negativeRate <= 1,
    'negativeRate',
    `${negativeRate} is outside (0, 1]`,
    'pass n0 / N0',
  );
  requireArgument(coefficients.length > 0, 'coefficients', 'is empty', 'pass the intercept first');
  const corrected = Float64Array.from(coefficients);
  corrected[0] = (corrected[0] as number) - Math.log(positiveRate / negativeRate);
  return corrected;
}

/**
 * Class reweighting of the full data, the no-sampling baseline practitioners use: positives weigh
 * N / (2 N1), negatives N / (2 N0), so both classes count equally. Its probabilities are NOT
 * population probabilities (they describe a balanced population): use it to compare, not to predict.
 *
 * @param x - design matrix of all rows
 * @param y - labels
 * @returns the weighted fit with its IPW-style sandwich covariance
 * @throws RarefyInputError `RAREFY_NO_POSITIVES` / `RAREFY_NO_NEGATIVES`
 * @example
 * ```ts
 * const balanced = fitClassReweighted(x, y);
 * ```
 */
export function fitClassReweighted(x: DesignMatrix, y: Uint8Array): SubsampleFit {
  const positives = checkLabels(y, x, 'y');
  const negatives = y.length - positives;
  if (positives === 0 || negatives === 0) {
    const none = positives === 0 ? 'positive' : 'negative';
    throw new RarefyInputError(
      positives === 0 ? 'RAREFY_NO_POSITIVES' : 'RAREFY_NO_NEGATIVES',
      `y: the data has no ${none} rows, so the classes cannot be reweighted`,
      'pass data with both classes',
      { input: 'y', positives, negatives },
    );
  }
  const n = y.length;
  const positiveWeight = n / (2 * positives);
  const negativeWeight = n / (2 * negatives);
  const weight = Float64Array.from(y, (label) => (label === 1 ? positiveWeight : negativeWeight));
  const fit = fitLogistic(x, y, { weight, input: 'x' });
  const meat = meatMatrix(x, y, fit.fitted, weight);
  const covariance = sandwichCovariance(fit.information, meat, x.columns, x.names);
  return { coefficients: fit.coefficients, covariance, information: fit.information, meat, fit };
}

/**
 * Population probabilities sigma(x' beta) (no offset).
 *
 * @param x - design matrix
 * @param coefficients - one per column
 * @returns one probability per row
 * @example
 * ```ts
 * const p = predictProbability(xHeldOut, result.coefficients);
 * ```
 */
export function predictProbability(x: DesignMatrix, coefficients: Float64Array): Float64Array {
  const eta = linearPredictor(x, coefficients);
  for (let i = 0; i < eta.length; i++) eta[i] = sigmoid(eta[i] as number);
  return eta;
}
