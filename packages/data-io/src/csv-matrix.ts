import { type DesignMatrix, INTERCEPT_NAME, RarefyError, RarefyInputError } from '@rarefy/sampling-core';
import {
  CsvParser,
  type CsvRowProblem,
  type CsvRowSink,
  CsvRows,
  KIND_LABEL,
  KIND_NUMBER,
  KIND_SKIP,
} from './csv-parser.js';
import {
  csvParseError,
  DEFAULT_SOURCE,
  listColumns,
  quoteForMessage,
  requireUniqueColumns,
} from './csv-shared.js';
import { parseDecimalText } from './number-parse.js';

/** What to read from a numeric CSV: the label column and (optionally) which features. */
export interface CsvMatrixOptions {
  /** The name of the 0/1 label column. */
  label: string;
  /** The feature columns, in the order wanted. Default: every column but the label, in file order. */
  features?: readonly string[];
  /** Whether column 0 of the design matrix is the constant 1 (default true). */
  intercept?: boolean;
  /** The field delimiter: `,` (default) or `\t` for TSV. */
  delimiter?: string;
  /** Skip lines starting with this character (e.g. `#`). Default: none. */
  comment?: string;
}

/** A numeric CSV read as a design matrix and a label column. */
export interface CsvMatrix {
  /**
   * Row-major design matrix, the intercept (when asked) in column 0. `x.data` may be a view on a
   * slightly larger buffer (the reader reserves room from the file size and does not copy to trim).
   */
  x: DesignMatrix;
  /** The labels, 0 or 1, one per row. */
  y: Uint8Array;
  /** The number of data rows. */
  rows: number;
  /** The feature names, in the matrix's column order (without the intercept). */
  featureNames: string[];
  /** The number of rows labelled 1. */
  positives: number;
}

/** The rows of a matrix being read: a growable row-major Float64Array and the labels. */
class MatrixSink implements CsvRowSink {
  readonly rows: CsvRows = new CsvRows(this);
  width = 0;
  private readonly onReject: (problem: CsvRowProblem) => void;

  constructor(onReject: (problem: CsvRowProblem) => void) {
    this.onReject = onReject;
    this.rows.numberSlotStride = 1;
    this.rows.labelRowStride = 1;
  }

  setWidth(width: number): void {
    this.width = width;
    this.rows.numberRowStride = width;
  }

  makeRoom(rows: CsvRows): void {
    this.grow(Math.max(1024, rows.capacity * 2));
  }

  grow(capacity: number): void {
    const rows = this.rows;
    const width = this.width;
    const data = new Float64Array(capacity * width);
    data.set(rows.numbers.subarray(0, rows.rows * width));
    const labels = new Uint8Array(capacity);
    labels.set(rows.labels.subarray(0, rows.rows));
    rows.numbers = data;
    rows.labels = labels;
    rows.capacity = capacity;
  }

  commit(): void {
    // A matrix plan has no text columns: rows are complete once parsed.
  }

  reject(_rows: CsvRows, problem: CsvRowProblem): void {
    this.onReject(problem);
  }
}

/**
 * A numeric CSV parser that writes straight into a growable row-major Float64Array and a Uint8Array
 * of labels, in one pass over the bytes and without a string per field on the common path (numbers
 * are converted from bytes exactly; quoted or unusual fields take a slower exact path). It is the
 * package's one CSV parser (the one `CsvTokenizer` and the batch reader use) writing into a matrix.
 *
 * Feed it with {@link CsvMatrixParser.push} (any chunking) or, to avoid copies, with
 * {@link CsvMatrixParser.parse}, then call {@link CsvMatrixParser.finish}.
 *
 * @example
 * ```ts
 * const parser = new CsvMatrixParser({ label: 'y' }, 'data.csv');
 * for await (const chunk of stream) parser.push(chunk);
 * const { x, y, positives } = parser.finish();
 * ```
 */
export class CsvMatrixParser {
  private readonly source: string;
  private readonly options: CsvMatrixOptions;
  private readonly intercept: boolean;
  private readonly sink: MatrixSink;
  private readonly parser: CsvParser;
  private columns: string[] | null = null;
  private kinds = new Uint8Array(0);
  private featureNames: string[] = [];
  private headerLine = 1;
  private finished = false;

