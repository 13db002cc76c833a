import { RarefyError, RarefyInputError, requireArgument } from '@rarefy/sampling-core';
import { fitLogistic } from './glm.js';
import { normalQuantile } from './normal.js';

/** One bin of the reliability curve. */
export interface ReliabilityBin {
  /** Mean predicted probability in the bin. */
  meanPredicted: number;
  /** Share of positives in the bin. */
  observedRate: number;
  /** Rows in the bin. */
  count: number;
  /** Wilson 95% interval of the observed rate: lower bound. */
  lower: number;
  /** Wilson 95% interval of the observed rate: upper bound. */
  upper: number;
}

/** Quality and calibration of predicted probabilities (ALGORITHMS.md part C). */
export interface CalibrationReport {
  /** Mean of -[y log p + (1 - y) log(1 - p)], p clipped to [1e-15, 1 - 1e-15]. */
  logLoss: number;
  /** Mean of (p - y)^2. */
  brier: number;
  /** Area under the ROC curve (rank statistic; tied scores count one half). */
  rocAuc: number;
  /** Area under the precision-recall curve as average precision (tied scores form one threshold). */
  prAuc: number;
  /** Mean predicted probability / observed positive rate (1 is calibrated in the large). */
  calibrationInTheLarge: number;
  /** b in the recalibration fit logit P(y = 1) = a + b logit(p) (1 is ideal; < 1: overconfident). */
  calibrationSlope: number;
  /** a in the same joint fit (0 is ideal together with slope 1). */
  calibrationIntercept: number;
  /** sum over equal-mass bins of (count / n) |mean predicted - observed rate|. */
  expectedCalibrationError: number;
  /** The equal-mass bins, in increasing order of predicted probability. */
  reliability: ReliabilityBin[];
}

const CLIP = 1e-15;
const Z_95 = normalQuantile(0.975);

/**
 * The Wilson score interval of a binomial proportion.
 *
 * @param successes - k
 * @param trials - n > 0
 * @param z - normal quantile (default 1.96 for 95%)
 * @returns `lower` and `upper`
 * @example
 * ```ts
 * wilsonInterval(3, 10); // { lower: 0.1078, upper: 0.6032 }
 * ```
 */
