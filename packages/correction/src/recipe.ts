import {
  addWeightedOuterProduct,
  countClasses,
  createRng,
  type DesignMatrix,
  type DesignName,
  designScores,
  drawBalancedPilot,
  keepProbability,
  linearPredictor,
  logisticDesignScores,
  optAMatrix,
  type PilotDraw,
  RarefyInputError,
  type Rng,
  requireArgument,
  requireBothClasses,
  type SampleResult,
  type ScaleSolution,
  sampleWithScores,
  selectRows,
  sigmoid,
  solveScale,
  symmetrizeFromLower,
  validateDesignMatrix,
} from '@rarefy/sampling-core';
import {
  combinePilotAndSample,
  type EstimatorName,
  fitSubsample,
  pilotInformation,
  standardErrors,
  waldIntervals,
} from './estimators.js';
import { fitLogistic, type LogisticFit } from './glm.js';

/** The stages of {@link fitRareEvents}, in order, as reported to `onProgress`. */
export type RecipeStage = 'validate' | 'pilot' | 'score' | 'scale' | 'sample' | 'fit';

/** Options of {@link fitRareEvents}. */
export interface FitRareEventsOptions {
  /** Design matrix of the whole population (intercept column first when it has one). */
  x: DesignMatrix;
  /** Labels 0/1, one per row of `x`. */
  y: Uint8Array;
  /** Sampling design (default `optA`). */
  design?: DesignName;
  /** `log-odds` (A.4, the default: the most efficient) or `ipw` (A.5). */
  estimator?: EstimatorName;
  /** Rows in the balanced pilot (default 1000: 500 per class). Not used by `uniform`. */
  pilotSize?: number;
  /**
   * Population-scale probabilities of an external pilot (any model: a network, an ONNX classifier),
   * one per row. The balanced pilot draw and fit are then skipped; optA's M is the average of
   * p(1 - p) x x' over all rows; and the result is the subsample estimate alone (there is no pilot
   * information matrix to combine with), with `pilot: null`.
   */
  pilotProbability?: Float64Array;
  /** Expected number of negatives to keep (default: the number of positives). Selects the `exact` scale. */
  sampleSize?: number;
  /** Sampling rate r in (0, 1] for the `rate` scale (c = r / mean score). Excludes `sampleSize`. */
  rate?: number;
  /** Defensive mixing with the uniform design, in [0, 1) (default 0). */
  alpha?: number;
  /** Floor of the negative-keep probability (default 1e-6): keeps offsets finite. */
  piMin?: number;
  /** Take a whole class for the pilot when it has fewer rows than asked (default false: error). */
  takeWholeClass?: boolean;
  /**
   * L2 penalty lambda on the non-intercept coefficients of the pilot and second-stage fits (and
   * lambda / n on optA's M), default 0. Real sparse data with duplicate or never-positive columns
   * (LibSVM sets such as w8a) needs it: without it the fits are rank deficient or separated. With a
   * ridge the penalised information does not fit A.8's combination, so `combine` defaults to false.
   */
  ridge?: number;
  /** Combine pilot and subsample estimates (A.8; default true, false with a ridge). */
  combine?: boolean;
  /**
   * Also return {@link RareEventsFit.populationPi}: pi at every row of `x`, kept or not (default
   * false: it costs one Float64Array of `x.rows` values). Plots of the kept and dropped negatives
   * and other diagnostics need it.
   */
  returnPopulationPi?: boolean;
  /** Seed (default 1) or a generator. */
  seed?: number | string;
  rng?: Rng;
  /** Called when a stage starts. */
  onProgress?: (stage: RecipeStage) => void;
}

/** Seconds spent in each stage of the recipe. */
export interface RecipeTimings {
  readonly validate: number;
  readonly pilot: number;
  readonly score: number;
  readonly scale: number;
  readonly sample: number;
  readonly fit: number;
  readonly total: number;
}

