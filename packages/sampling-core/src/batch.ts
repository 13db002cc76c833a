import { RarefyError, RarefyInputError } from './errors.js';
import { type DesignMatrix, INTERCEPT_NAME } from './matrix.js';

/**
 * A column's logical type: `number` (Float64Array), `label` (Uint8Array of 0/1), `integer`
 * (Int32Array, e.g. ids) or `string` (dictionary-encoded).
 */
export type ColumnType = 'number' | 'label' | 'integer' | 'string';

/** One column of a schema. */
export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
}

/** A string column, dictionary-encoded: row i holds `values[codes[i]]` (`codes[i] = -1` for missing). */
export interface DictionaryColumn {
  readonly kind: 'dictionary';
  readonly codes: Int32Array;
  readonly values: readonly string[];
}

/** The storage of one column in a batch. */
export type ColumnData = Float64Array | Uint8Array | Int32Array | DictionaryColumn;

/**
 * A batch of rows stored by column: the unit every reader yields and every streaming pass consumes.
 * Large inputs are `AsyncIterable<ColumnBatch>`, so memory is bounded by the batch size.
 */
export interface ColumnBatch {
  /** The columns' names and types, in order. */
  readonly schema: readonly ColumnSchema[];
  /** Rows in this batch. */
  readonly rows: number;
  /** The 0-based index of this batch's first row in the whole input. */
  readonly firstRow: number;
  /** Column storage by name; every array has `rows` entries. */
  readonly columns: Readonly<Record<string, ColumnData>>;
}

/**
 * A pilot model: anything that turns a batch into population-scale probabilities, one per row.
 * data-io's streaming passes accept any Pilot, so they never depend on a model package.
 */
export interface Pilot {
  /** The columns the pilot reads. */
  readonly features: readonly string[];
  /**
   * Population-scale probabilities for every row of the batch.
   *
   * @param batch - rows to score (must contain `features`)
   * @returns one probability per row
   */
  predictProbability(batch: ColumnBatch): Float64Array | Promise<Float64Array>;
}

/**
 * Builds a row-major design matrix from numeric columns of a batch (the intercept first by default).
 *
 * @param batch - the batch
 * @param features - numeric (or label/integer) columns to use, in order
 * @param options - `intercept` (default true)
 * @returns the design matrix
 * @example
 * ```ts
 * const x = batchDesignMatrix(batch, ['x1', 'x2']);
 * ```
 */
export function batchDesignMatrix(
  batch: ColumnBatch,
  features: readonly string[],
  options: { intercept?: boolean } = {},
): DesignMatrix {
  const intercept = options.intercept ?? true;
  const offset = intercept ? 1 : 0;
  const d = features.length + offset;
  const n = batch.rows;
  const data = new Float64Array(n * d);
  if (intercept) for (let i = 0; i < n; i++) data[i * d] = 1;
  features.forEach((name, j) => {
    const column = numericColumn(batch, name);
    for (let i = 0, at = j + offset; i < n; i++, at += d) data[at] = column[i] as number;
  });
  return {
    data,
    rows: n,
    columns: d,
    names: intercept ? [INTERCEPT_NAME, ...features] : [...features],
    intercept,
  };
}

/** The numeric storage of a batch column, or a typed error naming the column. */
function numericColumn(batch: ColumnBatch, name: string): Float64Array | Uint8Array | Int32Array {
  const column = batch.columns[name];
  if (column === undefined) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `batch: no column "${name}" (columns: ${batch.schema.map((c) => c.name).join(', ')})`,
      'name an existing column, or check the schema of the input',
      { input: name },
    );
  }
  if (!(column instanceof Float64Array || column instanceof Uint8Array || column instanceof Int32Array)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `batch: column "${name}" holds strings, not numbers`,
      'encode it (hashing or one-hot) or leave it out of the features',
      { input: name },
    );
  }
  return column;
}

/**
 * The linear predictor b0 + sum_j b_j x_j of every row of a batch, accumulated column by column
 * from the batch's own arrays (no row-major copy: the fast path for scoring batches).
 *
 * @param batch - the batch
 * @param features - the feature columns, in the order of the coefficients after the intercept
 * @param coefficients - the intercept first when `intercept` is true (the default), then one per feature
 * @param options - `intercept` (default true)
 * @returns one linear predictor per row
 * @example
 * ```ts
 * const eta = batchLinearPredictor(batch, ['x1', 'x2'], new Float64Array([-6, 0.5, -0.5]));
 * ```
 */
export function batchLinearPredictor(
  batch: ColumnBatch,
  features: readonly string[],
  coefficients: ArrayLike<number>,
  options: { intercept?: boolean } = {},
): Float64Array {
  const intercept = options.intercept ?? true;
  const offset = intercept ? 1 : 0;
  if (coefficients.length !== features.length + offset) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `coefficients: ${coefficients.length} values for ${features.length} features${intercept ? ' and an intercept' : ''}`,
      'pass one coefficient per feature, the intercept first',
      { input: 'coefficients' },
    );
  }
  const n = batch.rows;
  const eta = new Float64Array(n);
  if (intercept) eta.fill(coefficients[0] as number);
  features.forEach((name, j) => {
    const column = numericColumn(batch, name);
    const beta = coefficients[j + offset] as number;
    for (let i = 0; i < n; i++) eta[i] = (eta[i] as number) + beta * (column[i] as number);
  });
  return eta;
}
