/**
 * Internal argument checks shared by the estimators (not exported from the package).
 */
import { type DesignMatrix, RarefyError, RarefyInputError } from '@rarefy/sampling-core';

/** Throws RAREFY_DIMENSION_MISMATCH unless `length` equals the matrix's row count. */
export function requireRowLength(length: number, rows: number, input: string, what: string): void {
  if (length !== rows) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `${input}: ${length} ${what} for a design matrix of ${rows} rows`,
      `pass exactly one ${what.replace(/s$/, '')} per row of the design matrix`,
      { input, length, rows },
    );
  }
}

/** Checks that `y` has one 0/1 label per row and returns the number of positives. */
export function checkLabels(y: Uint8Array, x: DesignMatrix, input = 'y'): number {
  requireRowLength(y.length, x.rows, input, 'labels');
  let positives = 0;
  for (let i = 0; i < y.length; i++) {
    const label = y[i] as number;
    if (label > 1) {
      throw new RarefyInputError(
        'RAREFY_INVALID_LABEL',
        `${input}: row ${i} has label ${label}`,
        'encode the labels as 0 (negative) and 1 (positive)',
        { input, row: i, value: label },
      );
    }
    positives += label;
  }
  return positives;
}

/** Checks a per-row array: right length, every value finite (and >= 0 when `nonNegative`). */
export function checkRowValues(
  values: Float64Array,
  rows: number,
  input: string,
  what: string,
  nonNegative: boolean,
  fix?: string,
): void {
  requireRowLength(values.length, rows, input, what);
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isFinite(value) || (nonNegative && value < 0)) {
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `${input}: row ${i} has ${what.replace(/s$/, '')} ${value}`,
        fix ??
          (nonNegative
            ? `pass finite, non-negative ${what} (a keep probability of 0 gives an infinite weight: floor it, e.g. at 1e-6)`
            : `pass finite ${what} (a keep probability of 0 gives an infinite offset: floor it, e.g. at 1e-6)`),
        { input, row: i, value },
      );
    }
  }
}

/** Throws RAREFY_DIMENSION_MISMATCH unless a coefficient-like vector has `d` entries. */
export function requireLength(length: number, d: number, input: string, what: string): void {
  if (length !== d) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `${input}: ${length} values where ${d} ${what} were expected`,
      `pass ${d} ${what}, in the design matrix's column order`,
      { input, length, expected: d },
    );
  }
}
