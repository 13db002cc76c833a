import { RarefyError, RarefyInputError } from './errors.js';
import { type DesignMatrix, INTERCEPT_NAME, logisticInPlace } from './matrix.js';

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
 * The linear predictor b0 + sum_j b_j x_j of every row of a batch, accumulated from the batch's own
 * columns (no row-major copy: the fast path for scoring batches) by {@link columnsLinearPredictor}.
 * The sum is taken in the order intercept, then the features in order, so it equals the dot product
 * of the row of `batchDesignMatrix` with the coefficients exactly.
 *
 * @param batch - the batch
 * @param features - the feature columns, in the order of the coefficients after the intercept
 * @param coefficients - the intercept first when `intercept` is true (the default), then one per feature
 * @param options - `intercept` (default true); `out`, an array of `batch.rows` values to write into
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
  options: { intercept?: boolean; out?: Float64Array } = {},
): Float64Array {
  return batchScores(batch, features, coefficients, options, false);
}

/**
 * The logistic probability sigma(b0 + sum_j b_j x_j) of every row of a batch: the linear predictor of
 * {@link batchLinearPredictor} (the same sums, in the same order) through `1 / (1 + exp(-eta))` in the
 * same pass over each block of rows. That form needs no branch for large |eta|: exp overflows to
 * Infinity and the probability is 0, or underflows to 0 and it is 1; for eta >= 0 it is the
 * `sigmoid` of this package bit for bit, and for eta < 0 within 2 units in the last place of it (down
 * to eta = -708, below which the probability, under 1e-307, is returned as 0). See
 * {@link columnsLinearPredictor} for how the pass is organised.
 *
 * @param batch - the batch
 * @param features - the feature columns, in the order of the coefficients after the intercept
 * @param coefficients - the intercept first when `intercept` is true (the default), then one per feature
 * @param options - `intercept` (default true); `out`, an array of `batch.rows` values to write into
 * @returns one probability per row
 * @example
 * ```ts
 * const p = batchLogisticProbability(batch, ['x1', 'x2'], new Float64Array([-6, 0.5, -0.5]));
 * ```
 */
export function batchLogisticProbability(
  batch: ColumnBatch,
  features: readonly string[],
  coefficients: ArrayLike<number>,
  options: { intercept?: boolean; out?: Float64Array } = {},
): Float64Array {
  return batchScores(batch, features, coefficients, options, true);
}

function batchScores(
  batch: ColumnBatch,
  features: readonly string[],
  coefficients: ArrayLike<number>,
  options: { intercept?: boolean; out?: Float64Array },
  logistic: boolean,
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
  const out = options.out ?? new Float64Array(n);
  if (out.length !== n) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `out: ${out.length} values for ${n} rows`,
      'pass an output array with one value per row, or none',
      { input: 'out' },
    );
  }
  const columns = features.map((name) => numericColumn(batch, name));
  for (const [j, column] of columns.entries()) {
    if (column.length !== n) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `batch: column "${features[j]}" has ${column.length} values for ${n} rows`,
        'give every column one value per row',
        { input: features[j] as string },
      );
    }
  }
  const weights = new Float64Array(features.length);
  for (let j = 0; j < features.length; j++) weights[j] = coefficients[j + offset] as number;
  return columnsLinearPredictor(columns, weights, intercept ? (coefficients[0] as number) : 0, out, logistic);
}

/** A numeric column's storage. */
export type NumericColumnData = Float64Array | Uint8Array | Int32Array;

/**
 * Rows per block of {@link columnsLinearPredictor}: a block's sums (32 KiB) stay in the first-level
 * cache while the columns are added to them and the logistic map is applied.
 */
const BLOCK_ROWS = 4096;