/** The result of {@link fitRareEvents}. */
export interface RareEventsFit {
  readonly design: DesignName;
  readonly estimator: EstimatorName;
  /** Coefficient names, `(Intercept)` first when the matrix has an intercept. */
  readonly names: readonly string[];
  /** The reported estimate: the pilot and subsample combination (A.8), or the subsample alone. */
  readonly coefficients: Float64Array;
  readonly standardErrors: Float64Array;
  /**
   * Sandwich covariance of `coefficients`, row-major d x d. For the combination it is
   * (I_p + I_s)^-1 (B_p + B_s + 2C) (I_p + I_s)^-1, where C = sum over the rows the pilot and the
   * sample share (every pilot positive) of (y - p_pilot)(w (y - mu)) x x'; without C the intervals
   * under-cover (about 92% for 95%) whenever the pilot holds a sizeable share of the positives.
   */
  readonly covariance: Float64Array;
  /** Wald 95% intervals. */
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  /** The second-stage estimate alone, with its own sandwich covariance. */
  readonly subsample: {
    readonly coefficients: Float64Array;
    readonly standardErrors: Float64Array;
    readonly covariance: Float64Array;
    readonly iterations: number;
  };
  /** The pilot: its draw and its corrected coefficients (null for `uniform`, which needs none). */
  readonly pilot: { readonly draw: PilotDraw; readonly coefficients: Float64Array } | null;
  /** The kept rows with `pi`, `offset` and `weight`. */
  readonly sample: SampleResult;
  /**
   * With `returnPopulationPi`: the design's negative-keep probability pi (mixed, floored, capped) at
   * every row of `x`, in row order, positives included: the value `sample.pi` holds for the rows
   * that were kept, and the one each dropped negative was refused with.
   */
  readonly populationPi?: Float64Array;
  /** The scale solution (c, expected sizes, rows at the cap and the floor). */
  readonly scale: ScaleSolution;
  /** Population class counts. */
  readonly population: { readonly rows: number; readonly positives: number; readonly negatives: number };
  readonly timings: RecipeTimings;
}

/**
 * C = sum over rows both in the pilot and in the sample of (y - p_pilot)(w (y - mu_sample)) x x': the
 * covariance of the pilot's and the sample's score contributions on the rows they share (w = 1 for
 * the log-odds estimator, the IPW weight otherwise). Symmetric, row-major d x d.
 */
function sharedRowsCrossMeat(
  x: DesignMatrix,
  pilotRows: Int32Array,
  pilotLabels: Uint8Array,
  pilotFitted: Float64Array,
  sample: SampleResult,
  sampleFitted: Float64Array,
  estimator: EstimatorName,
): Float64Array {
  const d = x.columns;
  const cross = new Float64Array(d * d);
  const pilotIndex = new Map<number, number>();
  for (let k = 0; k < pilotRows.length; k++) pilotIndex.set(pilotRows[k] as number, k);
  for (let k = 0; k < sample.rows.length; k++) {
    const row = sample.rows[k] as number;
    const p = pilotIndex.get(row);
    if (p === undefined) continue;
    const label = pilotLabels[p] as number;
    const w = estimator === 'ipw' ? (sample.weight[k] as number) : 1;
    const product = (label - (pilotFitted[p] as number)) * w * (label - (sampleFitted[k] as number));
    addWeightedOuterProduct(cross, x.data, row, d, product);
  }
  return symmetrizeFromLower(cross, d);
}

const now = (): number => performance.now() / 1000;

/** An external pilot's probabilities must be one finite probability per row. */
function requirePilotProbability(probability: Float64Array, rows: number): void {
  if (probability.length !== rows) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `pilotProbability: ${probability.length} probabilities for ${rows} rows of x`,
      'score every row of x with the pilot, in order',
      { input: 'pilotProbability' },
    );
  }
  for (let i = 0; i < rows; i++) {
    const value = probability[i] as number;
    if (!(value >= 0 && value <= 1)) {
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `pilotProbability: row ${i + 1} (index ${i}) is ${value}, not a probability`,
        "pass the pilot's population-scale probabilities (after its own sampling correction), each in [0, 1]",
        { input: 'pilotProbability', row: i, value },
      );
    }
  }
}

