import {
  calibrationReport,
  type EstimatorName,
  fitLogistic,
  fitRareEvents,
  invertSymmetric,
  predictProbability,
  standardErrors,
  waldIntervals,
} from '@rarefy/correction';
import {
  countClasses,
  type DesignMatrix,
  type DesignName,
  RarefyError,
  requireBothClasses,
  selectRows,
} from '@rarefy/sampling-core';
import { type PiDistribution, piDistribution, type ReliabilityPoint } from '../charts/figures.js';

/** What the page asks of one run: the design, the estimator and the sampling rate. */
export interface ExperimentSettings {
  design: DesignName;
  estimator: EstimatorName;
  /** Expected share of the negatives to keep, in (0, 1]. */
  samplingRate: number;
  /** Rows in the balanced pilot. */
  pilotSize: number;
  /** Seed of the pilot draw and the sample. */
  seed: number;
}

/** The page's defaults: optA, log-odds, 2% of the negatives, a 500-row pilot, seed 1. */
export const DEFAULT_EXPERIMENT: ExperimentSettings = {
  design: 'optA',
  estimator: 'log-odds',
  samplingRate: 0.02,
  pilotSize: 500,
  seed: 1,
};

/** A data set to run on: the population, and the unsampled rows to check calibration on. */
export interface ExperimentData {
  /** Where it came from, for the page ("A.10 generator", a file name). */
  name: string;
  x: DesignMatrix;
  y: Uint8Array;
  /** The true coefficients when the data was simulated. */
  trueCoefficients?: Float64Array;
  /** Fresh rows for the calibration check; without them the population itself is used. */
  holdout?: { x: DesignMatrix; y: Uint8Array; name: string };
}

/** Coefficients keyed by name, with standard errors and 95% intervals. */
export interface NamedEstimates {
  coefficients: Record<string, number>;
  standardErrors: Record<string, number>;
  lower: Record<string, number>;
  upper: Record<string, number>;
}

/** One model's calibration on unsampled rows. */
export interface ModelCalibration {
  model: string;
  calibrationInTheLarge: number;
  logLoss: number;
  rocAuc: number;
  expectedCalibrationError: number;
  reliability: ReliabilityPoint[];
}

/** Up to a few thousand rows of two features, by group, for the scatter of the sample. */
export interface SampleScatter {
  features: [string, string];
  /** Flat [x, y, x, y, ...] of the dropped negatives shown. */
  dropped: number[];
  keptNegatives: number[];
  positives: number[];
  /** How many of each group the data has (the scatter shows a strided subset). */
  totals: { dropped: number; keptNegatives: number; positives: number };
}

/** Everything the page shows after a run. */
export interface ExperimentResult {
  data: { name: string; rows: number; positives: number; negatives: number; features: string[] };
  settings: ExperimentSettings;
  /** The expected number of negatives asked for (rate x negatives, at least 1). */
  sampleSize: number;
  sample: { positives: number; negatives: number; expectedNegatives: number };
  /** The log-odds (or IPW) corrected fit. */
  corrected: NamedEstimates;
  /** The same kept rows fitted as if they were the population. */
  naive: NamedEstimates;
  truth: Record<string, number> | null;
  calibration: { evaluatedOn: string; rows: number; observedRate: number; models: ModelCalibration[] };
  piDistribution: PiDistribution;
  scatter: SampleScatter;
  /** Seconds the run took in the worker. */
  seconds: number;
}

function byName(names: readonly string[], values: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((name, j) => {
    out[name] = values[j] as number;
  });
  return out;
}

function estimates(
  names: readonly string[],
  coefficients: Float64Array,
  errors: Float64Array,
  lower: Float64Array,
  upper: Float64Array,
): NamedEstimates {
  return {
    coefficients: byName(names, coefficients),
    standardErrors: byName(names, errors),
    lower: byName(names, lower),
    upper: byName(names, upper),
  };
}

/** The expected negatives for a sampling rate: rate x negatives, at least 1. */
export function sampleSizeFor(rate: number, negatives: number): number {
  if (!(rate > 0 && rate <= 1)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `samplingRate: ${rate} is not in (0, 1]`,
      'pick a sampling rate between 0.1% and 100% of the negatives',
      { input: 'samplingRate' },
    );
  }
  return Math.max(1, Math.round(rate * negatives));
}

/** Every `stride`-th row of a group, as flat pairs of two feature columns. */
function stridedPairs(
  x: DesignMatrix,
  rows: readonly number[],
  columns: [number, number],
  limit: number,
): number[] {
  const stride = Math.max(1, Math.ceil(rows.length / limit));
  const out: number[] = [];
  for (let k = 0; k < rows.length; k += stride) {
    const row = rows[k] as number;
    out.push(x.data[row * x.columns + columns[0]] as number, x.data[row * x.columns + columns[1]] as number);
  }
  return out;
}

