import {
  type EstimatorName,
  type FitRareEventsOptions,
  fitRareEvents,
  type RareEventsFit,
} from '@rarefy/correction';
import {
  type ColumnBatch,
  type DesignMatrix,
  type Pilot,
  RarefyError,
  requireArgument,
} from '@rarefy/sampling-core';
import { LogisticPilot } from './logistic-pilot.js';

/**
 * How to sample and fit a final logistic model with a given pilot: the estimator, the defensive
 * mixing weight of the design, and why.
 */
export interface PilotCorrection {
  readonly estimator: EstimatorName;
  /** Defensive mixing with the uniform design (A.3): pi = (1 - alpha) c s + alpha c0. */
  readonly alpha: number;
  /** One sentence for people. */
  readonly reason: string;
}

/** The defensive mixing {@link correctionForPilot} recommends for a pilot that is not logistic. */
export const NON_LOGISTIC_PILOT_ALPHA = 0.3;

/**
 * The estimator and defensive mixing for a final logistic model fitted on a sample drawn with
 * `pilot`'s probabilities (README "Which estimator with which pilot": measured on w8a and on
 * generated data):
 *
 * - a {@link LogisticPilot}: `log-odds` (A.4, the more efficient), `alpha` 0. Its keep probabilities
 *   depend on x through x'b, so the offsets -log pi are (nearly) linear in x and the final logistic
 *   model absorbs them: even a misspecified final model lands near the full-data fit (w8a: CITL
 *   0.99-1.03 at 10% and 5% of the negatives, log loss within 2% of the full-data fit's).
 * - any other pilot (a network, an ONNX classifier, a pilot of unknown family): `ipw` (A.5) with
 *   `alpha` 0.3. Its keep probabilities depend on x in ways a logistic model cannot represent; when
 *   that model is misspecified (as on real data it is) the log-odds estimator converges to a
 *   different target than the full-data fit, while the inverse-probability-weighted likelihood
 *   estimates the full-data fit whatever the model (generated data: log-odds CITL 1.09 and 7x IPW's
 *   distance from the full-data coefficients). A sharp pilot (a network is typically overconfident)
 *   also gives some kept negatives weights of thousands, so IPW alone is noisy: mixing 30% of the
 *   uniform design bounds the weights (at 1/(0.3 r)) and costs little. On w8a: CITL 1.00-1.05 against
 *   1.10-1.75 for log-odds without mixing.
 *
 * @param pilot - the pilot whose probabilities drive the design
 * @returns the estimator, alpha and the reason
 * @example
 * ```ts
 * const { estimator, alpha } = correctionForPilot(network); // 'ipw', 0.3
 * ```
 */
export function correctionForPilot(pilot: Pilot): PilotCorrection {
  if (pilot instanceof LogisticPilot) {
    return {
      estimator: 'log-odds',
      alpha: 0,
      reason:
        'a logistic pilot is in the final model’s family: its offsets are linear in x, so the log-odds estimator (the more efficient) stays on the full-data target',
    };
  }
  return {
    estimator: 'ipw',
    alpha: NON_LOGISTIC_PILOT_ALPHA,
    reason:
      'the pilot is not a logistic model: its keep probabilities depend on x in ways a logistic final model cannot represent, so the log-odds estimator drifts from the full-data fit when that model is misspecified and inverse-probability weights do not; defensive mixing (alpha 0.3) bounds the weights a sharp pilot would make huge',
  };
}

/** Options of {@link fitWithPilot}: those of `fitRareEvents`, with a pilot instead of its probabilities. */
export interface FitWithPilotOptions extends Omit<FitRareEventsOptions, 'pilotProbability' | 'estimator'> {
  /**
   * The pilot, of whatever kind: a {@link Pilot} whose features are columns of `x` (by name; the
   * intercept column is not offered to it), e.g. a trained `NeuralPilot` or a loaded `OnnxPilot`.
   */
  readonly pilot: Pilot;
  /** The estimator (default: {@link correctionForPilot}'s). */
  readonly estimator?: EstimatorName;
  /** Defensive mixing (default: {@link correctionForPilot}'s: 0 for a logistic pilot, 0.3 otherwise). */
  readonly alpha?: number;
}

/** The result of {@link fitWithPilot}: `fitRareEvents`' result and the estimator's reason. */
export interface FitWithPilotResult extends RareEventsFit {
  /** The estimator and alpha used, and why (`given` when both were passed). */
  readonly correction: PilotCorrection;
  /** The pilot's probability of every row of `x`. */
  readonly pilotProbability: Float64Array;
}

/** The columns of a design matrix (without the intercept) as a batch, for any pilot. */
function matrixBatch(x: DesignMatrix): ColumnBatch {
  const first = x.intercept ? 1 : 0;
  const names = x.names.slice(first);
  const columns: Record<string, Float64Array> = {};
  names.forEach((name, k) => {
    const column = new Float64Array(x.rows);
    for (let i = 0, at = k + first; i < x.rows; i++, at += x.columns) column[i] = x.data[at] as number;
    columns[name] = column;
  });
  return {
    schema: names.map((name) => ({ name, type: 'number' as const })),
    rows: x.rows,
    firstRow: 0,
    columns,
  };
}

/**
 * The recipe with any pilot: scores every row of `x` with `pilot`, then runs `fitRareEvents` with
 * those probabilities (`pilotProbability`: the design's scores from them, the exact scale, the
 * sample, the corrected final logistic model) and, unless given, the estimator and defensive mixing
 * {@link correctionForPilot} recommends: `log-odds` without mixing for a {@link LogisticPilot}, `ipw`
 * with alpha 0.3 for any other.
 *
 * @param options - the data, the pilot, and `fitRareEvents`' options (design, sizes, alpha, ridge, seed)
 * @returns the fit, the estimator used and why, and the pilot's probabilities
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` when the pilot reads a column `x` does not have; as
 *   `fitRareEvents`
 * @example
 * ```ts
 * const fit = await fitWithPilot({ x, y, pilot: network, design: 'optL', sampleSize: 10_000, ridge: 1, seed: 1 });
 * console.log(fit.correction.estimator, fit.coefficients); // 'ipw', ...
 * ```
 */
export async function fitWithPilot(options: FitWithPilotOptions): Promise<FitWithPilotResult> {
  const { pilot, estimator, alpha, ...recipe } = options;
  const batch = matrixBatch(options.x);
  const missing = pilot.features.filter((name) => batch.columns[name] === undefined);
  if (missing.length > 0) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `pilot: reads ${missing.map((name) => `"${name}"`).join(', ')}, which x does not have (its columns: ${batch.schema.map((column) => column.name).join(', ')})`,
      'build x with the columns the pilot was trained on (same names)',
      { input: 'pilot', missing },
    );
  }
  const pilotProbability = await pilot.predictProbability(batch);
  requireArgument(
    pilotProbability.length === options.x.rows,
    'pilot',
    `gave ${pilotProbability.length} probabilities for ${options.x.rows} rows`,
    'use a pilot that scores every row once',
  );
  const recommended = correctionForPilot(pilot);
  const correction: PilotCorrection = {
    estimator: estimator ?? recommended.estimator,
    alpha: alpha ?? recommended.alpha,
    reason: estimator !== undefined && alpha !== undefined ? 'given' : recommended.reason,
  };
  const fit = fitRareEvents({
    ...recipe,
    pilotProbability,
    estimator: correction.estimator,
    alpha: correction.alpha,
  });
  return { ...fit, correction, pilotProbability };
}
