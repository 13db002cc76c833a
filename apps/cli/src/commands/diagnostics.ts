import {
  type CalibrationReport,
  calibrationReport,
  fitLogistic,
  predictProbability,
  type RareEventsFit,
  type ReliabilityBin,
} from '@rarefy/correction';
import { type PiDistribution, piDistribution } from '@rarefy/demo/charts';
import { type DesignMatrix, RarefyError, selectRows } from '@rarefy/sampling-core';

/** One model's quality and calibration on unsampled rows (ALGORITHMS.md part C), JSON-ready. */
export interface CalibrationSummary {
  model: string;
  /** Mean predicted probability / observed rate (1 is right). */
  calibrationInTheLarge: number;
  logLoss: number;
  brier: number;
  rocAuc: number;
  prAuc: number;
  /** b of logit P(y = 1) = a + b logit(p) (1 is ideal). */
  calibrationSlope: number;
  calibrationIntercept: number;
  /** Over 15 equal-mass bins. */
  expectedCalibrationError: number;
  /** The 15 equal-mass bins: mean predicted, observed rate, count, Wilson 95% interval. */
  reliability: ReliabilityBin[];
}

/** Calibration of several models on the same unsampled rows. */
export interface CalibrationDiagnostics {
  /** Which rows ("all 40,000 rows of a10.csv (unsampled)", "200,000 fresh rows (unsampled)"). */
  evaluatedOn: string;
  rows: number;
  observedRate: number;
  models: CalibrationSummary[];
}

/** What `fit --diagnostics` adds to its JSON: calibration of the corrected and the naive model, and pi. */
export interface SamplingDiagnostics {
  calibration: CalibrationDiagnostics;
  /** pi of every negative, kept and dropped, binned on a log scale. */
  piDistribution: PiDistribution;
}

/**
 * A calibration report as JSON-ready summary fields (every metric of part C and the reliability bins).
 *
 * @param model - the model's name
 * @param report - `calibrationReport` of its predictions on unsampled rows
 * @returns the summary
 * @example
 * ```ts
 * calibrationSummary('corrected', calibrationReport(y, probability));
 * ```
 */
export function calibrationSummary(model: string, report: CalibrationReport): CalibrationSummary {
  return {
    model,
    calibrationInTheLarge: report.calibrationInTheLarge,
    logLoss: report.logLoss,
    brier: report.brier,
    rocAuc: report.rocAuc,
    prAuc: report.prAuc,
    calibrationSlope: report.calibrationSlope,
    calibrationIntercept: report.calibrationIntercept,
    expectedCalibrationError: report.expectedCalibrationError,
    reliability: report.reliability.map((bin) => ({ ...bin })),
  };
}

/**
 * What the sampling did and what the correction fixes, on the unsampled population: the corrected
 * model of a fit and the naive model (the same kept rows fitted without offsets or weights), both
 * scored on every row with `calibrationReport`, and the pi of every negative, kept and dropped.
 *
 * @param x - the population's design matrix (the fit's `x`)
 * @param y - its labels
 * @param fit - `fitRareEvents` run with `returnPopulationPi: true`
 * @param name - the data's name, for `evaluatedOn`
 * @returns calibration of both models and the pi histogram
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` when the fit has no `populationPi`; whatever
 *   `calibrationReport` throws (a constant prediction)
 * @example
 * ```ts
 * const fit = fitRareEvents({ x, y, design: 'optA', returnPopulationPi: true });
 * const diagnostics = samplingDiagnostics(x, y, fit, 'a10.csv');
 * ```
 */
export function samplingDiagnostics(
  x: DesignMatrix,
  y: Uint8Array,
  fit: RareEventsFit,
  name: string,
): SamplingDiagnostics {
  if (fit.populationPi === undefined) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      'fit: it has no populationPi, so the dropped negatives cannot be described',
      'run fitRareEvents with returnPopulationPi: true',
      { input: 'fit' },
    );
  }
  const naive = fitLogistic(selectRows(x, fit.sample.rows), fit.sample.labels, {
    input: 'the sample (naive fit)',
  });
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] as number;
  const models = [
    calibrationSummary(
      `${fit.design} sample, ${fit.estimator} corrected`,
      calibrationReport(y, predictProbability(x, fit.coefficients)),
    ),
    calibrationSummary(
      `${fit.design} sample, naive (no correction)`,
      calibrationReport(y, predictProbability(x, naive.coefficients)),
    ),
  ];
  return {
    calibration: {
      evaluatedOn: `all ${x.rows.toLocaleString('en-US')} rows of ${name} (unsampled)`,
      rows: x.rows,
      observedRate: positives / x.rows,
      models,
    },
    piDistribution: piDistribution(y, fit.populationPi, fit.sample.rows, { design: fit.design }),
  };
}