export function wilsonInterval(
  successes: number,
  trials: number,
  z = Z_95,
): { lower: number; upper: number } {
  requireArgument(trials > 0, 'trials', `${trials} is not positive`, 'pass at least one trial');
  requireArgument(
    successes >= 0 && successes <= trials,
    'successes',
    `${successes} is outside [0, ${trials}]`,
    'pass a count between 0 and the number of trials',
  );
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

/**
 * Calibration and discrimination metrics of predicted probabilities on held-out, unsampled data:
 * log loss, Brier score, ROC AUC (ties handled by mid-ranks), PR AUC (average precision),
 * calibration-in-the-large, calibration slope and intercept (logistic recalibration fit),
 * expected calibration error and the reliability curve over equal-mass bins with Wilson intervals.
 * Compute it on the population, never on a subsample: the point of the correction is that the
 * probabilities are right on the data the model will score.
 *
 * @param y - 0/1 labels
 * @param probability - predicted probabilities in [0, 1], one per label
 * @param options - `bins`: number of equal-mass bins (default 15)
 * @returns the report
 * @throws RarefyInputError `RAREFY_NO_POSITIVES` / `RAREFY_NO_NEGATIVES` when a class is absent;
 *   RarefyFitError `RAREFY_SEPARATION` when the scores separate the classes perfectly (the
 *   calibration slope is then infinite)
 * @example
 * ```ts
 * const report = calibrationReport(yHeldOut, predictProbability(xHeldOut, fit.coefficients));
 * console.log(report.calibrationInTheLarge, report.calibrationSlope, report.rocAuc);
 * ```
 */
export function calibrationReport(
  y: Uint8Array,
  probability: Float64Array,
  options: { bins?: number } = {},
): CalibrationReport {
  const n = y.length;
  if (probability.length !== n) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `probability: ${probability.length} values for ${n} labels`,
      'pass one predicted probability per label',
      { input: 'probability' },
    );
  }
  const binCount = options.bins ?? 15;
  requireArgument(
    Number.isInteger(binCount) && binCount >= 1,
    'bins',
    `${binCount} is not a positive integer`,
    'pass a bin count such as 15',
  );
  let positives = 0;
  let logLoss = 0;
  let brier = 0;
  let predictedSum = 0;
  for (let i = 0; i < n; i++) {
    const label = y[i] as number;
    const p = probability[i] as number;
    if (label > 1) {
      throw new RarefyInputError(
        'RAREFY_INVALID_LABEL',
        `y: row ${i} has label ${label}`,
        'encode labels as 0/1',
        {
          input: 'y',
          row: i,
        },
      );
    }
    if (!(p >= 0 && p <= 1)) {
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `probability: row ${i} is ${p}, not a probability`,
        'pass probabilities in [0, 1] (apply the sigmoid to log odds first)',
        { input: 'probability', row: i, value: p },
      );
    }
    positives += label;
    const clipped = Math.min(1 - CLIP, Math.max(CLIP, p));
    logLoss -= label === 1 ? Math.log(clipped) : Math.log1p(-clipped);
    brier += (p - label) ** 2;
    predictedSum += p;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new RarefyInputError(
      positives === 0 ? 'RAREFY_NO_POSITIVES' : 'RAREFY_NO_NEGATIVES',
      `y: the held-out labels have no ${positives === 0 ? 'positive' : 'negative'} rows, so AUC and calibration are undefined`,
      'evaluate on a held-out set that contains both classes (a larger one, for rare events)',
      { input: 'y', positives, negatives },
    );
  }

  // Ascending order of the scores (stable: ties keep row order).
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (probability[a] as number) - (probability[b] as number) || a - b);

  // ROC AUC by mid-ranks; average precision over distinct thresholds from the top.
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    const value = probability[order[start] as number] as number;
    let end = start;
    let groupPositives = 0;
    while (end < n && probability[order[end] as number] === value) {
      groupPositives += y[order[end] as number] as number;
      end++;
    }
    positiveRankSum += groupPositives * ((start + 1 + end) / 2);
    start = end;
  }
  const rocAuc = (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
  let truePositives = 0;
  let seen = 0;
  let averagePrecision = 0;
  for (let end = n; end > 0; ) {
    const value = probability[order[end - 1] as number] as number;
    let start = end;
    let groupPositives = 0;
    while (start > 0 && probability[order[start - 1] as number] === value) {
      groupPositives += y[order[start - 1] as number] as number;
      start--;
    }
    seen += end - start;
    truePositives += groupPositives;
    averagePrecision += (groupPositives / positives) * (truePositives / seen);
    end = start;
  }

  // Equal-mass bins over the ascending order.
  const bins = Math.min(binCount, n);
  const reliability: ReliabilityBin[] = [];
  let expectedCalibrationError = 0;
  for (let b = 0; b < bins; b++) {
    const from = Math.floor((b * n) / bins);
    const to = Math.floor(((b + 1) * n) / bins);
    let predicted = 0;
    let observed = 0;
    for (let k = from; k < to; k++) {
      const i = order[k] as number;
      predicted += probability[i] as number;
      observed += y[i] as number;
    }
    const count = to - from;
    const interval = wilsonInterval(observed, count);
    const meanPredicted = predicted / count;
    const observedRate = observed / count;
    expectedCalibrationError += (count / n) * Math.abs(meanPredicted - observedRate);
    reliability.push({ meanPredicted, observedRate, count, lower: interval.lower, upper: interval.upper });
  }

  // Logistic recalibration: logit P(y = 1) = a + b logit(p).
  if (probability[order[0] as number] === probability[order[n - 1] as number]) {
    throw new RarefyInputError(
      'RAREFY_CONSTANT_COLUMN',
      `probability: every prediction is ${probability[0]}, so the calibration slope is undefined`,
      'evaluate a model whose predictions vary (a constant predictor has no slope to calibrate)',
      { input: 'probability' },
    );
  }
  const design = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const clipped = Math.min(1 - CLIP, Math.max(CLIP, probability[i] as number));
    design[2 * i] = 1;
    design[2 * i + 1] = Math.log(clipped / (1 - clipped));
  }
  const recalibration = fitLogistic(
    { data: design, rows: n, columns: 2, names: ['(Intercept)', 'logit(probability)'], intercept: true },
    y,
    { input: 'probability (calibration fit)' },
  );

  return {
    logLoss: logLoss / n,
    brier: brier / n,
    rocAuc,
    prAuc: averagePrecision,
    calibrationInTheLarge: predictedSum / n / (positives / n),
    calibrationSlope: recalibration.coefficients[1] as number,
    calibrationIntercept: recalibration.coefficients[0] as number,
    expectedCalibrationError,
    reliability,
  };
}
