import { hashDictionary, hashFeature, type NeuralFeatureHashing } from '@rarefy/model-kit';
import {
  type ColumnBatch,
  type DictionaryColumn,
  RarefyError,
  RarefyInputError,
} from '@rarefy/sampling-core';

/**
 * Rows already laid out for a {@link NeuralPilot}, for callers that do not hold a ColumnBatch: the
 * numeric features row-major, one categorical column per categorical feature of the spec (in the
 * spec's order), and the labels.
 */
export interface NeuralRows {
  /** Number of rows. */
  readonly rows: number;
  /** Numeric features, row-major: rows x (number of numeric features), in the spec's order. */
  readonly numeric: Float64Array;
  /**
   * One column per categorical feature, in the spec's order: a DictionaryColumn (its values are hashed)
   * or an Int32Array of buckets already hashed (each in [0, buckets)).
   */
  readonly categorical: ReadonlyArray<Int32Array | DictionaryColumn>;
  /** 0/1 labels (needed for training and validation, not for prediction). */
  readonly labels?: Uint8Array;
}

/** Rows turned into what the network reads: raw numeric values and one bucket per categorical value. */
export interface EncodedRows {
  readonly rows: number;
  /** Raw (unstandardised) numeric features, row-major rows x numeric count. */
  readonly numeric: Float64Array;
  /** Per categorical feature, the bucket of every row. */
  readonly buckets: Int32Array[];
  /** Labels when the input had them. */
  readonly labels: Uint8Array | undefined;
}

/** What the encoder needs to know about the model's features. */
export interface FeatureLayout {
  readonly numeric: readonly string[];
  readonly categorical: ReadonlyArray<{ readonly name: string; readonly hashing: NeuralFeatureHashing }>;
}

function isColumnBatch(input: ColumnBatch | NeuralRows): input is ColumnBatch {
  return 'columns' in input && 'schema' in input;
}

function isDictionary(value: unknown): value is DictionaryColumn {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'dictionary';
}

