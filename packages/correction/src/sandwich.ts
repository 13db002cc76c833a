import {
  addWeightedOuterProduct,
  type DesignMatrix,
  multiplySquare,
  RarefyFitError,
  symmetrizeFromLower,
} from '@rarefy/sampling-core';
import { solveSymmetricSystem } from './glm.js';
import { requireLength, requireRowLength } from './validate.js';

/**
 * sum_i w_i x_i x_i' over the rows of a design matrix: the building block of information (w =
 * weight * mu (1 - mu)) and meat (w = weight^2 (y - mu)^2) matrices.
 *
 * @param x - design matrix
 * @param rowWeights - one weight per row
 * @returns the row-major d x d symmetric matrix
 * @example
 * ```ts
 * const meat = weightedCrossProduct(x, Float64Array.from(fit.fitted, (p, i) => (y[i]! - p) ** 2));
 * ```
 */
export function weightedCrossProduct(x: DesignMatrix, rowWeights: Float64Array): Float64Array {
  requireRowLength(rowWeights.length, x.rows, 'rowWeights', 'weights');
  const d = x.columns;
  const result = new Float64Array(d * d);
  for (let i = 0; i < x.rows; i++) {
    const w = rowWeights[i] as number;
    if (w !== 0) addWeightedOuterProduct(result, x.data, i, d, w);
  }
  return symmetrizeFromLower(result, d);
}

/**
 * The inverse of a symmetric positive definite matrix (scaled Cholesky), with a typed error naming
 * the matrix when it is singular.
 *
 * @param matrix - row-major d x d symmetric matrix
 * @param d - dimension
 * @param input - the matrix's name for the error message
 * @param names - column names for the error message
 * @returns the row-major inverse
 * @throws RarefyFitError `RAREFY_RANK_DEFICIENT` when the matrix is singular
 * @example
 * ```ts
 * const inverse = invertSymmetric(fit.information, 7, 'information');
 * ```
 */
export function invertSymmetric(
  matrix: Float64Array,
  d: number,
  input: string,
  names?: readonly string[],
): Float64Array {
  requireLength(matrix.length, d * d, input, 'matrix entries');
  const inverse = new Float64Array(d * d);
  const unit = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    unit.fill(0);
    unit[j] = 1;
    const outcome = solveSymmetricSystem(matrix, unit, d);
    if (!outcome.ok) {
      const involved = outcome.involved.map((k) => `'${names?.[k] ?? `column ${k}`}'`).join(', ');
      throw new RarefyFitError(
        'RAREFY_RANK_DEFICIENT',
        `${input}: the matrix is singular (columns ${involved} are collinear in the rows it was computed on)`,
        'drop one of the collinear columns, or fit with a ridge penalty',
        { input, columns: outcome.involved },
      );
    }
    for (let i = 0; i < d; i++) inverse[i * d + j] = outcome.solution[i] as number;
  }
  // Exact symmetry (the column solves agree only to rounding).
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      const mean = 0.5 * ((inverse[i * d + j] as number) + (inverse[j * d + i] as number));
      inverse[i * d + j] = mean;
      inverse[j * d + i] = mean;
    }
  }
  return inverse;
}

/**
 * The sandwich covariance I^-1 B I^-1 (bread I, meat B).
 *
 * @param information - the bread I, row-major d x d
 * @param meat - the meat B, row-major d x d
 * @param d - dimension
 * @param names - column names for error messages
 * @returns the row-major d x d covariance
 * @throws RarefyFitError `RAREFY_RANK_DEFICIENT` when I is singular
 * @example
 * ```ts
 * const covariance = sandwichCovariance(information, meat, 7);
 * ```
 */
export function sandwichCovariance(
  information: Float64Array,
  meat: Float64Array,
  d: number,
  names?: readonly string[],
): Float64Array {
  requireLength(meat.length, d * d, 'meat', 'matrix entries');
  const inverse = invertSymmetric(information, d, 'information', names);
  const covariance = multiplySquare(multiplySquare(inverse, meat, d), inverse, d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      const mean = 0.5 * ((covariance[i * d + j] as number) + (covariance[j * d + i] as number));
      covariance[i * d + j] = mean;
      covariance[j * d + i] = mean;
    }
  }
  return covariance;
}
