import { RarefyError } from '@rarefy/sampling-core';
import {
  CARRIAGE_RETURN,
  csvParseError,
  DEFAULT_SOURCE,
  LINE_FEED,
  QUOTE,
  requireUniqueColumns,
  singleByteOption,
} from './csv-shared.js';

/** Options of {@link CsvTokenizer}. */
export interface CsvTokenizerOptions {
  /** The field delimiter: `,` (default), `\t` for TSV, or another single ASCII character. */
  delimiter?: string;
  /** When set (e.g. `#`), lines starting with this character are skipped. Default: none. */
  comment?: string;
  /** The name of the input in error messages (a file path). Default `<csv>`. */
  source?: string;
}

/** One record of a CSV file: its fields and the line it starts on. */
export interface CsvRecord {
  /** The decoded fields, quotes removed and `""` unescaped. */
  fields: string[];
  /** The 1-based line on which the record starts. */
  line: number;
}

/** The tokenizer's states. */
const State = { FieldStart: 0, Unquoted: 1, Quoted: 2, QuoteInQuoted: 3, Comment: 4 } as const;
type State = (typeof State)[keyof typeof State];

const BOM = [0xef, 0xbb, 0xbf] as const;

/**
 * An incremental RFC 4180 tokenizer over UTF-8 bytes: feed chunks as they arrive, get whole records
 * back. Handles quoted fields (`""` escapes, quoted delimiters and line breaks), CRLF and LF, a
 * UTF-8 byte-order mark, optional comment lines and a last record without a line break. Blank lines
 * are skipped. Chunks may split anywhere, even inside a multi-byte character.
 *
 * @example
 * ```ts
 * const tokenizer = new CsvTokenizer({ source: 'data.csv' });
 * const records = [...tokenizer.push(chunk1), ...tokenizer.push(chunk2), ...tokenizer.finish()];
 * records[0].fields; // the header
 * ```
 */
export class CsvTokenizer {
  private readonly delimiter: number;
  private readonly comment: number;
  private readonly source: string;
  private readonly decoder = new TextDecoder('utf-8');
  private state: State = State.FieldStart;
  private field = new Uint8Array(256);
  private fieldLength = 0;
  private fieldQuoted = false;
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private quoteLine = 1;
  private afterCarriageReturn = false;
  private bomBytesSeen = 0;
  private startChecked = false;
  private finished = false;

  /**
   * @param options - delimiter, comment character and the input's name for errors
   */
  constructor(options: CsvTokenizerOptions = {}) {
    this.delimiter = singleByteOption(options.delimiter ?? ',', 'delimiter');
    this.comment = options.comment === undefined ? -1 : singleByteOption(options.comment, 'comment');
    if (this.comment === this.delimiter) {
      throw csvParseError(
        options.source ?? DEFAULT_SOURCE,
        1,
        'the comment character equals the delimiter',
        'pick a comment character that is not the delimiter',
      );
    }
    this.source = options.source ?? DEFAULT_SOURCE;
  }

