import {
  correctCaseControlIntercept,
  fitLogistic,
  type LogisticFit,
  type RareEventsFit,
} from '@rarefy/correction';
import type { TrainingRecord } from '@rarefy/model-kit';
import {
  batchLogisticProbability,
  type ColumnBatch,
  createRng,
  type DesignMatrix,
  drawBalancedPilot,
  logisticProbabilities,
  type Pilot,
  type PilotDraw,
  RarefyError,
  RarefyInputError,
  type Rng,
  selectRows,
  validateDesignMatrix,
} from '@rarefy/sampling-core';
import { linearTerms } from './onnx/linear-terms.js';
import { type LogisticToOnnxOptions, logisticToOnnx } from './onnx/logistic.js';

/** Options of {@link LogisticPilot.fit}. */
export interface LogisticPilotFitOptions {
  /** Design matrix of the whole population (the intercept column first when it has one). */
  x: DesignMatrix;
  /** Labels 0/1, one per row of `x`. */
  y: Uint8Array;
  /** Rows in the balanced pilot (default 1000: 500 per class). */
  pilotSize?: number;
  /** Seed (default 1); the draw is the one `fitRareEvents` makes with the same seed. */
  seed?: number | string;
  /** A generator instead of `seed` (consumed by the draw). */
  rng?: Rng;
  /** Take a whole class when it has fewer rows than asked (default false: a typed error). */
  takeWholeClass?: boolean;
}

/** How a {@link LogisticPilot} was fitted: a balanced case-control pilot (ALGORITHMS.md A.6). */
export interface LogisticPilotFitted {
  readonly design: 'balanced';
  /** n0, n1 drawn and N0, N1 in the population. */
  readonly sizes: {
    readonly negatives: number;
    readonly positives: number;
    readonly populationNegatives: number;
    readonly populationPositives: number;
  };
  /**
   * log(r1 / r0), r1 = n1/N1 and r0 = n0/N0: subtracted from the fitted intercept (or, without an
   * intercept, entered as a constant offset on every pilot row).
   */
  readonly interceptCorrection: number;
  /** The seed of the draw (null when a generator was passed). */
  readonly seed: number | string | null;
  /** The class taken whole under `takeWholeClass`, else null. */
  readonly wholeClass: 'positives' | 'negatives' | null;
}

/** Options of {@link LogisticPilot.fromCoefficients}. */
export interface LogisticCoefficientsOptions {
  /**
   * Whether `coefficients[0]` is the intercept. Default: inferred (true when `names[0]` is
   * `(Intercept)` or there is one more coefficient than names).
   */
  intercept?: boolean;
  /** How the coefficients were obtained (written to a saved model's manifest). */
  training?: TrainingRecord;
  /** How the pilot was fitted, when restoring a saved balanced pilot. */
  fitted?: LogisticPilotFitted;
}

/**
 * A logistic-regression pilot: population-scale probabilities sigma(x' beta) from named numeric
 * columns. Fit one on a balanced case-control draw ({@link LogisticPilot.fit}, the recipe's first
 * step, ALGORITHMS.md A.6) or wrap known coefficients ({@link LogisticPilot.fromCoefficients},
 * {@link LogisticPilot.fromRareEventsFit}). Browser-safe.
 *
 * @example
 * ```ts
 * import { simulateRareEvents } from '@rarefy/sampling-core';
 * import { LogisticPilot } from '@rarefy/pilot-model';
 *
 * const { x, y } = simulateRareEvents({ rows: 100_000, seed: 1 });
 * const pilot = LogisticPilot.fit({ x, y, pilotSize: 1000, seed: 1 });
 * const p = pilot.predictMatrix(x); // population-scale probabilities
 * ```
 */
export class LogisticPilot implements Pilot {
  /** The feature columns read from a batch, in coefficient order (the intercept excluded). */
  readonly features: readonly string[];
  /** The coefficient names: `(Intercept)` first when the model has one, then `features`. */
  readonly names: readonly string[];
  /** Population-scale coefficients in `names` order (the intercept corrected). */
  readonly coefficients: Float64Array;
  /** Whether `coefficients[0]` is an intercept. */
  readonly intercept: boolean;
  /** How the pilot was fitted, or null for coefficients given from elsewhere. */
  readonly fitted: LogisticPilotFitted | null;
  /** The pilot draw (rows, rates), when fitted in this process; null otherwise (not saved). */
  readonly pilotDraw: PilotDraw | null;
  /** The GLM fit on the pilot rows before the intercept correction (its `fitted` feed A.8); not saved. */
  readonly uncorrectedFit: LogisticFit | null;
  /** How the coefficients were obtained, for a saved model's manifest (null when unknown). */
  readonly training: TrainingRecord | null;