/**
 * The scoring kernel: `out[i] = intercept + sum_j weights[j] * columns[j][i]` for every row, summed
 * in that order (intercept first, then the columns in order: the order of a row-major dot product),
 * and with `logistic` mapped through `1 / (1 + exp(-eta))` (see {@link batchLogisticProbability}).
 * Rows are taken in blocks of 4,096: the block's sums start at the intercept and receive the columns
 * four at a time (one loop per four columns, each column read once, sequentially), then the logistic
 * map runs over the block in a loop of its own (a loop that both reads columns and calls `Math.exp`
 * runs at half the speed). No allocation.
 *
 * @param columns - the feature columns, each with `out.length` values
 * @param weights - one per column
 * @param intercept - added first (0 for none)
 * @param out - receives the scores, one per row
 * @param logistic - map the linear predictor to a probability
 * @returns `out`
 * @example
 * ```ts
 * const p = columnsLinearPredictor([x1, x2], Float64Array.of(0.5, -0.5), -6, new Float64Array(n), true);
 * ```
 */
export function columnsLinearPredictor(
  columns: readonly NumericColumnData[],
  weights: ArrayLike<number>,
  intercept: number,
  out: Float64Array,
  logistic: boolean,
): Float64Array {
  const n = out.length;
  const p = columns.length;
  for (let start = 0; start < n; start += BLOCK_ROWS) {
    const end = Math.min(n, start + BLOCK_ROWS);
    // The sums in the row-major dot product's order, ((b0 + b1 x1) + b2 x2) + ..., four columns per pass.
    out.fill(intercept, start, end);
    for (let j = 0; j < p; j += 4) {
      const w0 = weights[j] as number;
      const c0 = columns[j] as NumericColumnData;
      const count = p - j;
      if (count >= 4) {
        addColumns4(
          out,
          start,
          end,
          c0,
          columns[j + 1] as NumericColumnData,
          columns[j + 2] as NumericColumnData,
          columns[j + 3] as NumericColumnData,
          w0,
          weights[j + 1] as number,
          weights[j + 2] as number,
          weights[j + 3] as number,
        );
      } else if (count === 3) {
        addColumns3(
          out,
          start,
          end,
          c0,
          columns[j + 1] as NumericColumnData,
          columns[j + 2] as NumericColumnData,
          w0,
          weights[j + 1] as number,
          weights[j + 2] as number,
        );
      } else if (count === 2) {
        addColumns2(out, start, end, c0, columns[j + 1] as NumericColumnData, w0, weights[j + 1] as number);
      } else {
        addColumns1(out, start, end, c0, w0);
      }
    }
    if (logistic) logisticInPlace(out, start, end);
  }
  return out;
}

// The passes, each a small function of its own: V8 compiles a small loop better than the same loop
// inside a function holding many (measured: 20% faster).

function addColumns4(
  out: Float64Array,
  start: number,
  end: number,
  c0: NumericColumnData,
  c1: NumericColumnData,
  c2: NumericColumnData,
  c3: NumericColumnData,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): void {
  for (let i = start; i < end; i++) {
    out[i] =
      (out[i] as number) +
      w0 * (c0[i] as number) +
      w1 * (c1[i] as number) +
      w2 * (c2[i] as number) +
      w3 * (c3[i] as number);
  }
}

function addColumns3(
  out: Float64Array,
  start: number,
  end: number,
  c0: NumericColumnData,
  c1: NumericColumnData,
  c2: NumericColumnData,
  w0: number,
  w1: number,
  w2: number,
): void {
  for (let i = start; i < end; i++) {
    out[i] = (out[i] as number) + w0 * (c0[i] as number) + w1 * (c1[i] as number) + w2 * (c2[i] as number);
  }
}

function addColumns2(
  out: Float64Array,
  start: number,
  end: number,
  c0: NumericColumnData,
  c1: NumericColumnData,
  w0: number,
  w1: number,
): void {
  for (let i = start; i < end; i++)
    out[i] = (out[i] as number) + w0 * (c0[i] as number) + w1 * (c1[i] as number);
}

function addColumns1(out: Float64Array, start: number, end: number, c0: NumericColumnData, w0: number): void {
  for (let i = start; i < end; i++) out[i] = (out[i] as number) + w0 * (c0[i] as number);
}