  /**
   * Tokenizes the next chunk of bytes.
   *
   * @param chunk - the next bytes of the input
   * @returns the records completed by this chunk (possibly none)
   * @example
   * ```ts
   * tokenizer.push(new TextEncoder().encode('a,b\n1,2\n')); // two records
   * ```
   */
  push(chunk: Uint8Array): CsvRecord[] {
    if (this.finished) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${this.source}: the tokenizer was given more input after finish()`,
        'create a new CsvTokenizer for each input',
        { input: this.source },
      );
    }
    const records: CsvRecord[] = [];
    let position = 0;
    const length = chunk.length;
    // Skip a byte-order mark at the very start (possibly split across chunks).
    while (!this.startChecked && position < length) {
      if (chunk[position] === BOM[this.bomBytesSeen]) {
        this.bomBytesSeen++;
        position++;
        if (this.bomBytesSeen === 3) this.startChecked = true;
      } else {
        // Not a BOM after all: replay the bytes that looked like one.
        this.startChecked = true;
        const seen = this.bomBytesSeen;
        this.bomBytesSeen = 0;
        if (seen > 0) this.consume(Uint8Array.from(BOM.slice(0, seen)), 0, records);
      }
    }
    this.consume(chunk, position, records);
    return records;
  }

  /**
   * Ends the input: completes a last record that has no line break.
   *
   * @returns the last record, if any
   * @throws RarefyInputError RAREFY_PARSE_ERROR when a quoted field is never closed
   * @example
   * ```ts
   * tokenizer.push(new TextEncoder().encode('a,b\n1,2')); // one record: the header
   * tokenizer.finish(); // [{ fields: ['1', '2'], line: 2 }]
   * ```
   */
  finish(): CsvRecord[] {
    const records: CsvRecord[] = [];
    if (this.finished) return records;
    if (!this.startChecked && this.bomBytesSeen > 0) {
      const seen = this.bomBytesSeen;
      this.startChecked = true;
      this.bomBytesSeen = 0;
      this.consume(Uint8Array.from(BOM.slice(0, seen)), 0, records);
    }
    this.finished = true;
    if (this.state === State.Quoted) {
      throw csvParseError(
        this.source,
        this.quoteLine,
        'a quoted field is never closed (the file ends inside quotes)',
        'close the quote with a matching `"`, and write quotes inside quoted fields as `""`',
      );
    }
    if (
      this.state !== State.Comment &&
      (this.fields.length > 0 || this.fieldLength > 0 || this.fieldQuoted)
    ) {
      this.endRecord(records);
    }
    return records;
  }

  private appendByte(byte: number): void {
    if (this.fieldLength === this.field.length) {
      const grown = new Uint8Array(this.field.length * 2);
      grown.set(this.field);
      this.field = grown;
    }
    this.field[this.fieldLength++] = byte;
  }

  private endField(): void {
    this.fields.push(this.decoder.decode(this.field.subarray(0, this.fieldLength)));
    this.fieldLength = 0;
    this.fieldQuoted = false;
  }

  private endRecord(records: CsvRecord[]): void {
    const blank = this.fields.length === 0 && this.fieldLength === 0 && !this.fieldQuoted;
    if (!blank) {
      this.endField();
      records.push({ fields: this.fields, line: this.recordLine });
    }
    this.fields = [];
    this.fieldLength = 0;
    this.fieldQuoted = false;
    this.state = State.FieldStart;
  }

  private consume(chunk: Uint8Array, start: number, records: CsvRecord[]): void {
    const delimiter = this.delimiter;
    for (let position = start; position < chunk.length; position++) {
      const byte = chunk[position] as number;
      if (this.afterCarriageReturn) {
        this.afterCarriageReturn = false;
        if (byte === LINE_FEED) continue;
      }
      switch (this.state) {
        case State.FieldStart:
          if (byte === QUOTE) {
            this.state = State.Quoted;
            this.fieldQuoted = true;
            this.quoteLine = this.line;
            break;
          }
          if (byte === this.comment && this.fields.length === 0) {
            this.state = State.Comment;
            break;
          }
          this.state = State.Unquoted;
          this.unquotedByte(byte, delimiter, records);
          break;
        case State.Unquoted:
          this.unquotedByte(byte, delimiter, records);
          break;
        case State.Quoted:
          if (byte === QUOTE) {
            this.state = State.QuoteInQuoted;
          } else {
            if (byte === LINE_FEED) this.line++;
            this.appendByte(byte);
          }
          break;
        case State.QuoteInQuoted:
          if (byte === QUOTE) {
            this.appendByte(QUOTE);
            this.state = State.Quoted;
          } else if (byte === delimiter || byte === LINE_FEED || byte === CARRIAGE_RETURN) {
            this.state = State.Unquoted;
            this.unquotedByte(byte, delimiter, records);
          } else {
            throw csvParseError(
              this.source,
              this.line,
              `unexpected ${JSON.stringify(String.fromCharCode(byte))} after the closing quote of field ${this.fields.length + 1}`,
              'write a quote inside a quoted field as `""`, and put nothing between a closing quote and the delimiter',
              { column: this.fields.length + 1 },
            );
          }
          break;
        case State.Comment:
          if (byte === LINE_FEED || byte === CARRIAGE_RETURN) {
            this.line++;
            this.afterCarriageReturn = byte === CARRIAGE_RETURN;
            this.state = State.FieldStart;
            this.recordLine = this.line;
          }
          break;
      }
    }
  }

  private unquotedByte(byte: number, delimiter: number, records: CsvRecord[]): void {
    if (byte === delimiter) {
      this.endField();
      this.state = State.FieldStart;
    } else if (byte === LINE_FEED || byte === CARRIAGE_RETURN) {
      this.endRecord(records);
      this.line++;
      this.recordLine = this.line;
      this.afterCarriageReturn = byte === CARRIAGE_RETURN;
    } else {
      this.appendByte(byte);
    }
  }
}

/** A small CSV file read into memory: the column names and every row as strings. */
export interface CsvTable {
  /** The header's names (or `column1`, `column2`, ... when there is no header). */
  columns: string[];
  /** Every data row, one string per column. */
  rows: string[][];
}

/** Options of {@link parseCsv}. */
export interface ParseCsvOptions {
  /** The field delimiter (default `,`). */
  delimiter?: string;
  /** Whether the first record is a header (default true). */
  header?: boolean;
  /** Skip lines starting with this character (e.g. `#`). Default: none. */
  comment?: string;
  /** The input's name in error messages. */
  source?: string;
}

/**
 * Parses CSV text into string rows: the general reader for small files and tests (numeric data
 * sets should go through `parseCsvMatrix`, which is far faster and leaner).
 *
 * @param text - the CSV text
 * @param options - delimiter, header, comment character, source name
 * @returns the columns and rows
 * @throws RarefyInputError RAREFY_PARSE_ERROR for ragged rows, a duplicate header name, a quote
 *   left open or an empty input
 * @example
 * ```ts
 * const table = parseCsv('name,score\n"Smith, J",0.5\n');
 * table.rows[0]; // ['Smith, J', '0.5']
 * ```
 */
export function parseCsv(text: string, options: ParseCsvOptions = {}): CsvTable {
  const source = options.source ?? DEFAULT_SOURCE;
  const tokenizer = new CsvTokenizer(options);
  const records = tokenizer.push(new TextEncoder().encode(text));
  for (const record of tokenizer.finish()) records.push(record);
  const header = options.header ?? true;
  const first = records[0];
  if (first === undefined) {
    throw csvParseError(
      source,
      1,
      header ? 'the input is empty (no header)' : 'the input is empty',
      'pass a CSV with a header line and at least one row',
    );
  }
  const columns = header ? first.fields : first.fields.map((_, index) => `column${index + 1}`);
  if (header) requireUniqueColumns(columns, source, first.line);
  const rows: string[][] = [];
  for (let index = header ? 1 : 0; index < records.length; index++) {
    const record = records[index] as CsvRecord;
    if (record.fields.length !== columns.length) {
      throw csvParseError(
        source,
        record.line,
        `${record.fields.length} fields where the ${header ? 'header has' : 'first row has'} ${columns.length}`,
        'give every row the same number of fields (quote fields that contain the delimiter)',
        { fields: record.fields.length, expected: columns.length },
      );
    }
    rows.push(record.fields);
  }
  return { columns, rows };
}
