import { RarefyError, RarefyInputError } from './errors.js';
import type { DesignMatrix } from './matrix.js';

/** How many rows of each class a label vector holds. */
export interface ClassCounts {
  /** Rows labelled 1 (N1). */
  readonly positives: number;
  /** Rows labelled 0 (N0). */
  readonly negatives: number;
}

/**
 * Counts the positives (1) and negatives (0) of a label vector, checking that every label is 0 or 1.
 *
 * @param labels - one label per row
 * @param input - the name of the input, used in error messages (default `labels`)
 * @returns the class counts
 * @throws RarefyInputError `RAREFY_INVALID_LABEL` naming the first row whose label is not 0 or 1
 * @example
 * ```ts
 * countClasses(new Uint8Array([0, 1, 0, 0])); // { positives: 1, negatives: 3 }
 * ```
 */
export function countClasses(labels: ArrayLike<number>, input = 'labels'): ClassCounts {
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const value = labels[i] as number;
    if (value === 1) positives++;
    else if (value !== 0) throw invalidLabel(input, i, value);
  }
  return { positives, negatives: n - positives };
}

/** The error for a label that is not 0/1 at 0-based `row`. Shared by the samplers that scan labels. */
export function invalidLabel(input: string, row: number, value: unknown): RarefyInputError {
  return new RarefyInputError(
    'RAREFY_INVALID_LABEL',
    `${input}: row ${row + 1} (index ${row}, 0-based) has label ${String(value)}, not 0 or 1`,
    'encode the label as 0/1 (1 for the rare, positive class), or map the label values before sampling',
    { input, row, value },
  );
}

/**
 * Throws unless both classes are present.
 *
 * @param counts - class counts, as from {@link countClasses}
 * @param input - the name of the labels in error messages (default `labels`)
 * @returns nothing; throws RarefyInputError `RAREFY_NO_POSITIVES` or `RAREFY_NO_NEGATIVES`
 * @example
 * ```ts
 * requireBothClasses(countClasses(labels)); // throws when every label is 0, or every label is 1
 * ```
 */
export function requireBothClasses(counts: ClassCounts, input = 'labels'): void {
  const rows = counts.positives + counts.negatives;
  if (counts.positives === 0) {
    throw new RarefyInputError(
      'RAREFY_NO_POSITIVES',
      `${input}: none of the ${rows} rows is a positive (label 1)`,
      'check the label column and its encoding (positives must be 1), or use data that contains the rare event',
      { input, rows },
    );
  }
  if (counts.negatives === 0) {
    throw new RarefyInputError(
      'RAREFY_NO_NEGATIVES',
      `${input}: none of the ${rows} rows is a negative (label 0)`,
      'check the label column and its encoding (negatives must be 0); there is nothing to sample without negatives',
      { input, rows },
    );
  }
}

/**
 * Checks a design matrix in one pass over its values: the shape agrees with the data, every value is
 * finite, and no feature column (other than the intercept) is constant. Constant columns are only
 * checked when the matrix has an intercept (they duplicate it) and at least two rows.
 *
 * @param x - the design matrix
 * @param input - the name of the matrix in error messages (default `x`)
 * @returns nothing; throws `RAREFY_DIMENSION_MISMATCH`, `RAREFY_NON_FINITE` or `RAREFY_CONSTANT_COLUMN`
 * @example
 * ```ts
 * validateDesignMatrix(designMatrix(new Float64Array([0.5, 1, -0.2, 3]), ['a', 'b']));
 * ```
 */
export function validateDesignMatrix(x: DesignMatrix, input = 'x', options: { finite?: boolean } = {}): void {
  const { data, rows, columns, names } = x;
  if (!(Number.isInteger(rows) && rows >= 0 && Number.isInteger(columns) && columns >= 0)) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `${input}: rows (${rows}) and columns (${columns}) must be non-negative integers`,
      'build the matrix with designMatrix()',
      { input, rows, columns },
    );
  }
  if (data.length !== rows * columns) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `${input}: data holds ${data.length} values but rows x columns = ${rows} x ${columns} = ${rows * columns}`,
      'pass row-major data with exactly rows * columns values, or fix rows/columns',
      { input, values: data.length, rows, columns },
    );
  }
  if (names.length !== columns) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `${input}: ${names.length} column names for ${columns} columns`,
      'give exactly one name per column (the intercept included, as "(Intercept)")',
      { input, names: names.length, columns },
    );
  }
  if (rows === 0 || columns === 0) return;
  // Column j varies when some row differs from row 0; the intercept column is not checked. Once every
  // column has varied, the pass only looks for non-finite values: one check per row (a NaN or an
  // infinity anywhere in the row makes the sum of value - value NaN).
  const first = data.subarray(0, columns);
  const varies = new Uint8Array(columns);
  const checkConstant = x.intercept && rows > 1;
  if (x.intercept) varies[0] = 1;
  let constantColumns = checkConstant ? columns - 1 : 0;
  const checkFinite = options.finite ?? true;
  for (let i = 0, offset = 0; i < rows; i++, offset += columns) {
    if (!checkFinite && constantColumns === 0) break;
    if (checkFinite) {
      let finite = 0;
      for (let j = 0; j < columns; j++) {
        const value = data[offset + j] as number;
        finite += value - value;
      }
      if (finite !== 0) throw nonFiniteValue(x, input, i);
    }
    if (constantColumns > 0) {
      for (let j = 0; j < columns; j++) {
        if (varies[j] === 0 && data[offset + j] !== first[j]) {
          varies[j] = 1;
          constantColumns--;
        }
      }
    }
  }
  if (!checkConstant) return;
  for (let j = 0; j < columns; j++) {
    if (varies[j] === 0) {
      const name = names[j] as string;
      throw new RarefyInputError(
        'RAREFY_CONSTANT_COLUMN',
        `${input}: column "${name}" is ${first[j]} in every one of the ${rows} rows`,
        `drop column "${name}": the intercept already models a constant`,
        { input, column: name, value: first[j] },
      );
    }
  }
}

function nonFiniteValue(x: DesignMatrix, input: string, row: number): RarefyInputError {
  for (let j = 0; j < x.columns; j++) {
    const value = x.data[row * x.columns + j] as number;
    if (value - value !== 0) {
      const name = x.names[j] as string;
      return new RarefyInputError(
        'RAREFY_NON_FINITE',
        `${input}: row ${row + 1} (index ${row}), column "${name}" is ${value}`,
        'remove or impute rows with missing or infinite values before sampling',
        { input, row, column: name, value },
      );
    }
  }
  throw new Error('unreachable: a non-finite row without a non-finite value');
}