  private constructor(parts: {
    names: readonly string[];
    coefficients: Float64Array;
    intercept: boolean;
    features: readonly string[];
    fitted: LogisticPilotFitted | null;
    pilotDraw: PilotDraw | null;
    uncorrectedFit: LogisticFit | null;
    training: TrainingRecord | null;
  }) {
    this.names = parts.names;
    this.coefficients = parts.coefficients;
    this.intercept = parts.intercept;
    this.features = parts.features;
    this.fitted = parts.fitted;
    this.pilotDraw = parts.pilotDraw;
    this.uncorrectedFit = parts.uncorrectedFit;
    this.training = parts.training;
  }

  /**
   * Draws a balanced pilot (n/2 negatives and n/2 positives uniformly without replacement), fits an
   * unweighted logistic regression on it with `fitLogistic`, and corrects the intercept by
   * log(r1/r0) with `correctCaseControlIntercept` (without an intercept, the shift enters as a
   * constant offset). With the same seed and size this is exactly the pilot of `fitRareEvents`.
   *
   * @param options - data, pilot size, seed, `takeWholeClass`
   * @returns the fitted pilot
   * @throws RarefyInputError `RAREFY_PILOT_TOO_LARGE`, `RAREFY_NO_POSITIVES`, `RAREFY_NO_NEGATIVES`,
   *   `RAREFY_NON_FINITE`; RarefyFitError from the fit (`RAREFY_SEPARATION`, ...)
   * @example
   * ```ts
   * const pilot = LogisticPilot.fit({ x, y, pilotSize: 1000, seed: 1 });
   * console.log(pilot.coefficients, pilot.fitted?.interceptCorrection);
   * ```
   */
  static fit(options: LogisticPilotFitOptions): LogisticPilot {
    const { x, y } = options;
    if (y.length !== x.rows) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `y: ${y.length} labels for ${x.rows} rows of x`,
        'pass exactly one label per row',
        { input: 'y' },
      );
    }
    const seed = options.rng === undefined ? (options.seed ?? 1) : null;
    const rng = options.rng ?? createRng(options.seed ?? 1);
    const draw = drawBalancedPilot(y, options.pilotSize ?? 1000, rng, {
      takeWholeClass: options.takeWholeClass ?? false,
    });
    const pilotX = selectRows(x, draw.rows);
    // Report a non-finite value against the whole data, not under a pilot-relative row number.
    if (!pilotX.data.every(Number.isFinite)) validateDesignMatrix(x, 'x');
    const pilotY = new Uint8Array(draw.rows.length);
    for (let k = 0; k < draw.rows.length; k++) pilotY[k] = y[draw.rows[k] as number] as number;
    let fit: LogisticFit;
    let coefficients: Float64Array;
    if (x.intercept) {
      fit = fitLogistic(pilotX, pilotY, { input: 'pilot' });
      coefficients = correctCaseControlIntercept(fit.coefficients, draw.positiveRate, draw.negativeRate);
    } else {
      const offset = new Float64Array(draw.rows.length).fill(draw.logOddsShift);
      fit = fitLogistic(pilotX, pilotY, { input: 'pilot', offset });
      coefficients = Float64Array.from(fit.coefficients);
    }
    const sizes = {
      negatives: draw.negatives,
      positives: draw.positives,
      populationNegatives: draw.populationNegatives,
      populationPositives: draw.populationPositives,
    };
    const fitted: LogisticPilotFitted = {
      design: 'balanced',
      sizes,
      interceptCorrection: draw.logOddsShift,
      seed,
      wholeClass: draw.wholeClass,
    };
    const terms = linearTerms(x.names, coefficients, x.intercept, 'pilot');
    return new LogisticPilot({
      names: terms.names,
      coefficients: terms.coefficients,
      intercept: x.intercept,
      features: terms.features,
      fitted,
      pilotDraw: draw,
      uncorrectedFit: fit,
      training: {
        design: 'balanced',
        estimator: 'case-control',
        sizes: { ...sizes },
        seed,
        interceptCorrection: draw.logOddsShift,
        wholeClass: draw.wholeClass,
        iterations: fit.iterations,
        deviance: fit.deviance,
      },
    });
  }

  /**
   * Wraps known population-scale coefficients (a pilot fitted elsewhere, or a corrected final model).
   *
   * @param names - coefficient names (`(Intercept)` first when there is one) or just the feature names
   * @param coefficients - one per feature, the intercept first when the model has one
   * @param options - `intercept` (default: inferred) and the `training` record for saving
   * @returns the pilot
   * @example
   * ```ts
   * const pilot = LogisticPilot.fromCoefficients(['(Intercept)', 'x1', 'x2'], [-6, 0.5, -0.5]);
   * const same = LogisticPilot.fromCoefficients(['x1', 'x2'], [-6, 0.5, -0.5], { intercept: true });
   * ```
   */
  static fromCoefficients(
    names: readonly string[],
    coefficients: ArrayLike<number>,
    options: LogisticCoefficientsOptions = {},
  ): LogisticPilot {
    const terms = linearTerms(names, coefficients, options.intercept, 'coefficients');
    return new LogisticPilot({
      names: terms.names,
      coefficients: terms.coefficients,
      intercept: terms.intercept !== null,
      features: terms.features,
      fitted: options.fitted ?? null,
      pilotDraw: null,
      uncorrectedFit: null,
      training: options.training ?? null,
    });
  }

  /**
   * Wraps the corrected final model of `fitRareEvents` (its reported coefficients), recording how it
   * was trained (design, estimator, realised sample and population sizes, pilot sizes, seed).
   *
   * @param fit - the recipe's result
   * @param options - the `seed` the recipe ran with (recorded; default null)
   * @returns the model as a pilot
   * @example
   * ```ts
   * const fit = fitRareEvents({ x, y, design: 'optA', seed: 1 });
   * const model = LogisticPilot.fromRareEventsFit(fit, { seed: 1 });
   * ```
   */
  static fromRareEventsFit(fit: RareEventsFit, options: { seed?: number | string } = {}): LogisticPilot {
    const sizes: Record<string, number> = {
      negatives: fit.sample.negatives,
      positives: fit.sample.positives,
      populationNegatives: fit.population.negatives,
      populationPositives: fit.population.positives,
    };
    if (fit.pilot !== null) {
      sizes.pilotNegatives = fit.pilot.draw.negatives;
      sizes.pilotPositives = fit.pilot.draw.positives;
    }
    return LogisticPilot.fromCoefficients(fit.names, fit.coefficients, {
      intercept: fit.names[0] === '(Intercept)',
      training: {
        design: fit.design,
        estimator: fit.estimator,
        sizes,
        seed: options.seed ?? null,
        expectedNegatives: fit.sample.expectedNegatives,
      },
    });
  }

  /**
   * Population-scale probabilities for a batch: sigma(x' beta) over the `features` columns, read
   * from the batch's own arrays in blocks of rows, four columns per pass and the logistic map fused
   * with the last (`batchLogisticProbability` of `@rarefy/sampling-core`): at least half the speed
   * of merely reading the columns (`bench/scoring.ts`).
   *
   * @param batch - rows with every feature column (numeric, label or integer)
   * @returns one probability per row
   * @throws RarefyInputError when a feature column is missing; RarefyError when it holds strings
   * @example
   * ```ts
   * const p = pilot.predictProbability(batch);
   * ```
   */
  predictProbability(batch: ColumnBatch): Float64Array {
    return batchLogisticProbability(batch, this.features, this.coefficients, { intercept: this.intercept });
  }

  /**
   * Population-scale probabilities sigma(x' beta) for a design matrix with this model's columns
   * (`logisticProbabilities` of `@rarefy/sampling-core`: blocked, no inner loop over the columns).
   *
   * @param x - rows x (intercept +) features, in `names` order
   * @returns one probability per row
   * @throws RarefyError `RAREFY_DIMENSION_MISMATCH` when the columns differ
   * @example
   * ```ts
   * const p = pilot.predictMatrix(xHeldOut);
   * ```
   */
  predictMatrix(x: DesignMatrix): Float64Array {
    if (x.columns !== this.coefficients.length || x.intercept !== this.intercept) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `x: ${x.columns} columns (${x.names.join(', ')}) for a model with ${this.coefficients.length} coefficients (${this.names.join(', ')})`,
        'pass a design matrix with the model’s columns in its order, the intercept first when it has one',
        { input: 'x', columns: x.columns, expected: this.coefficients.length },
      );
    }
    return logisticProbabilities(x, this.coefficients);
  }

  /**
   * The model as ONNX (see {@link logisticToOnnx}): input `features` [N, p] in `features` order,
   * output `probability` [N, 1].
   *
   * @param options - `withOffsetInput` for the training-time variant, `output` scale
   * @returns the serialised ModelProto
   * @example
   * ```ts
   * await writeFile('pilot.onnx', pilot.toOnnx());
   * ```
   */
  toOnnx(options: Omit<LogisticToOnnxOptions, 'intercept'> = {}): Uint8Array {
    return logisticToOnnx(this.names, this.coefficients, { ...options, intercept: this.intercept });
  }
}
