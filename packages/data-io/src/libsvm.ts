import { RarefyError, type RarefyInputError } from '@rarefy/sampling-core';
import { reportInvalid } from './batch-assembler.js';
import { decodeLatin1 } from './csv-tokenizer.js';
import { LineSplitter } from './line-splitter.js';
import { parseDecimalText, type ScanCursor, scanDecimal } from './number-parse.js';
import {
  type LabelMapping,
  LabelMatcher,
  LIBSVM_LABEL_MAPPING,
  type ReadStats,
  rowError,
  valueError,
} from './schema.js';

const SPACE = 32;
const TAB = 9;
const HASH = 35;
const COLON = 58;

/** Receives the rows of a LibSVM input. @internal */
export interface LibsvmRowHandler {
  /**
   * One row: its label text and its `count` features (1-based ascending indices and values, in
   * scratch arrays valid only during the call).
   */
  row(label: string, indices: Int32Array, values: Float64Array, count: number, line: number): void;
  /** A malformed row: throw it or count it. */
  invalid(error: RarefyInputError): void;
}

/** True for a space or a tab. */
function isBlank(byte: number): boolean {
  return byte === SPACE || byte === TAB;
}

/**
 * An incremental LibSVM / SVMlight parser: `label idx:val idx:val ...` per line, 1-based ascending
 * indices, `qid:` ignored, `#` comments, blank lines and rows with only a label allowed.
 *
 * @example
 * ```ts
 * const parser = new LibsvmParser(handler, 'train.svm', null);
 * parser.push(chunk);
 * parser.finish();
 * parser.maxIndex; // the largest feature index seen
 * ```
 * @internal
 */
export class LibsvmParser {
  /** The largest feature index seen so far. */
  maxIndex = 0;
  private readonly handler: LibsvmRowHandler;
  private readonly source: string;
  private readonly columns: number | null;
  private readonly splitter: LineSplitter;
  private readonly cursor: ScanCursor = { end: 0 };
  private indices = new Int32Array(64);
  private values = new Float64Array(64);
  private viewBytes: Uint8Array | null = null;
  private view: DataView = new DataView(new ArrayBuffer(0));

  /**
   * @param handler - receives rows and errors
   * @param source - the input's name for messages
   * @param columns - the number of features, when known (a larger index is an error)
   */
  constructor(handler: LibsvmRowHandler, source: string, columns: number | null) {
    this.handler = handler;
    this.source = source;
    this.columns = columns;
    this.splitter = new LineSplitter((bytes, start, end, line) => this.parseLine(bytes, start, end, line));
  }

  /**
   * Parses the next chunk.
   *
   * @param chunk - the next bytes
   * @returns nothing
   * @example
   * ```ts
   * parser.push(new TextEncoder().encode('+1 3:0.5\n'));
   * ```
   */
  push(chunk: Uint8Array): void {
    this.splitter.push(chunk);
  }

  /**
   * Ends the input (parses a last line without a line break).
   *
   * @returns nothing
   * @example
   * ```ts
   * parser.finish();
   * ```
   */
  finish(): void {
    this.splitter.finish();
  }

  private tokenEnd(bytes: Uint8Array, position: number, end: number): number {
    while (position < end) {
      const byte = bytes[position] as number;
      if (isBlank(byte) || byte === HASH) break;
      position++;
    }
    return position;
  }

