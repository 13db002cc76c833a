/**
 * Small dense linear algebra for d x d symmetric positive (semi-)definite systems, d in the tens:
 * the Newton steps of the GLM, information matrices, optA's M^-1. Row-major Float64Array.
 */

/** Result of a Cholesky factorisation attempt. */
export interface CholeskyResult {
  /** Lower-triangular factor L (row-major d x d) with A = L L'; valid only when `ok`. */
  readonly factor: Float64Array;
  /** False when a pivot was not clearly positive: the matrix is singular or not positive definite. */
  readonly ok: boolean;
  /** The column whose pivot failed (-1 when ok). */
  readonly failedColumn: number;
  /** Smallest pivot relative to the largest diagonal entry: a cheap conditioning signal. */
  readonly relativeMinPivot: number;
}

/**
 * Cholesky factorisation A = L L' of a symmetric matrix. A pivot below `tolerance` times the largest
 * diagonal entry counts as zero (rank deficiency).
 *
 * @param matrix - row-major d x d symmetric matrix (only the lower triangle is read)
 * @param d - dimension
 * @param tolerance - relative pivot threshold (default 1e-12)
 */
export function cholesky(matrix: ArrayLike<number>, d: number, tolerance = 1e-12): CholeskyResult {
  const factor = new Float64Array(d * d);
  let maxDiagonal = 0;
  for (let i = 0; i < d; i++) maxDiagonal = Math.max(maxDiagonal, Math.abs(matrix[i * d + i] as number));
  const threshold = tolerance * (maxDiagonal > 0 ? maxDiagonal : 1);
  let minPivot = Number.POSITIVE_INFINITY;
  for (let j = 0; j < d; j++) {
    let diagonal = matrix[j * d + j] as number;
    for (let k = 0; k < j; k++) {
      const value = factor[j * d + k] as number;
      diagonal -= value * value;
    }
    if (!(diagonal > threshold)) {
      return {
        factor,
        ok: false,
        failedColumn: j,
        relativeMinPivot: Math.max(0, diagonal) / (maxDiagonal || 1),
      };
    }
    minPivot = Math.min(minPivot, diagonal);
    const root = Math.sqrt(diagonal);
    factor[j * d + j] = root;
    for (let i = j + 1; i < d; i++) {
      let sum = matrix[i * d + j] as number;
      for (let k = 0; k < j; k++) sum -= (factor[i * d + k] as number) * (factor[j * d + k] as number);
      factor[i * d + j] = sum / root;
    }
  }
  return { factor, ok: true, failedColumn: -1, relativeMinPivot: minPivot / (maxDiagonal || 1) };
}

/**
 * Solves L L' x = b for x, given the Cholesky factor L (row-major with row stride d). With `size`
 * below d it solves with the leading size x size block of L (a factorisation that failed at column
 * `size` is still valid there). Returns a new array of length `size`.
 */
export function choleskySolve(factor: Float64Array, d: number, b: ArrayLike<number>, size = d): Float64Array {
  const x = Float64Array.from({ length: size }, (_, i) => b[i] as number);
  for (let i = 0; i < size; i++) {
    let sum = x[i] as number;
    for (let k = 0; k < i; k++) sum -= (factor[i * d + k] as number) * (x[k] as number);
    x[i] = sum / (factor[i * d + i] as number);
  }
  for (let i = size - 1; i >= 0; i--) {
    let sum = x[i] as number;
    for (let k = i + 1; k < size; k++) sum -= (factor[k * d + i] as number) * (x[k] as number);
    x[i] = sum / (factor[i * d + i] as number);
  }
  return x;
}

/** The inverse of A from its Cholesky factor, as a row-major d x d symmetric matrix. */
export function choleskyInverse(factor: Float64Array, d: number): Float64Array {
  const inverse = new Float64Array(d * d);
  const unit = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    unit.fill(0);
    unit[j] = 1;
    const column = choleskySolve(factor, d, unit);
    for (let i = 0; i < d; i++) inverse[i * d + j] = column[i] as number;
  }
  return inverse;
}

/** Row-major product C = A B of d x d matrices. */
export function multiplySquare(a: ArrayLike<number>, b: ArrayLike<number>, d: number): Float64Array {
  const c = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k] as number;
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) c[i * d + j] = (c[i * d + j] as number) + aik * (b[k * d + j] as number);
    }
  }
  return c;
}

/** y = A x for a row-major d x d matrix A. */
export function multiplyMatrixVector(a: ArrayLike<number>, x: ArrayLike<number>, d: number): Float64Array {
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += (a[i * d + j] as number) * (x[j] as number);
    y[i] = sum;
  }
  return y;
}

/**
 * Adds w * x x' to the row-major d x d accumulator (both triangles), for x = row `row` of a
 * row-major matrix with d columns.
 */
export function addWeightedOuterProduct(
  accumulator: Float64Array,
  data: Float64Array,
  row: number,
  d: number,
  weight: number,
): void {
  const offset = row * d;
  for (let i = 0; i < d; i++) {
    const wi = weight * (data[offset + i] as number);
    if (wi === 0) continue;
    for (let j = 0; j <= i; j++)
      accumulator[i * d + j] = (accumulator[i * d + j] as number) + wi * (data[offset + j] as number);
  }
}

/** Copies the lower triangle onto the upper one (after accumulating with addWeightedOuterProduct). */
export function symmetrizeFromLower(matrix: Float64Array, d: number): Float64Array {
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) matrix[j * d + i] = matrix[i * d + j] as number;
  return matrix;
}
