import {
  batchDesignMatrix,
  type ColumnBatch,
  type ColumnData,
  type ColumnSchema,
  type DesignMatrix,
  linearPredictor,
  type Pilot,
  RarefyError,
  RarefyInputError,
  sigmoid,
} from '@rarefy/sampling-core';

/** The columns `sampleStream` adds to every kept row (ALGORITHMS.md A.5). */
export const SAMPLE_COLUMNS = ['pi', 'offset', 'weight'] as const;

/**
 * The 0/1 labels of a batch as a Uint8Array: a `label` column is taken as it is, a numeric column is
 * checked value by value.
 *
 * @param batch - the batch
 * @param label - the label column's name
 * @param firstRow - the stream-wide index of the batch's first row (for messages)
 * @returns one label per row
 * @throws RarefyInputError `RAREFY_INVALID_ARGUMENT` (no such column, or a string column),
 *   `RAREFY_INVALID_LABEL` (a value other than 0 or 1)
 * @internal
 */
export function batchLabels(batch: ColumnBatch, label: string, firstRow: number): Uint8Array {
  const column = batch.columns[label];
  if (column === undefined) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `label: the input has no column "${label}" (columns: ${batch.schema.map((c) => c.name).join(', ')})`,
      'name the 0/1 label column with --label / options.label',
      { input: label },
    );
  }
  if (!(column instanceof Float64Array || column instanceof Uint8Array || column instanceof Int32Array)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `label: column "${label}" holds strings, not 0/1 labels`,
      'encode the label as 0/1, or let the reader map the label values to 0/1',
      { input: label },
    );
  }
  const labels = column instanceof Uint8Array ? column : new Uint8Array(batch.rows);
  for (let i = 0; i < batch.rows; i++) {
    const value = column[i] as number;
    if (value !== 0 && value !== 1) {
      const row = firstRow + i;
      throw new RarefyInputError(
        'RAREFY_INVALID_LABEL',
        `label: column "${label}", data row ${row + 1} (index ${row}) is ${value}, not 0 or 1`,
        'encode the label as 0/1 (1 for the rare, positive class), or map the label values when reading',
        { input: label, row, value },
      );
    }
    if (labels !== column) labels[i] = value;
  }
  return labels;
}

/**
 * The feature columns used by default: every numeric or integer column of the schema but the label.
 *
 * @param schema - the input's schema
 * @param label - the label column
 * @returns the names, in schema order
 * @internal
 */
export function defaultFeatures(schema: readonly ColumnSchema[], label: string): string[] {
  return schema
    .filter((column) => column.name !== label && (column.type === 'number' || column.type === 'integer'))
    .map((column) => column.name);
}

/**
 * The design matrix of a batch (intercept first), every value checked finite: a non-finite value is
 * an error naming the column and the stream-wide data row.
 *
 * @param batch - the batch
 * @param features - the feature columns
 * @param firstRow - the stream-wide index of the batch's first row
 * @returns the design matrix
 * @throws RarefyInputError `RAREFY_NON_FINITE`; RarefyError from `batchDesignMatrix` for a missing or
 *   string column
 * @internal
 */
export function finiteDesignMatrix(
  batch: ColumnBatch,
  features: readonly string[],
  firstRow: number,
): DesignMatrix {
  const x = batchDesignMatrix(batch, features);
  const data = x.data;
  for (let k = 0; k < data.length; k++) {
    const value = data[k] as number;
    if (value - value !== 0) {
      const i = Math.floor(k / x.columns);
      const column = x.names[k % x.columns] as string;
      const row = firstRow + i;
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `features: column "${column}", data row ${row + 1} (index ${row}) is ${value}`,
        'remove or impute rows with missing or infinite values, or leave the column out of the features',
        { input: column, row, value },
      );
    }
  }
  return x;
}

/**
 * Rebuilds a batch from a design matrix (without its intercept column) and labels: how pilot rows
 * kept in a reservoir are handed to a {@link Pilot}.
 *
 * @param x - the design matrix
 * @param labels - one label per row
 * @param label - the label column's name
 * @returns a batch with the feature columns and the label column
 * @internal
 */