  private parseLine(bytes: Uint8Array, start: number, end: number, line: number): void {
    let position = start;
    while (position < end && isBlank(bytes[position] as number)) position++;
    if (position >= end || bytes[position] === HASH) return; // blank or comment line
    const labelEnd = this.tokenEnd(bytes, position, end);
    const label = decodeLatin1(bytes.subarray(position, labelEnd));
    position = labelEnd;
    if (this.viewBytes !== bytes) {
      this.viewBytes = bytes;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    let count = 0;
    let previous = 0;
    for (;;) {
      while (position < end && isBlank(bytes[position] as number)) position++;
      if (position >= end || bytes[position] === HASH) break;
      const tokenStart = position;
      let index = 0;
      let digits = 0;
      while (position < end) {
        const digit = (bytes[position] as number) - 48;
        if (digit < 0 || digit > 9) break;
        if (index < 1e12) index = index * 10 + digit;
        digits++;
        position++;
      }
      if (digits === 0 || position >= end || bytes[position] !== COLON) {
        const tokenEnd = this.tokenEnd(bytes, tokenStart, end);
        const token = decodeLatin1(bytes.subarray(tokenStart, tokenEnd));
        if (token.startsWith('qid:')) {
          position = tokenEnd;
          continue;
        }
        this.handler.invalid(
          rowError(
            this.source,
            line,
            `${JSON.stringify(token)} is not an index:value pair`,
            "write each feature as index:value (e.g. 3:0.5) after the label, separated by spaces; put comments after '#'",
            { value: token },
          ),
        );
        return;
      }
      position++; // the colon
      let value = scanDecimal(bytes, this.view, position, end, SPACE, this.cursor);
      if (Number.isNaN(value)) {
        const valueEnd = this.tokenEnd(bytes, position, end);
        const text = decodeLatin1(bytes.subarray(position, valueEnd));
        value = parseDecimalText(text);
        if (!Number.isFinite(value)) {
          this.handler.invalid(
            valueError(
              this.source,
              line,
              `f${index}`,
              text,
              Number.isNaN(value) ? 'is not a number' : 'overflows to infinity',
              'write plain finite decimal numbers as feature values',
            ),
          );
          return;
        }
        position = valueEnd;
      } else {
        position = this.cursor.end;
      }
      if (index < 1 || index <= previous || (this.columns !== null && index > this.columns)) {
        const problem =
          index < 1
            ? 'feature index 0: indices start at 1'
            : index <= previous
              ? `feature index ${index} follows ${previous}: indices must be ascending and distinct`
              : `feature index ${index} is beyond libsvmColumns (${this.columns})`;
        this.handler.invalid(
          rowError(
            this.source,
            line,
            problem,
            index > previous
              ? 'pass a larger libsvmColumns, or leave it out to use the largest index in the file'
              : 'sort each row by feature index (1-based), with each index once',
            { index },
          ),
        );
        return;
      }
      if (count === this.indices.length) {
        const indices = new Int32Array(count * 2);
        indices.set(this.indices);
        this.indices = indices;
        const values = new Float64Array(count * 2);
        values.set(this.values);
        this.values = values;
      }
      this.indices[count] = index;
      this.values[count] = value;
      count++;
      previous = index;
    }
    if (previous > this.maxIndex) this.maxIndex = previous;
    this.handler.row(label, this.indices, this.values, count, line);
  }
}

/** Options of {@link parseLibsvm}. */
export interface ParseLibsvmOptions {
  /** The number of features (default: the largest index in the input). */
  columns?: number;
  /** Which labels are positive and negative (default: +1/1 positive, -1/0 negative). */
  labelMapping?: LabelMapping;
  /** The input's name in error messages. Default `<libsvm>`. */
  source?: string;
  /** What a bad row does (default `'error'`). */
  onInvalid?: 'error' | 'skip';
}

/** A sparse matrix in compressed sparse row form. */
export interface LibsvmCsr {
  /** Row i's entries are at `indptr[i] .. indptr[i + 1]` (length rows + 1). */
  indptr: Int32Array;
  /** The 0-based column of each entry (LibSVM index - 1). */
  indices: Int32Array;
  /** The value of each entry. */
  values: Float64Array;
  /** The number of columns. */
  columns: number;
}

/** What {@link parseLibsvm} returns. */
export interface ParsedLibsvm {
  /** The labels, 0 or 1, one per row. */
  labels: Uint8Array;
  /** The features. */
  csr: LibsvmCsr;
  /** Rows read and rows skipped. */
  stats: ReadStats;
}

/**
 * Parses a LibSVM / SVMlight file held in memory into labels and a CSR matrix (browser-safe).
 * Lines are `label idx:val idx:val ...` with 1-based ascending indices; `qid:` is ignored, `#`
 * starts a comment, rows with only a label and blank lines are allowed.
 *
 * @param input - the file's text or UTF-8 bytes
 * @param options - the number of columns, label mapping, source name, what a bad row does
 * @returns the labels and the CSR matrix (0-based column indices)
 * @throws RarefyInputError RAREFY_PARSE_ERROR for a malformed row, RAREFY_INVALID_LABEL for a label
 *   outside the mapping (unless `onInvalid: 'skip'`)
 * @example
 * ```ts
 * const { labels, csr } = parseLibsvm('+1 1:0.5 3:2\n-1\n');
 * labels; // Uint8Array [1, 0]
 * csr.indptr; // Int32Array [0, 2, 2]
 * csr.indices; // Int32Array [0, 2]
 * ```
 */
export function parseLibsvm(input: string | Uint8Array, options: ParseLibsvmOptions = {}): ParsedLibsvm {
  const source = options.source ?? '<libsvm>';
  const onInvalid = options.onInvalid ?? 'error';
  const columns = options.columns ?? null;
  if (columns !== null && !(Number.isInteger(columns) && columns >= 0)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `columns: ${columns} is not a non-negative integer`,
      'pass the number of features, or leave it out to use the largest index',
      { input: 'columns' },
    );
  }
  const matcher = new LabelMatcher(options.labelMapping ?? LIBSVM_LABEL_MAPPING);
  const stats: ReadStats = { rows: 0, skipped: 0, skippedExamples: [] };
  let labels = new Uint8Array(1024);
  let indptr = new Int32Array(1025);
  let indices = new Int32Array(4096);
  let values = new Float64Array(4096);
  let rows = 0;
  let entries = 0;
  const parser = new LibsvmParser(
    {
      row(label, rowIndices, rowValues, count, line) {
        const value = matcher.match(label);
        if (value < 0) {
          reportInvalid(
            valueError(
              source,
              line,
              'label',
              label,
              `is not a label of the mapping (${matcher.describe()})`,
              "pass a labelMapping that lists it (e.g. { positive: [1], negative: [-1] }), or onInvalid: 'skip'",
              'RAREFY_INVALID_LABEL',
            ),
            onInvalid,
            stats,
          );
          return;
        }
        if (rows === labels.length) {
          const grownLabels = new Uint8Array(rows * 2);
          grownLabels.set(labels);
          labels = grownLabels;
          const grownIndptr = new Int32Array(rows * 2 + 1);
          grownIndptr.set(indptr);
          indptr = grownIndptr;
        }
        if (entries + count > indices.length) {
          const size = Math.max(indices.length * 2, entries + count);
          const grownIndices = new Int32Array(size);
          grownIndices.set(indices);
          indices = grownIndices;
          const grownValues = new Float64Array(size);
          grownValues.set(values);
          values = grownValues;
        }
        for (let k = 0; k < count; k++) {
          indices[entries + k] = (rowIndices[k] as number) - 1;
          values[entries + k] = rowValues[k] as number;
        }
        entries += count;
        labels[rows] = value;
        rows++;
        indptr[rows] = entries;
        stats.rows++;
      },
      invalid(error) {
        reportInvalid(error, onInvalid, stats);
      },
    },
    source,
    columns,
  );
  parser.push(typeof input === 'string' ? new TextEncoder().encode(input) : input);
  parser.finish();
  return {
    labels: labels.slice(0, rows),
    csr: {
      indptr: indptr.slice(0, rows + 1),
      indices: indices.slice(0, entries),
      values: values.slice(0, entries),
      columns: columns ?? parser.maxIndex,
    },
    stats,
  };
}