function bucketsOf(
  column: Int32Array | DictionaryColumn,
  hashing: NeuralFeatureHashing,
  rows: number,
  input: string,
): Int32Array {
  if (column instanceof Int32Array) {
    if (column.length !== rows) throw lengthMismatch(input, column.length, rows);
    for (let i = 0; i < rows; i++) {
      const bucket = column[i] as number;
      if (!(bucket >= 0 && bucket < hashing.buckets)) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `${input}: row ${i} holds bucket ${bucket}, outside [0, ${hashing.buckets})`,
          'pass hashed buckets (hashFeature with the column hashing), or pass the strings as a DictionaryColumn',
          { input, row: i, value: bucket },
        );
      }
    }
    return column;
  }
  if (column.codes.length !== rows) throw lengthMismatch(input, column.codes.length, rows);
  const dictionary = hashDictionary(column.values, hashing);
  const missing = hashFeature(hashing.missing, hashing.seed, hashing.buckets);
  const buckets = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const code = column.codes[i] as number;
    const bucket = code < 0 ? missing : dictionary[code];
    if (bucket === undefined) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${input}: row ${i} holds dictionary code ${code}, but the dictionary has ${column.values.length} values`,
        'build the DictionaryColumn so that every code indexes its values (or is -1 for missing)',
        { input, row: i, value: code },
      );
    }
    buckets[i] = bucket;
  }
  return buckets;
}

function lengthMismatch(input: string, length: number, rows: number): RarefyError {
  return new RarefyError(
    'RAREFY_DIMENSION_MISMATCH',
    `${input}: has ${length} entries for ${rows} rows`,
    'give every column one entry per row',
    { input, length, rows },
  );
}

function missingColumn(batch: ColumnBatch, name: string): RarefyInputError {
  return new RarefyInputError(
    'RAREFY_INVALID_ARGUMENT',
    `batch: no column "${name}" (columns: ${batch.schema.map((c) => c.name).join(', ')})`,
    'name an existing column in the spec, or check the schema of the input',
    { input: name },
  );
}

function labelColumnName(batch: ColumnBatch, label: string | undefined): string | undefined {
  if (label !== undefined) return label;
  return batch.schema.find((column) => column.type === 'label')?.name;
}

/**
 * Reads a ColumnBatch or {@link NeuralRows} into numeric values and buckets, checking that every value
 * is finite and every column is present with the right type and length.
 *
 * @param input - the rows
 * @param layout - the model's features and hashing
 * @param options - `label`: the label column of a ColumnBatch (default: the schema's first `label`
 *   column), `requireLabels`: throw when there are none
 * @returns the encoded rows
 */
export function encodeRows(
  input: ColumnBatch | NeuralRows,
  layout: FeatureLayout,
  options: { label?: string | undefined; requireLabels?: boolean } = {},
): EncodedRows {
  const p = layout.numeric.length;
  const rows = input.rows;
  let numeric: Float64Array;
  let buckets: Int32Array[];
  let labels: Uint8Array | undefined;
  if (isColumnBatch(input)) {
    numeric = new Float64Array(rows * p);
    layout.numeric.forEach((name, j) => {
      const column = input.columns[name];
      if (column === undefined) throw missingColumn(input, name);
      if (isDictionary(column)) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `batch: column "${name}" holds strings, but the spec lists it as numeric`,
          'move it to the categorical features of the spec',
          { input: name },
        );
      }
      if (column.length !== rows) throw lengthMismatch(name, column.length, rows);
      for (let i = 0, at = j; i < rows; i++, at += p) numeric[at] = column[i] as number;
    });
    buckets = layout.categorical.map(({ name, hashing }) => {
      const column = input.columns[name];
      if (column === undefined) throw missingColumn(input, name);
      if (!(column instanceof Int32Array || isDictionary(column))) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `batch: categorical column "${name}" is a ${column.constructor.name}`,
          'pass strings as a DictionaryColumn, or buckets already hashed as an Int32Array',
          { input: name },
        );
      }
      return bucketsOf(column, hashing, rows, name);
    });
    const labelName = labelColumnName(input, options.label);
    if (labelName !== undefined) {
      const column = input.columns[labelName];
      if (column === undefined) throw missingColumn(input, labelName);
      if (!(column instanceof Uint8Array)) {
        throw new RarefyInputError(
          'RAREFY_INVALID_LABEL',
          `batch: label column "${labelName}" is not a Uint8Array of 0/1`,
          'store the label as a Uint8Array of 0/1',
          { input: labelName },
        );
      }
      labels = column;
    }
  } else {
    if (input.numeric.length !== rows * p) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `numeric: has ${input.numeric.length} values, not rows x features = ${rows} x ${p}`,
        'lay the numeric features out row-major, one value per row and numeric feature',
        { input: 'numeric', length: input.numeric.length, rows, columns: p },
      );
    }
    if (input.categorical.length !== layout.categorical.length) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `categorical: has ${input.categorical.length} columns, the spec ${layout.categorical.length}`,
        'pass one column per categorical feature of the spec, in its order',
        { input: 'categorical' },
      );
    }
    numeric = input.numeric;
    buckets = layout.categorical.map(({ name, hashing }, k) =>
      bucketsOf(input.categorical[k] as Int32Array | DictionaryColumn, hashing, rows, name),
    );
    labels = input.labels;
  }
  for (let k = 0; k < numeric.length; k++) {
    if (!Number.isFinite(numeric[k])) {
      const row = Math.floor(k / p);
      const name = layout.numeric[k % p] as string;
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `${name}: row ${row} is ${numeric[k]}`,
        'impute or drop non-finite values before training or scoring',
        { input: name, row },
      );
    }
  }
  if (labels !== undefined) {
    if (labels.length !== rows) throw lengthMismatch('labels', labels.length, rows);
    for (let i = 0; i < rows; i++) {
      const value = labels[i] as number;
      if (value !== 0 && value !== 1) {
        throw new RarefyInputError(
          'RAREFY_INVALID_LABEL',
          `labels: row ${i} has label ${value}, not 0 or 1`,
          'encode the label as 0/1 (1 for the rare, positive class)',
          { input: 'labels', row: i, value },
        );
      }
    }
  } else if (options.requireLabels) {
    throw new RarefyInputError(
      'RAREFY_INVALID_LABEL',
      'labels: the training rows have no labels',
      'pass `labels` with NeuralRows, or name the label column of the ColumnBatch with `label`',
      { input: 'labels' },
    );
  }
  return { rows, numeric, buckets, labels };
}

/**
 * Per-row values of an optional vector (offset or weight) as float32, checked for length and finiteness.
 *
 * @param values - the values, or undefined for the default
 * @param rows - the expected length
 * @param fallback - the value of every row when `values` is undefined
 * @param input - the argument's name, for errors
 * @returns a Float32Array of `rows` values
 */
export function rowVector(
  values: Float64Array | undefined,
  rows: number,
  fallback: number,
  input: string,
): Float32Array {
  if (values === undefined) return new Float32Array(rows).fill(fallback);
  if (values.length !== rows) throw lengthMismatch(input, values.length, rows);
  for (let i = 0; i < rows; i++) {
    const value = values[i] as number;
    if (!Number.isFinite(value) || (input === 'weight' && value < 0)) {
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `${input}: row ${i} is ${value}`,
        input === 'weight'
          ? 'pass finite, non-negative weights'
          : 'pass finite offsets (-log pi with pi > 0)',
        { input, row: i, value },
      );
    }
  }
  return Float32Array.from(values);
}
