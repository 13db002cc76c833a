import { fitLogistic } from '@rarefy/correction';
import {
  type DesignMatrix,
  type DesignName,
  exactScaleSetup,
  linearPredictor,
  type PilotDraw,
  sigmoid,
} from '@rarefy/sampling-core';
import { emptyEvaluation, type ScoreHistogram, solveIncreasing } from './histogram.js';

/** Bits of the significand per octave of the histogram pass: 64 bins per octave, each <= 1.6% wide. */
export const HISTOGRAM_BITS = 6;

/**
 * A logistic pilot fitted on a balanced case-control draw (ALGORITHMS.md A.6): `fitLogistic` on the
 * pilot rows, unweighted, then the intercept corrected by the draw's log(r1/r0), so the
 * probabilities are on the population scale. The one place both `sampleStream` and the SQL engine
 * recipe (`sampleWithEngine`) fit their pilot.
 *
 * @param x - the pilot rows' design matrix (intercept first)
 * @param y - their 0/1 labels
 * @param draw - the draw's `logOddsShift` = log(r1/r0)
 * @returns the corrected coefficients (intercept first) and each pilot row's corrected probability
 * @throws RarefyFitError when the fit fails (separation, rank deficiency), from `fitLogistic`
 * @example
 * ```ts
 * const { draw, x, y } = reservoir.result();
 * const { coefficients } = fitLogisticPilot(x, y, draw);
 * ```
 */
export function fitLogisticPilot(
  x: DesignMatrix,
  y: Uint8Array,
  draw: Pick<PilotDraw, 'logOddsShift'>,
): { coefficients: Float64Array; probability: Float64Array } {
  const fit = fitLogistic(x, y, { input: 'pilot' });
  const coefficients = Float64Array.from(fit.coefficients);
  coefficients[0] = (coefficients[0] as number) - draw.logOddsShift;
  const probability = linearPredictor(x, coefficients);
  for (let i = 0; i < probability.length; i++) probability[i] = sigmoid(probability[i] as number);
  return { coefficients, probability };
}

/** What {@link solveHistogramScale} solves: histograms of the design scores and the sizes. */
export interface HistogramScaleProblem {
  /** The design (LCC also thins the positives). */
  design: DesignName;
  /** The negatives' scores s. */
  negatives: ScoreHistogram;
  /** LCC only: the positives' 1 - s (else null). */
  positives: ScoreHistogram | null;
  /** N0 and N1 of the input. */
  populationNegatives: number;
  populationPositives: number;
  /** Expected negatives to keep (default N1). */
  sampleSize?: number;
  /** Defensive mixing in [0, 1). */
  alpha: number;
  /** Floor of the keep probability in (0, 1). */
  piMin: number;
}

/** The scale solved by {@link solveHistogramScale}. */
export interface HistogramScaleSolution {
  /** c. */
  readonly scale: number;
  /** c0, the uniform rate with the same budget. */
  readonly uniformRate: number;
  /** The expected kept rows the scale was solved for (negatives, + N1 kept positives for LCC). */
  readonly target: number;
  /** True when every row with a positive score is capped at 1 (the target needs all of them). */
  readonly capsEverything: boolean;
  /** Bins spanned by the observed range of the scores. */
  readonly histogramBins: number;
  /** Evaluations of the expected size the solver made. */
  readonly iterations: number;
  /** The histogram's estimate of the expected kept negatives at `scale`. */
  readonly expectedNegatives: number;
  /** The histogram's estimate of the expected kept positives at `scale` (N1 outside LCC). */
  readonly expectedPositives: number;
  /** The histogram's estimate of the negatives at the cap and at the floor. */
  readonly atCap: number;
  readonly atFloor: number;
}

/**
 * Solves the `exact` scale c on histograms of the design scores (ALGORITHMS.md A.7, out of core): c
 * such that the histogram's expected kept negatives (+ N1 kept positives under LCC, as `solveScale`
 * does) equal the target, every bin's scores taken at their mean. Shared by `sampleStream` (bins
 * filled row by row) and `sampleWithEngine` (bins aggregated by an SQL `GROUP BY`).
 *
 * @param problem - the histograms, class counts, sample size, alpha and piMin
 * @returns the scale, the uniform rate and the histogram's estimates at that scale
 * @throws RarefySamplingError `RAREFY_SAMPLE_TOO_LARGE`; RarefyError `RAREFY_INVALID_ARGUMENT` when
 *   every score is 0, the floor alone exceeds the target, or zero scores make the target unreachable
 * @example
 * ```ts
 * const solved = solveHistogramScale({ design: 'optA', negatives, positives: null,
 *   populationNegatives: 99_000, populationPositives: 1_000, alpha: 0, piMin: 1e-6 });
 * ```
 */
export function solveHistogramScale(problem: HistogramScaleProblem): HistogramScaleSolution {
  const { design, negatives, positives, alpha, piMin } = problem;
  const negativesCount = problem.populationNegatives;
  const positivesCount = problem.populationPositives;
  const slopeFactor = 1 - alpha;
  const sampleSize = problem.sampleSize ?? positivesCount;
  const histograms = positives === null ? [negatives] : [negatives, positives];
  let zeros = 0;
  let minimum = Number.POSITIVE_INFINITY;
  let sumConsidered = 0;
  let histogramBins = 0;
  for (const histogram of histograms) {
    zeros += histogram.zeros;
    minimum = Math.min(minimum, histogram.minimum);
    sumConsidered += histogram.total;
    histogramBins += histogram.span;
  }
  const { target, uniformRate, base, capAll, capsEverything, initial } = exactScaleSetup(design, {
    populationNegatives: negativesCount,
    populationPositives: positivesCount,
    zeroScores: zeros,
    sumConsidered,
    minPositiveScore: minimum,
    sampleSize,
    alpha,
    piMin,
  });
  const evaluateHistogram = (c: number): { value: number; slope: number } => {
    const evaluation = emptyEvaluation();
    for (const histogram of histograms) histogram.evaluate(slopeFactor * c, base, piMin, evaluation);
    return { value: evaluation.value, slope: slopeFactor * evaluation.slope };
  };
  let scale: number;
  let iterations = 1;
  if (capsEverything) {
    scale = capAll;
  } else {
    const solved = solveIncreasing(evaluateHistogram, target, 0, capAll, initial);
    scale = solved.scale;
    iterations = solved.evaluations;
  }
  const atNegatives = emptyEvaluation();
  negatives.evaluate(slopeFactor * scale, base, piMin, atNegatives);
  let expectedPositives = positivesCount;
  if (positives !== null) {
    const atPositives = emptyEvaluation();
    positives.evaluate(slopeFactor * scale, base, piMin, atPositives);
    expectedPositives = atPositives.value;
  }
  return {
    scale,
    uniformRate,
    target,
    capsEverything,
    histogramBins,
    iterations,
    expectedNegatives: atNegatives.value,
    expectedPositives,
    atCap: atNegatives.atCap,
    atFloor: atNegatives.atFloor,
  };
}
