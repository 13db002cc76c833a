import type { DesignMatrix } from '@rarefy/sampling-core';
import { RarefyError, RarefyInputError } from '@rarefy/sampling-core';
import { singleByteOption } from './csv-shared.js';

/** One named column to write: numbers or strings, one per row. */
export interface CsvColumn {
  /** The header name. */
  name: string;
  /** The values, one per row (a typed array, a number array or strings). */
  values: ArrayLike<number> | readonly string[];
}

/** Options of {@link formatCsv} and `writeCsvFile`. */
export interface FormatCsvOptions {
  /** The field delimiter (default `,`). */
  delimiter?: string;
  /**
   * How numbers are written: `'shortest'` (default) writes the shortest text that reads back as
   * the same double, so a round trip is exact; a number writes that many significant digits.
   */
  digits?: 'shortest' | number;
}

/**
 * Formats one number for CSV.
 *
 * @param value - a finite number
 * @param digits - `'shortest'` (exact round trip, `-0` kept) or a count of significant digits
 * @returns the text
 * @example
 * ```ts
 * formatCsvNumber(0.1, 'shortest'); // '0.1'
 * formatCsvNumber(Math.PI, 4); // '3.142'
 * ```
 */
export function formatCsvNumber(value: number, digits: 'shortest' | number = 'shortest'): string {
  if (value === 0) return 1 / value < 0 ? '-0' : '0';
  if (digits === 'shortest') return String(value);
  return String(Number(value.toPrecision(digits)));
}

/**
 * Quotes a CSV field when it must be: when it holds the delimiter, a quote, a line break, or
 * leading/trailing spaces. Quotes inside are doubled.
 *
 * @param text - the field
 * @param delimiter - the delimiter character (default `,`)
 * @returns the field as it goes in the file
 * @example
 * ```ts
 * quoteCsvField('Smith, J'); // '"Smith, J"'
 * quoteCsvField('plain'); // 'plain'
 * ```
 */
export function quoteCsvField(text: string, delimiter = ','): string {
  const needsQuotes =
    text.includes(delimiter) ||
    text.includes('"') ||
    text.includes('\n') ||
    text.includes('\r') ||
    (text.length > 0 && (text[0] === ' ' || text[text.length - 1] === ' '));
  return needsQuotes ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A piece of CSV text and how many data rows are complete after it. @internal */
export interface CsvTextChunk {
  text: string;
  rowsDone: number;
}

/**
 * Checks columns for writing: at least one, distinct names, equal lengths.
 *
 * @param columns - the columns to write
 * @param input - the destination's name for messages
 * @returns the number of rows
 * @example
 * ```ts
 * checkCsvColumns([{ name: 'x', values: [1, 2] }], 'out.csv'); // 2
 * ```
 * @internal
 */
export function checkCsvColumns(columns: readonly CsvColumn[], input: string): number {
  if (columns.length === 0) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${input}: no columns to write`,
      'pass at least one column',
      {
        input,
      },
    );
  }
  const rows = (columns[0] as CsvColumn).values.length;
  const names = new Set<string>();
  for (const column of columns) {
    if (names.has(column.name)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${input}: column ${JSON.stringify(column.name)} is given twice`,
        'give every column a distinct name',
        { input, column: column.name },
      );
    }
    names.add(column.name);
    if (column.values.length !== rows) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `${input}: column ${JSON.stringify(column.name)} has ${column.values.length} values, column ${JSON.stringify(
          (columns[0] as CsvColumn).name,
        )} has ${rows}`,
        'pass columns of equal length (one value per row)',
        { input, column: column.name },
      );
    }
  }
  return rows;
}

/**
 * Yields the CSV text (header first) in pieces of about `chunkCharacters` characters.
 *
 * @param columns - the columns to write
 * @param options - delimiter and number format
 * @param input - the destination's name for messages
 * @param chunkCharacters - the size of a piece
 * @returns a generator of pieces, each with the rows complete after it
 * @example
 * ```ts
 * for (const piece of csvTextChunks(columns, {}, 'out.csv')) await handle.write(piece.text);
 * ```
 * @internal
 */