  /**
   * @param options - the label column, features, intercept and delimiter
   * @param source - the input's name in error messages (a file path); default `<csv>`
   */
  constructor(options: CsvMatrixOptions, source: string = DEFAULT_SOURCE) {
    this.options = options;
    this.source = source;
    this.intercept = options.intercept ?? true;
    this.sink = new MatrixSink((problem) => this.reject(problem));
    this.parser = new CsvParser(
      { delimiter: options.delimiter ?? ',', comment: options.comment, source },
      this.sink.rows,
      null,
      (fields, line) => {
        this.setColumns(
          fields.map((name) => name.trim()),
          line,
        );
        return true;
      },
    );
    if (typeof options.label !== 'string' || options.label.length === 0) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `label: ${JSON.stringify(options.label)} is not a column name`,
        'pass the name of the 0/1 label column, e.g. { label: "y" }',
        { input: 'label' },
      );
    }
  }

  /** The number of data rows parsed so far. */
  get rows(): number {
    return this.sink.rows.rows;
  }

  /**
   * Makes room for at least `rows` rows (a hint from the input's size; saves regrowing).
   *
   * @param rows - the expected number of rows
   * @returns nothing
   * @example
   * ```ts
   * parser.reserve(1_000_000);
   * ```
   */
  reserve(rows: number): void {
    if (this.sink.width > 0 && rows > this.sink.rows.capacity) this.sink.grow(Math.ceil(rows));
  }

  /**
   * Parses a chunk of any size (the parser keeps an incomplete last record until the next chunk).
   *
   * @param chunk - the next bytes of the input
   * @returns nothing
   * @example
   * ```ts
   * parser.push(new TextEncoder().encode('y,x\n1,0.5\n'));
   * ```
   */
  push(chunk: Uint8Array): void {
    this.checkOpen();
    this.parser.push(chunk);
  }

  /**
   * Ends the input and returns the matrix.
   *
   * @returns the design matrix, labels and counts
   * @throws RarefyInputError when the input is empty, has a header but no rows, or ends inside quotes
   * @example
   * ```ts
   * const { x, y, rows } = parser.finish();
   * ```
   */
  finish(): CsvMatrix {
    this.parser.finish();
    this.finished = true;
    if (this.columns === null) {
      throw csvParseError(
        this.source,
        this.parser.line,
        'the file is empty (no header line)',
        `write a header line naming the columns (including the label ${JSON.stringify(this.options.label)}) and one line per row`,
      );
    }
    const store = this.sink.rows;
    const rows = store.rows;
    if (rows === 0) {
      throw csvParseError(
        this.source,
        this.headerLine,
        'the file has a header but no data rows',
        'write at least one data row below the header',
      );
    }
    const width = this.sink.width;
    const size = rows * width;
    // Keep the buffers when little of them is unused (the usual case: the reader reserves from the
    // file size); copy only when much would be wasted.
    const data =
      store.numbers.length - size <= store.numbers.length / 8
        ? store.numbers.subarray(0, size)
        : store.numbers.slice(0, size);
    const y =
      store.labels.length - rows <= store.labels.length / 8
        ? store.labels.subarray(0, rows)
        : store.labels.slice(0, rows);
    let positives = 0;
    for (let i = 0; i < rows; i++) positives += y[i] as number;
    const names = this.intercept ? [INTERCEPT_NAME, ...this.featureNames] : [...this.featureNames];
    return {
      x: { data, rows, columns: width, names, intercept: this.intercept },
      y,
      rows,
      featureNames: [...this.featureNames],
      positives,
    };
  }

  /**
   * Parses the complete records in `bytes[start, end)` and returns where the first incomplete one
   * starts (the caller passes those bytes again, followed by more, next time). With `final`, the
   * bytes are the end of the input and everything is consumed.
   *
   * @param bytes - a buffer
   * @param start - the first byte to parse
   * @param end - one past the last byte to parse
   * @param final - whether the input ends at `end`
   * @returns the index of the first byte not consumed
   * @example
   * ```ts
   * const consumed = parser.parse(buffer, 0, filled, false); // keep buffer[consumed, filled)
   * ```
   */
  parse(bytes: Uint8Array, start: number, end: number, final: boolean): number {
    this.checkOpen();
    return this.parser.parse(bytes, start, end, final);
  }

  private checkOpen(): void {
    if (this.finished) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${this.source}: the parser was given more input after finish()`,
        'create a new CsvMatrixParser for each input',
        { input: this.source },
      );
    }
  }

  /** Throws the error of a row that cannot go into the matrix. */
  private reject(problem: CsvRowProblem): void {
    const { line, column } = problem;
    if (column < 0) {
      throw csvParseError(
        this.source,
        line,
        `${problem.fields} fields where the header has ${problem.expected}`,
        'give every row one field per header column (quote fields that contain the delimiter)',
        { fields: problem.fields, expected: problem.expected },
      );
    }
    const text = problem.text;
    if (this.kinds[column] === KIND_LABEL) {
      const label = this.options.label;
      throw new RarefyInputError(
        'RAREFY_INVALID_LABEL',
        `${this.source}, line ${line}, label column ${JSON.stringify(label)}: ${quoteForMessage(text)} is not 0 or 1`,
        `map the labels to 0 (negative) and 1 (positive) in ${JSON.stringify(label)}`,
        { input: this.source, line, column: label, value: text },
      );
    }
    const name = (this.columns as string[])[column] ?? `#${column + 1}`;
    if (Number.isNaN(parseDecimalText(text))) {
      const empty = text.trim().length === 0;
      throw csvParseError(
        this.source,
        line,
        empty
          ? `column ${JSON.stringify(name)} is empty`
          : `column ${JSON.stringify(name)}: ${quoteForMessage(text)} is not a number`,
        empty
          ? `fill the missing values or drop the column (leave it out of \`features\`)`
          : `write plain decimal numbers (no NaN, Inf or text) in ${JSON.stringify(name)}, or leave it out of \`features\``,
        { column: name, value: text },
      );
    }
    throw new RarefyInputError(
      'RAREFY_NON_FINITE',
      `${this.source}, line ${line}, column ${JSON.stringify(name)}: ${quoteForMessage(text)} overflows to infinity`,
      'rescale the column (e.g. take logs) so that its values are finite doubles',
      { input: this.source, line, column: name, value: text },
    );
  }

  /** Checks the header against the options and sets the parser's plan. */
  private setColumns(columns: string[], line: number): void {
    const source = this.source;
    requireUniqueColumns(columns, source, line);
    const label = this.options.label;
    const labelIndex = columns.indexOf(label);
    if (labelIndex < 0) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: there is no label column ${JSON.stringify(label)}; the columns are ${listColumns(columns)}`,
        'pass the name of the 0/1 label column as `label` (--label on the command line)',
        { input: source, label, columns },
      );
    }
    const features = this.options.features ?? columns.filter((name) => name !== label);
    const kinds = new Uint8Array(columns.length).fill(KIND_SKIP);
    const slots = new Int32Array(columns.length);
    kinds[labelIndex] = KIND_LABEL;
    const offset = this.intercept ? 1 : 0;
    const seen = new Set<string>();
    for (let k = 0; k < features.length; k++) {
      const name = features[k] as string;
      const index = columns.indexOf(name);
      if (index < 0 || name === label || seen.has(name)) {
        const problem =
          index < 0
            ? `there is no feature column ${JSON.stringify(name)}; the columns are ${listColumns(columns)}`
            : name === label
              ? `the label ${JSON.stringify(name)} is also listed as a feature`
              : `the feature ${JSON.stringify(name)} is listed twice`;
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `${source}: ${problem}`,
          'list each feature column once, by its header name, and leave out the label',
          { input: source, column: name, columns },
        );
      }
      seen.add(name);
      kinds[index] = KIND_NUMBER;
      slots[index] = k + offset;
    }
    if (features.length + offset === 0) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: no feature columns and no intercept: the design matrix would be empty`,
        'keep the intercept or name at least one feature column',
        { input: source },
      );
    }
    this.columns = columns;
    this.kinds = kinds;
    this.featureNames = [...features];
    this.headerLine = line;
    this.sink.setWidth(features.length + offset);
    this.parser.setPlan({
      kinds,
      slots,
      extraKind: KIND_SKIP,
      onesSlot: this.intercept ? 0 : -1,
      variable: false,
      commits: false,
      // The first bad value of a row is the error, as soon as it is read.
      failFast: true,
      labelZero: 0,
      labelOne: 1,
      labelOf: matrixLabel,
    });
  }
}