/**
 * One run of the page: the recipe (`fitRareEvents` with the design, estimator and the expected
 * sample size rate x negatives), the naive fit of the same kept rows, both models' calibration on
 * unsampled rows (the holdout, or the population), the pi of kept and dropped negatives, and a
 * scatter of the sample. The numbers are exactly the library's for the same data and seed.
 *
 * @param data - the population (and a holdout)
 * @param settings - design, estimator, sampling rate, pilot size, seed
 * @returns what the page shows
 * @throws RarefyError from the recipe (a pilot larger than a class, separation, ...) and
 *   `RAREFY_NO_POSITIVES` / `RAREFY_NO_NEGATIVES` for data with one class
 * @example
 * ```ts
 * const data = simulateRareEvents(generatorOptions(DEFAULT_GENERATOR));
 * const result = runExperiment({ name: 'A.10', ...data }, DEFAULT_EXPERIMENT);
 * ```
 */
export function runExperiment(data: ExperimentData, settings: ExperimentSettings): ExperimentResult {
  const started = performance.now();
  const { x, y } = data;
  const counts = countClasses(y, data.name);
  requireBothClasses(counts, data.name);
  const sampleSize = sampleSizeFor(settings.samplingRate, counts.negatives);
  const fit = fitRareEvents({
    x,
    y,
    design: settings.design,
    estimator: settings.estimator,
    pilotSize: settings.pilotSize,
    sampleSize,
    seed: settings.seed,
    returnPopulationPi: true,
  });
  const names = fit.names;
  const corrected = estimates(names, fit.coefficients, fit.standardErrors, fit.lower, fit.upper);

  const keptX = selectRows(x, fit.sample.rows);
  const naiveFit = fitLogistic(keptX, fit.sample.labels, { input: 'the sample, fitted naively' });
  const naiveErrors = standardErrors(
    invertSymmetric(naiveFit.information, x.columns, 'naive fit information', names),
    x.columns,
  );
  const naiveIntervals = waldIntervals(naiveFit.coefficients, naiveErrors);
  const naive = estimates(
    names,
    naiveFit.coefficients,
    naiveErrors,
    naiveIntervals.lower,
    naiveIntervals.upper,
  );

  const evaluation = data.holdout ?? {
    x,
    y,
    name: `all ${x.rows.toLocaleString('en-US')} rows of ${data.name} (unsampled)`,
  };
  const evaluationCounts = countClasses(evaluation.y, evaluation.name);
  const models: ModelCalibration[] = [
    [`${settings.design} sample, ${settings.estimator} corrected`, fit.coefficients],
    [`${settings.design} sample, naive (no correction)`, naiveFit.coefficients],
  ].map(([model, coefficients]) => {
    const report = calibrationReport(
      evaluation.y,
      predictProbability(evaluation.x, coefficients as Float64Array),
    );
    return {
      model: model as string,
      calibrationInTheLarge: report.calibrationInTheLarge,
      logLoss: report.logLoss,
      rocAuc: report.rocAuc,
      expectedCalibrationError: report.expectedCalibrationError,
      reliability: report.reliability.map((bin) => ({ ...bin })),
    };
  });

  const kept = new Uint8Array(x.rows);
  for (const row of fit.sample.rows) kept[row] = 1;
  const dropped: number[] = [];
  const keptNegatives: number[] = [];
  const positives: number[] = [];
  for (let i = 0; i < x.rows; i++) {
    if (y[i] === 1) positives.push(i);
    else if (kept[i] === 1) keptNegatives.push(i);
    else dropped.push(i);
  }
  const featureColumns: [number, number] = x.intercept
    ? [1, Math.min(2, x.columns - 1)]
    : [0, Math.min(1, x.columns - 1)];
  const scatter: SampleScatter = {
    features: [names[featureColumns[0]] as string, names[featureColumns[1]] as string],
    dropped: stridedPairs(x, dropped, featureColumns, 2500),
    keptNegatives: stridedPairs(x, keptNegatives, featureColumns, 2500),
    positives: stridedPairs(x, positives, featureColumns, 2500),
    totals: { dropped: dropped.length, keptNegatives: keptNegatives.length, positives: positives.length },
  };

  return {
    data: {
      name: data.name,
      rows: x.rows,
      positives: counts.positives,
      negatives: counts.negatives,
      features: names.filter((_, j) => !(x.intercept && j === 0)),
    },
    settings: { ...settings },
    sampleSize,
    sample: {
      positives: fit.sample.positives,
      negatives: fit.sample.negatives,
      expectedNegatives: fit.sample.expectedNegatives,
    },
    corrected,
    naive,
    truth: data.trueCoefficients ? byName(names, data.trueCoefficients) : null,
    calibration: {
      evaluatedOn: evaluation.name,
      rows: evaluation.x.rows,
      observedRate: evaluationCounts.positives / evaluation.x.rows,
      models,
    },
    piDistribution: piDistribution(y, fit.populationPi as Float64Array, fit.sample.rows, {
      design: settings.design,
    }),
    scatter,
    seconds: (performance.now() - started) / 1000,
  };
}
