import { RarefyError, RarefyInputError } from './errors.js';

/**
 * A dense design matrix: `rows` x `columns` values in row-major order. When `intercept` is true,
 * column 0 is the constant 1 (and is named `(Intercept)`); every design and estimator then treats
 * it as the model's intercept.
 */
export interface DesignMatrix {
  /** Row-major values: row i, column j is `data[i * columns + j]`. */
  readonly data: Float64Array;
  readonly rows: number;
  readonly columns: number;
  /** One name per column, `(Intercept)` first when `intercept` is true. */
  readonly names: readonly string[];
  /** Whether column 0 is the constant 1. */
  readonly intercept: boolean;
}

/** The name of the intercept column. */
export const INTERCEPT_NAME = '(Intercept)';

/**
 * Builds a design matrix from row-major feature values, prepending the intercept column when asked.
 *
 * @param features - row-major feature values (without intercept), length rows x names.length
 * @param names - feature names
 * @param options - `intercept` (default true) prepends a column of ones
 * @returns the design matrix (a new array when an intercept is added)
 * @example
 * ```ts
 * const x = designMatrix(new Float64Array([0.5, 1, -0.2, 3]), ['a', 'b']); // 2 rows, 3 columns
 * ```
 */
export function designMatrix(
  features: Float64Array,
  names: readonly string[],
  options: { intercept?: boolean } = {},
): DesignMatrix {
  const width = names.length;
  if (width === 0 && options.intercept === false) {
    throw new RarefyInputError('RAREFY_INVALID_ARGUMENT', 'names: no columns', 'give at least one feature', {
      input: 'names',
    });
  }
  if (width > 0 && features.length % width !== 0) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `features: ${features.length} values do not split into rows of ${width} columns`,
      'pass row-major values with exactly one value per feature name in every row',
      { input: 'features', values: features.length, columns: width },
    );
  }
  const rows = width === 0 ? 0 : features.length / width;
  if (options.intercept === false) {
    return { data: features, rows, columns: width, names: [...names], intercept: false };
  }
  const columns = width + 1;
  const data = new Float64Array(rows * columns);
  for (let i = 0; i < rows; i++) {
    const to = i * columns;
    data[to] = 1;
    data.set(features.subarray(i * width, (i + 1) * width), to + 1);
  }
  return { data, rows, columns, names: [INTERCEPT_NAME, ...names], intercept: true };
}

/**
 * Copies the given rows of a design matrix into a new one (same columns, rows in the given order).
 *
 * @param x - the matrix
 * @param rows - row indices (0-based)
 */
export function selectRows(x: DesignMatrix, rows: ArrayLike<number>): DesignMatrix {
  const d = x.columns;
  const data = new Float64Array(rows.length * d);
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k] as number;
    data.set(x.data.subarray(i * d, i * d + d), k * d);
  }
  return { data, rows: rows.length, columns: d, names: x.names, intercept: x.intercept };
}

/** x_i' beta for every row: the linear predictor (log odds) of a linear model. */
export function linearPredictor(
  x: DesignMatrix,
  coefficients: ArrayLike<number>,
  out?: Float64Array,
): Float64Array {
  const n = x.rows;
  const d = x.columns;
  if (coefficients.length !== d) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `coefficients: ${coefficients.length} values for a matrix of ${d} columns`,
      'pass one coefficient per column, the intercept first when the matrix has one',
      { input: 'coefficients' },
    );
  }
  const result = out ?? new Float64Array(n);
  const data = x.data;
  for (let i = 0, offset = 0; i < n; i++, offset += d) {
    let eta = 0;
    for (let j = 0; j < d; j++) eta += (data[offset + j] as number) * (coefficients[j] as number);
    result[i] = eta;
  }
  return result;
}

/** The logistic function 1 / (1 + e^-z), computed without overflow for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(p / (1 - p)). */
export function logit(probability: number): number {
  return Math.log(probability / (1 - probability));
}