/** A matrix label: text that reads as 0 or 1 (`1`, `"1"`, `1.0`, ` 0 `); -1 otherwise. */
function matrixLabel(text: string): number {
  const value = parseDecimalText(text);
  return value === 0 || value === 1 ? value : -1;
}

/** Options of {@link parseCsvMatrix}. */
export interface ParseCsvMatrixOptions extends CsvMatrixOptions {
  /** The input's name in error messages (a file path). Default `<csv>`. */
  source?: string;
}

/**
 * Parses a numeric CSV held in memory into a design matrix and labels (browser-safe). Every value
 * is correctly rounded (the same double `Number()` gives).
 *
 * @param bytes - the UTF-8 bytes of the CSV (with a header line)
 * @param options - label column, features, intercept, delimiter, source name
 * @returns the design matrix, labels and counts
 * @throws RarefyInputError RAREFY_PARSE_ERROR (malformed file, non-numeric or empty value),
 *   RAREFY_INVALID_LABEL (a label that is not 0/1), RAREFY_INVALID_ARGUMENT (a missing column)
 * @example
 * ```ts
 * const { x, y } = parseCsvMatrix(new TextEncoder().encode('y,a,b\n1,0.5,2\n0,1.5,-1\n'), { label: 'y' });
 * x.names; // ['(Intercept)', 'a', 'b']
 * ```
 */
export function parseCsvMatrix(bytes: Uint8Array, options: ParseCsvMatrixOptions): CsvMatrix {
  const parser = new CsvMatrixParser(options, options.source ?? DEFAULT_SOURCE);
  // Parse a first slice to estimate the row count, then reserve and parse the rest.
  const probeEnd = Math.min(bytes.length, 1 << 20);
  const consumed = parser.parse(bytes, 0, probeEnd, probeEnd === bytes.length);
  if (consumed < bytes.length) {
    if (parser.rows > 0 && consumed > 0) {
      parser.reserve(Math.ceil(((parser.rows * bytes.length) / consumed) * 1.02) + 16);
    }
    parser.parse(bytes, consumed, bytes.length, true);
  }
  return parser.finish();
}