export function* csvTextChunks(
  columns: readonly CsvColumn[],
  options: FormatCsvOptions,
  input: string,
  chunkCharacters = 1 << 20,
): Generator<CsvTextChunk> {
  const delimiterText = options.delimiter ?? ',';
  singleByteOption(delimiterText, 'delimiter');
  const digits = options.digits ?? 'shortest';
  if (digits !== 'shortest' && !(Number.isInteger(digits) && digits >= 1 && digits <= 17)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `digits: ${digits} is not 'shortest' or an integer in 1..17`,
      "pass 'shortest' (exact round trip) or a number of significant digits",
      { input: 'digits' },
    );
  }
  const rows = checkCsvColumns(columns, input);
  const width = columns.length;
  const values = columns.map((column) => column.values);
  let text = `${columns.map((column) => quoteCsvField(column.name, delimiterText)).join(delimiterText)}\n`;
  for (let row = 0; row < rows; row++) {
    let line = '';
    for (let j = 0; j < width; j++) {
      const value = (values[j] as ArrayLike<number | string>)[row];
      let field: string;
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) {
          const name = (columns[j] as CsvColumn).name;
          throw new RarefyInputError(
            'RAREFY_NON_FINITE',
            `${input}: column ${JSON.stringify(name)}, row ${row + 1} is ${value}`,
            'replace or drop non-finite values before writing (CSV readers here accept only finite numbers)',
            { input, column: name, row: row + 1 },
          );
        }
        field = formatCsvNumber(value, digits);
      } else {
        field = quoteCsvField(String(value), delimiterText);
      }
      line = j === 0 ? field : `${line}${delimiterText}${field}`;
    }
    text += `${line}\n`;
    if (text.length >= chunkCharacters) {
      yield { text, rowsDone: row + 1 };
      text = '';
    }
  }
  if (text.length > 0) yield { text, rowsDone: rows };
}

/**
 * Formats columns as CSV text in memory (header line, then one line per row, LF line breaks).
 * For files, use `writeCsvFile` from `@rarefy/data-io/node`, which streams and writes atomically.
 *
 * @param columns - the named columns, all of one length
 * @param options - delimiter and number format
 * @returns the CSV text
 * @throws RarefyError for mismatched lengths, duplicate names or non-finite numbers
 * @example
 * ```ts
 * formatCsv([{ name: 'y', values: [0, 1] }, { name: 'x', values: new Float64Array([0.5, -2]) }]);
 * // 'y,x\n0,0.5\n1,-2\n'
 * ```
 */
export function formatCsv(columns: readonly CsvColumn[], options: FormatCsvOptions = {}): string {
  let text = '';
  for (const chunk of csvTextChunks(columns, options, 'columns', Number.POSITIVE_INFINITY))
    text += chunk.text;
  return text;
}

/** Options of {@link designMatrixColumns}. */
export interface DesignMatrixColumnsOptions {
  /** The label column's name (default `y`). */
  label?: string;
  /** Put a column of row numbers 0..n-1 first, under this name (e.g. `id`, for a row key). */
  rowId?: string;
}

/**
 * The columns of a design matrix and its labels, ready for `formatCsv` or `writeCsvFile`: the row id
 * (when asked), the label, then every feature by its name; the intercept column is left out (readers
 * add it back).
 *
 * @param x - the design matrix
 * @param y - the 0/1 labels, one per row
 * @param options - the label's name and an optional row-id column
 * @returns the columns, in that order
 * @example
 * ```ts
 * const { x, y } = simulateRareEvents({ rows: 1000, seed: 1 });
 * const csv = formatCsv(designMatrixColumns(x, y)); // y,x1,...,x6
 * ```
 */
export function designMatrixColumns(
  x: DesignMatrix,
  y: ArrayLike<number>,
  options: DesignMatrixColumnsOptions = {},
): CsvColumn[] {
  const columns: CsvColumn[] = [];
  if (options.rowId !== undefined) {
    columns.push({ name: options.rowId, values: Float64Array.from({ length: x.rows }, (_, i) => i) });
  }
  columns.push({ name: options.label ?? 'y', values: y });
  for (let j = x.intercept ? 1 : 0; j < x.columns; j++) {
    const values = new Float64Array(x.rows);
    for (let i = 0, at = j; i < x.rows; i++, at += x.columns) values[i] = x.data[at] as number;
    columns.push({ name: x.names[j] as string, values });
  }
  return columns;
}