/**
 * The whole rare-events recipe in one call: validate, draw a balanced pilot and fit it (intercept
 * corrected by log(r1/r0)), score every row, solve the scale, Poisson-sample the negatives, fit the
 * corrected estimator on the sample, and combine it with the pilot (ALGORITHMS.md A.4-A.8).
 *
 * @param options - data, design, estimator, sizes and seed
 * @returns coefficients with sandwich standard errors and 95% intervals, the subsample estimate,
 *   the sample (rows, pi, offset, weight), realised and expected sizes, and per-stage timings
 * @example
 * ```ts
 * import { simulateRareEvents } from '@rarefy/sampling-core';
 * import { fitRareEvents } from '@rarefy/correction';
 *
 * const { x, y } = simulateRareEvents({ rows: 100_000, seed: 1 });
 * const fit = fitRareEvents({ x, y, design: 'optA', estimator: 'log-odds', pilotSize: 200, sampleSize: 1000, seed: 1 });
 * console.log(fit.names, fit.coefficients, fit.standardErrors, fit.sample.negatives);
 * ```
 */
export function fitRareEvents(options: FitRareEventsOptions): RareEventsFit {
  const started = now();
  const { x, y } = options;
  const design = options.design ?? 'optA';
  const ridge = options.ridge ?? 0;
  requireArgument(
    ridge >= 0 && Number.isFinite(ridge),
    'ridge',
    `${ridge} is not a penalty >= 0`,
    'pass ridge >= 0 (0: none)',
  );
  const estimator = options.estimator ?? 'log-odds';
  const rng = options.rng ?? createRng(options.seed ?? 1);
  const progress = options.onProgress ?? (() => {});
  const d = x.columns;

  progress('validate');
  // The scoring pass checks every value for finiteness on its way (naming the row and column); only
  // `uniform`, which scores nothing, needs the separate full pass.
  validateDesignMatrix(x, 'x', { finite: design === 'uniform' || options.pilotProbability !== undefined });
  if (y.length !== x.rows) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `y: ${y.length} labels for ${x.rows} rows of x`,
      'pass exactly one label per row',
      { input: 'y' },
    );
  }
  const counts = countClasses(y, 'y');
  requireBothClasses(counts, 'y');
  requireArgument(
    options.sampleSize === undefined || options.rate === undefined,
    'sampleSize',
    'both sampleSize and rate were given',
    'give sampleSize (exact scale) or rate (rate scale), not both',
  );
  const t1 = now();

  // Pilot (A.6): a balanced case-control draw, an unweighted fit, the intercept corrected.
  progress('pilot');
  let pilot: RareEventsFit['pilot'] = null;
  let pilotFit: LogisticFit | null = null;
  let pilotX: DesignMatrix | null = null;
  let pilotY: Uint8Array | null = null;
  const external = design === 'uniform' ? undefined : options.pilotProbability;
  if (external !== undefined) requirePilotProbability(external, x.rows);
  if (design !== 'uniform' && external === undefined) {
    const draw = drawBalancedPilot(y, options.pilotSize ?? 1000, rng, {
      takeWholeClass: options.takeWholeClass ?? false,
    });
    pilotX = selectRows(x, draw.rows);
    // A non-finite pilot row would fail the pilot fit under a pilot-relative row number: report it
    // against the whole data instead.
    if (!pilotX.data.every(Number.isFinite)) validateDesignMatrix(x, 'x');
    pilotY = new Uint8Array(draw.rows.length);
    for (let k = 0; k < draw.rows.length; k++) pilotY[k] = y[draw.rows[k] as number] as number;
    if (x.intercept) {
      pilotFit = fitLogistic(pilotX, pilotY, { input: 'pilot', ridge });
      const corrected = Float64Array.from(pilotFit.coefficients);
      corrected[0] = (corrected[0] as number) - draw.logOddsShift;
      pilot = { draw, coefficients: corrected };
    } else {
      // Without an intercept the shift enters as a constant offset on every pilot row.
      const offset = new Float64Array(draw.rows.length).fill(draw.logOddsShift);
      pilotFit = fitLogistic(pilotX, pilotY, { input: 'pilot', offset, ridge });
      pilot = { draw, coefficients: Float64Array.from(pilotFit.coefficients) };
    }
  }
  const t2 = now();

  // Score every row with the population-scale pilot probability, then the design's score.
  progress('score');
  let scores: Float64Array;
  if (external !== undefined) {
    const optAInverse =
      design === 'optA'
        ? optAMatrix(x, y, external, { negativeRate: 1, positiveRate: 1 }, { ridge }).inverse
        : undefined;
    scores = designScores(design, external, x, { optAInverse });
  } else if (pilot === null) {
    scores = new Float64Array(x.rows).fill(1);
  } else {
    let optAInverse: Float64Array | undefined;
    if (design === 'optA' && pilotX !== null && pilotY !== null) {
      const pilotProbability = linearPredictor(pilotX, pilot.coefficients);
      for (let i = 0; i < pilotProbability.length; i++)
        pilotProbability[i] = sigmoid(pilotProbability[i] as number);
      optAInverse = optAMatrix(pilotX, pilotY, pilotProbability, pilot.draw, { ridge }).inverse;
    }
    scores = logisticDesignScores(x, pilot.coefficients, design, { optAInverse });
  }
  const t3 = now();

  progress('scale');
  const scale = solveScale(design, scores, y, {
    method: options.rate !== undefined ? 'rate' : 'exact',
    sampleSize: options.rate !== undefined ? undefined : (options.sampleSize ?? counts.positives),
    rate: options.rate,
    alpha: options.alpha ?? 0,
    piMin: options.piMin ?? 1e-6,
  });
  const t4 = now();

  progress('sample');
  const sample = sampleWithScores(design, scores, y, scale, rng);
  let populationPi: Float64Array | undefined;
  if (options.returnPopulationPi === true) {
    populationPi = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) populationPi[i] = keepProbability(scores[i] as number, scale);
  }
  const t5 = now();

  // Second stage on the kept rows (A.4 started at the corrected pilot; A.5 started at 0), then A.8.
  progress('fit');
  const sampleX = selectRows(x, sample.rows);
  const subsample = fitSubsample(
    estimator,
    sampleX,
    sample.labels,
    { offset: sample.offset, weight: sample.weight },
    { start: estimator === 'log-odds' && pilot !== null ? pilot.coefficients : undefined, ridge },
  );
  let coefficients = subsample.coefficients;
  let covariance = subsample.covariance;
  if (
    (options.combine ?? ridge === 0) &&
    pilot !== null &&
    pilotFit !== null &&
    pilotX !== null &&
    pilotY !== null
  ) {
    const pilotMatrices = pilotInformation(pilotX, pilotY, pilotFit.fitted);
    // The pilot's rows are not independent of the sample's: every pilot positive is kept again (and
    // a pilot negative may be). The score of the combination is U_p + U_s, whose variance is
    // B_p + B_s + 2C with C the shared rows' cross products; leaving C out understates the variance.
    const cross = sharedRowsCrossMeat(
      x,
      pilot.draw.rows,
      pilotY,
      pilotFit.fitted,
      sample,
      subsample.fit.fitted,
      estimator,
    );
    const pilotMeat = Float64Array.from(pilotMatrices.meat, (value, k) => value + 2 * (cross[k] as number));
    const combined = combinePilotAndSample(
      { coefficients: pilot.coefficients, information: pilotMatrices.information, meat: pilotMeat },
      subsample,
      d,
    );
    coefficients = combined.coefficients;
    covariance = combined.covariance;
  }
  const errors = standardErrors(covariance, d);
  const intervals = waldIntervals(coefficients, errors);
  const t6 = now();

  return {
    design,
    estimator,
    names: x.names,
    coefficients,
    standardErrors: errors,
    covariance,
    lower: intervals.lower,
    upper: intervals.upper,
    subsample: {
      coefficients: subsample.coefficients,
      standardErrors: standardErrors(subsample.covariance, d),
      covariance: subsample.covariance,
      iterations: subsample.fit.iterations,
    },
    pilot,
    sample,
    ...(populationPi === undefined ? {} : { populationPi }),
    scale,
    population: { rows: x.rows, positives: counts.positives, negatives: counts.negatives },
    timings: {
      validate: t1 - started,
      pilot: t2 - t1,
      score: t3 - t2,
      scale: t4 - t3,
      sample: t5 - t4,
      fit: t6 - t5,
      total: t6 - started,
    },
  };
}
