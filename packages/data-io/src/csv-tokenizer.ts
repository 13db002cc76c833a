import { RarefyError } from '@rarefy/sampling-core';
import { CsvParser, CsvRecordSink, recordPlan } from './csv-parser.js';
import { csvParseError, DEFAULT_SOURCE, requireUniqueColumns } from './csv-shared.js';

export { decodeLatin1 } from './csv-shared.js';

/** Options of {@link CsvTokenizer}. */
export interface CsvTokenizerOptions {
  /** The field delimiter: `,` (default), `\t` for TSV, or another single ASCII character. */
  delimiter?: string;
  /** When set (e.g. `#`), lines starting with this character are skipped. Default: none. */
  comment?: string;
  /** The name of the input in error messages (a file path). Default `<csv>`. */
  source?: string;
  /**
   * The text encoding: `'utf-8'` (default; a byte-order mark is skipped) or `'latin1'` (ISO-8859-1:
   * every byte is the character of that code).
   */
  encoding?: 'utf-8' | 'latin1';
}

/** One record of a CSV file: its fields and the line it starts on. */
export interface CsvRecord {
  /** The decoded fields, quotes removed and `""` unescaped. */
  fields: string[];
  /** The 1-based line on which the record starts. */
  line: number;
}

/**
 * An incremental RFC 4180 tokenizer over UTF-8 bytes: feed chunks as they arrive, get whole records
 * back. Handles quoted fields (`""` escapes, quoted delimiters and line breaks), CRLF and LF, a
 * UTF-8 byte-order mark, optional comment lines and a last record without a line break. Blank lines
 * are skipped. Chunks may split anywhere, even inside a multi-byte character. (It is the package's
 * one CSV parser, keeping every field as text.)
 *
 * @example
 * ```ts
 * const tokenizer = new CsvTokenizer({ source: 'data.csv' });
 * const records = [...tokenizer.push(chunk1), ...tokenizer.push(chunk2), ...tokenizer.finish()];
 * records[0].fields; // the header
 * ```
 */
export class CsvTokenizer {
  private readonly source: string;
  private readonly sink = new CsvRecordSink();
  private readonly parser: CsvParser;
  private finished = false;

  /**
   * @param options - delimiter, comment character and the input's name for errors
   */
  constructor(options: CsvTokenizerOptions = {}) {
    this.source = options.source ?? DEFAULT_SOURCE;
    this.parser = new CsvParser(options, this.sink.rows, recordPlan());
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
    this.parser.push(chunk);
    return this.take();
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
    if (this.finished) return [];
    this.finished = true;
    this.parser.finish();
    return this.take();
  }

  private take(): CsvRecord[] {
    const records = this.sink.records;
    this.sink.records = [];
    return records;
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
