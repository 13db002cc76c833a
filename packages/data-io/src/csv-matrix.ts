import { type DesignMatrix, INTERCEPT_NAME, RarefyError, RarefyInputError } from '@rarefy/sampling-core';
import {
  CARRIAGE_RETURN,
  csvParseError,
  DEFAULT_SOURCE,
  LINE_FEED,
  listColumns,
  QUOTE,
  quoteForMessage,
  requireUniqueColumns,
  singleByteOption,
} from './csv-shared.js';
import { CsvTokenizer } from './csv-tokenizer.js';
import { parseDecimalText, type ScanCursor, scanDecimal } from './number-parse.js';

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

/** Role of a CSV column: a feature's matrix column (>= 0), the label, or skipped. */
const LABEL = -1;
const SKIP = -2;

/** True for the bytes that may end a field: the delimiter or a line break. */
function isTerminator(byte: number, delimiter: number): boolean {
  return byte === delimiter || byte === LINE_FEED || byte === CARRIAGE_RETURN;
}

/**
 * A numeric CSV parser that writes straight into a growable row-major Float64Array and a Uint8Array
 * of labels, in one pass over the bytes and without a string per field on the common path (numbers
 * are converted from bytes exactly; quoted or unusual fields take a slower exact path).
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
  private readonly delimiter: number;
  private readonly comment: number;
  private readonly intercept: boolean;
  private readonly cursor: ScanCursor = { end: 0 };
  private columns: string[] | null = null;
  private roles = new Int32Array(0);
  private featureNames: string[] = [];
  private width = 0;
  private rowCount = 0;
  private capacity = 0;
  private data = new Float64Array(0);
  private labels = new Uint8Array(0);
  private line = 1;
  private headerLine = 1;
  private atStart = true;
  private carry: Uint8Array | null = null;
  private finished = false;
  // Results of slowField (set before it returns).
  private fieldEnd = 0;
  private fieldNewlines = 0;
  private readonly decoder = new TextDecoder('utf-8');

  /**
   * @param options - the label column, features, intercept and delimiter
   * @param source - the input's name in error messages (a file path); default `<csv>`
   */
  constructor(options: CsvMatrixOptions, source: string = DEFAULT_SOURCE) {
    this.options = options;
    this.source = source;
    this.delimiter = singleByteOption(options.delimiter ?? ',', 'delimiter');
    this.comment = options.comment === undefined ? -1 : singleByteOption(options.comment, 'comment');
    this.intercept = options.intercept ?? true;
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
    return this.rowCount;
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
    if (this.width > 0 && rows > this.capacity) this.grow(Math.ceil(rows));
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
    let bytes = chunk;
    if (this.carry !== null && this.carry.length > 0) {
      bytes = new Uint8Array(this.carry.length + chunk.length);
      bytes.set(this.carry);
      bytes.set(chunk, this.carry.length);
    }
    const consumed = this.parse(bytes, 0, bytes.length, false);
    this.carry = consumed < bytes.length ? bytes.slice(consumed) : null;
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
    if (this.carry !== null && this.carry.length > 0) {
      const carry = this.carry;
      this.carry = null;
      this.parse(carry, 0, carry.length, true);
    }
    this.finished = true;
    if (this.columns === null) {
      throw csvParseError(
        this.source,
        this.line,
        'the file is empty (no header line)',
        `write a header line naming the columns (including the label ${JSON.stringify(this.options.label)}) and one line per row`,
      );
    }
    if (this.rowCount === 0) {
      throw csvParseError(
        this.source,
        this.headerLine,
        'the file has a header but no data rows',
        'write at least one data row below the header',
      );
    }
    const rows = this.rowCount;
    const size = rows * this.width;
    // Keep the buffers when little of them is unused (the usual case: the reader reserves from the
    // file size); copy only when much would be wasted.
    const data =
      this.data.length - size <= this.data.length / 8
        ? this.data.subarray(0, size)
        : this.data.slice(0, size);
    const y =
      this.labels.length - rows <= this.labels.length / 8
        ? this.labels.subarray(0, rows)
        : this.labels.slice(0, rows);
    let positives = 0;
    for (let i = 0; i < rows; i++) positives += y[i] as number;
    const names = this.intercept ? [INTERCEPT_NAME, ...this.featureNames] : [...this.featureNames];
    return {
      x: { data, rows, columns: this.width, names, intercept: this.intercept },
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
    if (this.finished) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${this.source}: the parser was given more input after finish()`,
        'create a new CsvMatrixParser for each input',
        { input: this.source },
      );
    }
    let position = start;
    if (this.columns === null) {
      position = this.parseHeader(bytes, position, end, final);
      if (this.columns === null) return position;
    }
    const delimiter = this.delimiter;
    const comment = this.comment;
    const roles = this.roles;
    const columnCount = roles.length;
    const width = this.width;
    const intercept = this.intercept;
    const cursor = this.cursor;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let data = this.data;
    let labels = this.labels;
    let rowCount = this.rowCount;
    let line = this.line;
    rows: while (position < end) {
      const rowStart = position;
      let byte = bytes[position] as number;
      if (byte === LINE_FEED || byte === CARRIAGE_RETURN) {
        position++;
        if (byte === CARRIAGE_RETURN) {
          if (position < end) {
            if (bytes[position] === LINE_FEED) position++;
          } else if (!final) {
            position = rowStart;
            break;
          }
        }
        line++;
        continue;
      }
      if (byte === comment) {
        while (position < end && bytes[position] !== LINE_FEED && bytes[position] !== CARRIAGE_RETURN) {
          position++;
        }
        if (position === end && !final) {
          position = rowStart;
          break;
        }
        continue; // the line break is consumed as a blank line
      }
      if (rowCount === this.capacity) {
        this.rowCount = rowCount;
        this.grow(Math.max(1024, this.capacity * 2));
        data = this.data;
        labels = this.labels;
      }
      const base = rowCount * width;
      if (intercept) data[base] = 1;
      let column = 0;
      let extraLines = 0;
      for (;;) {
        const role = column < columnCount ? (roles[column] as number) : SKIP;
        if (role >= 0) {
          let value = scanDecimal(bytes, view, position, end, delimiter, cursor);
          if (!Number.isNaN(value)) {
            position = cursor.end;
          } else {
            const text = this.slowField(bytes, position, end, final, line + extraLines);
            if (text === null) {
              position = rowStart;
              break rows;
            }
            value = this.numberFromText(text, column, line);
            position = this.fieldEnd;
            extraLines += this.fieldNewlines;
          }
          data[base + role] = value;
        } else if (role === LABEL) {
          byte = position < end ? (bytes[position] as number) : -1;
          if (
            (byte === 48 || byte === 49) &&
            (position + 1 < end ? isTerminator(bytes[position + 1] as number, delimiter) : final)
          ) {
            labels[rowCount] = byte - 48;
            position++;
          } else {
            const text = this.slowField(bytes, position, end, final, line + extraLines);
            if (text === null) {
              position = rowStart;
              break rows;
            }
            labels[rowCount] = this.labelFromText(text, line);
            position = this.fieldEnd;
            extraLines += this.fieldNewlines;
          }
        } else {
          const text = this.slowField(bytes, position, end, final, line + extraLines);
          if (text === null) {
            position = rowStart;
            break rows;
          }
          position = this.fieldEnd;
          extraLines += this.fieldNewlines;
        }
        if (position >= end) {
          if (!final) {
            position = rowStart;
            break rows;
          }
          break;
        }
        byte = bytes[position] as number;
        if (byte === delimiter) {
          position++;
          column++;
          continue;
        }
        // A line break: LF, CRLF or a lone CR.
        position++;
        if (byte === CARRIAGE_RETURN) {
          if (position < end) {
            if (bytes[position] === LINE_FEED) position++;
          } else if (!final) {
            position = rowStart;
            break rows;
          }
        }
        break;
      }
      if (column + 1 !== columnCount) {
        throw csvParseError(
          this.source,
          line,
          `${column + 1} fields where the header has ${columnCount}`,
          'give every row one field per header column (quote fields that contain the delimiter)',
          { fields: column + 1, expected: columnCount },
        );
      }
      rowCount++;
      line += 1 + extraLines;
    }
    this.rowCount = rowCount;
    this.line = line;
    return position;
  }

  private grow(capacity: number): void {
    const data = new Float64Array(capacity * this.width);
    data.set(this.data.subarray(0, this.rowCount * this.width));
    const labels = new Uint8Array(capacity);
    labels.set(this.labels.subarray(0, this.rowCount));
    this.data = data;
    this.labels = labels;
    this.capacity = capacity;
  }

  /**
   * Reads one field the slow way (quotes, spaces, anything): returns its text and sets `fieldEnd`
   * (the terminator's index) and `fieldNewlines`; null when the field runs past `end` and more
   * input may follow.
   */
  private slowField(
    bytes: Uint8Array,
    start: number,
    end: number,
    final: boolean,
    line: number,
  ): string | null {
    const delimiter = this.delimiter;
    let position = start;
    this.fieldNewlines = 0;
    if (position < end && bytes[position] === QUOTE) {
      position++;
      let newlines = 0;
      const segments: Uint8Array[] = [];
      let segmentStart = position;
      for (;;) {
        if (position >= end) {
          if (!final) return null;
          throw csvParseError(
            this.source,
            line,
            'a quoted field is never closed (the file ends inside quotes)',
            'close the quote with a matching `"`, and write quotes inside quoted fields as `""`',
          );
        }
        const byte = bytes[position] as number;
        if (byte === QUOTE) {
          if (position + 1 < end && bytes[position + 1] === QUOTE) {
            // An escaped quote: keep the segment up to and including one quote.
            segments.push(bytes.subarray(segmentStart, position + 1));
            position += 2;
            segmentStart = position;
            continue;
          }
          if (position + 1 >= end && !final) return null;
          break;
        }
        if (byte === LINE_FEED) newlines++;
        position++;
      }
      segments.push(bytes.subarray(segmentStart, position));
      let text: string;
      if (segments.length === 1) {
        text = this.decoder.decode(segments[0]);
      } else {
        let length = 0;
        for (const segment of segments) length += segment.length;
        const joined = new Uint8Array(length);
        let offset = 0;
        for (const segment of segments) {
          joined.set(segment, offset);
          offset += segment.length;
        }
        text = this.decoder.decode(joined);
      }
      position++; // the closing quote
      if (position < end && !isTerminator(bytes[position] as number, delimiter)) {
        throw csvParseError(
          this.source,
          line + newlines,
          `unexpected ${quoteForMessage(String.fromCharCode(bytes[position] as number))} after a closing quote`,
          'write a quote inside a quoted field as `""`, and put nothing between a closing quote and the delimiter',
        );
      }
      this.fieldEnd = position;
      this.fieldNewlines = newlines;
      return text;
    }
    while (position < end && !isTerminator(bytes[position] as number, delimiter)) position++;
    if (position >= end && !final) return null;
    this.fieldEnd = position;
    return this.decoder.decode(bytes.subarray(start, position));
  }

  private columnName(column: number): string {
    return (this.columns as string[])[column] ?? `#${column + 1}`;
  }

  private numberFromText(text: string, column: number, line: number): number {
    const value = parseDecimalText(text);
    if (Number.isNaN(value)) {
      const name = this.columnName(column);
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
    if (!Number.isFinite(value)) {
      const name = this.columnName(column);
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `${this.source}, line ${line}, column ${JSON.stringify(name)}: ${quoteForMessage(text)} overflows to infinity`,
        'rescale the column (e.g. take logs) so that its values are finite doubles',
        { input: this.source, line, column: name, value: text },
      );
    }
    return value;
  }

  private labelFromText(text: string, line: number): number {
    const value = parseDecimalText(text);
    if (value === 0 || value === 1) return value;
    const label = this.options.label;
    throw new RarefyInputError(
      'RAREFY_INVALID_LABEL',
      `${this.source}, line ${line}, label column ${JSON.stringify(label)}: ${quoteForMessage(text)} is not 0 or 1`,
      `map the labels to 0 (negative) and 1 (positive) in ${JSON.stringify(label)}`,
      { input: this.source, line, column: label, value: text },
    );
  }

  /** Finds the header (after a BOM, blank lines and comments), tokenizes it and sets up the roles. */
  private parseHeader(bytes: Uint8Array, start: number, end: number, final: boolean): number {
    let position = start;
    if (this.atStart) {
      if (end - position < 3 && !final) return position;
      if (bytes[position] === 0xef && bytes[position + 1] === 0xbb && bytes[position + 2] === 0xbf)
        position += 3;
      this.atStart = false;
    }
    for (;;) {
      if (position >= end) return position;
      const byte = bytes[position] as number;
      if (byte !== LINE_FEED && byte !== CARRIAGE_RETURN && byte !== this.comment) break;
      // Skip a blank or comment line.
      const lineStart = position;
      while (position < end && bytes[position] !== LINE_FEED && bytes[position] !== CARRIAGE_RETURN)
        position++;
      if (position >= end) return final ? end : lineStart;
      if (bytes[position] === CARRIAGE_RETURN && position + 1 >= end && !final) return lineStart;
      position += bytes[position] === CARRIAGE_RETURN && bytes[position + 1] === LINE_FEED ? 2 : 1;
      this.line++;
    }
    // Find the end of the header record (line breaks inside quotes do not end it).
    let inQuotes = false;
    let newlines = 0;
    let recordEnd = position;
    while (recordEnd < end) {
      const byte = bytes[recordEnd] as number;
      if (byte === QUOTE) inQuotes = !inQuotes;
      else if (byte === LINE_FEED) {
        if (!inQuotes) break;
        newlines++;
      } else if (byte === CARRIAGE_RETURN && !inQuotes) break;
      recordEnd++;
    }
    if (recordEnd >= end && !final) return position;
    if (recordEnd < end && bytes[recordEnd] === CARRIAGE_RETURN && recordEnd + 1 >= end && !final)
      return position;
    const tokenizer = new CsvTokenizer({
      delimiter: String.fromCharCode(this.delimiter),
      source: this.source,
    });
    const records = tokenizer.push(bytes.subarray(position, recordEnd));
    for (const record of tokenizer.finish()) records.push(record);
    const header = records[0];
    if (header === undefined) return recordEnd;
    this.headerLine = this.line;
    this.setColumns(header.fields.map((name) => name.trim()));
    let next = recordEnd;
    if (next < end) next += bytes[next] === CARRIAGE_RETURN && bytes[next + 1] === LINE_FEED ? 2 : 1;
    this.line += 1 + newlines;
    return next;
  }

  private setColumns(columns: string[]): void {
    const source = this.source;
    requireUniqueColumns(columns, source, this.line);
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
    const roles = new Int32Array(columns.length).fill(SKIP);
    roles[labelIndex] = LABEL;
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
      roles[index] = k + offset;
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
    this.roles = roles;
    this.featureNames = [...features];
    this.width = features.length + offset;
  }
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