export function batchFromMatrix(x: DesignMatrix, labels: Uint8Array, label: string): ColumnBatch {
  const columns: Record<string, ColumnData> = {};
  const schema: ColumnSchema[] = [];
  const start = x.intercept ? 1 : 0;
  for (let j = start; j < x.columns; j++) {
    const name = x.names[j] as string;
    const values = new Float64Array(x.rows);
    for (let i = 0, at = j; i < x.rows; i++, at += x.columns) values[i] = x.data[at] as number;
    columns[name] = values;
    schema.push({ name, type: 'number' });
  }
  columns[label] = labels;
  schema.push({ name: label, type: 'label' });
  return { schema, rows: x.rows, firstRow: 0, columns };
}

/**
 * The kept rows of a batch: every original column restricted to `rows`, then `pi`, `offset` and
 * `weight`.
 *
 * @param batch - the input batch
 * @param rows - the kept rows' indices within the batch, ascending
 * @param count - how many of `rows` are used
 * @param pi - per kept row
 * @param offset - per kept row
 * @param weight - per kept row
 * @param firstRow - the index of the first kept row among all rows written
 * @returns the output batch
 * @internal
 */
export function keptBatch(
  batch: ColumnBatch,
  rows: Int32Array,
  count: number,
  pi: Float64Array,
  offset: Float64Array,
  weight: Float64Array,
  firstRow: number,
): ColumnBatch {
  const columns: Record<string, ColumnData> = {};
  for (const { name } of batch.schema) {
    const column = batch.columns[name];
    if (column === undefined) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `batch: the schema names column "${name}" but the batch has no values for it`,
        'report this: the reader yielded a batch that does not match its schema',
        { input: name },
      );
    }
    columns[name] = selectColumnRows(column, rows, count);
  }
  columns.pi = pi.slice(0, count);
  columns.offset = offset.slice(0, count);
  columns.weight = weight.slice(0, count);
  return {
    schema: [...batch.schema, ...SAMPLE_COLUMNS.map((name) => ({ name, type: 'number' as const }))],
    rows: count,
    firstRow,
    columns,
  };
}

function pick<T extends Float64Array | Uint8Array | Int32Array>(
  column: T,
  out: T,
  rows: Int32Array,
  count: number,
): T {
  for (let k = 0; k < count; k++) out[k] = column[rows[k] as number] as number;
  return out;
}

function selectColumnRows(column: ColumnData, rows: Int32Array, count: number): ColumnData {
  if (column instanceof Float64Array) return pick(column, new Float64Array(count), rows, count);
  if (column instanceof Uint8Array) return pick(column, new Uint8Array(count), rows, count);
  if (column instanceof Int32Array) return pick(column, new Int32Array(count), rows, count);
  const codes = new Int32Array(count);
  for (let k = 0; k < count; k++) codes[k] = column.codes[rows[k] as number] as number;
  return { kind: 'dictionary', codes, values: column.values };
}

/**
 * A {@link Pilot} for a logistic model: p = sigmoid(b0 + sum_j b_j x_j) over the named features.
 *
 * @param features - the feature columns, in the coefficients' order (after the intercept)
 * @param coefficients - the intercept, then one coefficient per feature (population scale)
 * @returns the pilot
 * @throws RarefyError `RAREFY_DIMENSION_MISMATCH` when the counts disagree
 * @example
 * ```ts
 * const pilot = logisticPilot(['x1', 'x2'], [-4, 0.5, -0.25]);
 * const p = pilot.predictProbability(batch);
 * ```
 */
export function logisticPilot(features: readonly string[], coefficients: ArrayLike<number>): Pilot {
  if (coefficients.length !== features.length + 1) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `coefficients: ${coefficients.length} values for ${features.length} features and an intercept`,
      'pass the intercept first, then one coefficient per feature',
      { input: 'coefficients' },
    );
  }
  const beta = Float64Array.from(coefficients);
  const names = [...features];
  return {
    features: names,
    predictProbability(batch: ColumnBatch): Float64Array {
      const eta = linearPredictor(batchDesignMatrix(batch, names), beta);
      for (let i = 0; i < eta.length; i++) eta[i] = sigmoid(eta[i] as number);
      return eta;
    },
  };
}
