import type { ColumnBatch, ColumnData, RarefyInputError } from '@rarefy/sampling-core';
import { reportInvalid } from './batch-assembler.js';
import {
  type CsvColumnPlan,
  CsvParser,
  type CsvRowProblem,
  type CsvRowSink,
  CsvRows,
  KIND_INTEGER,
  KIND_LABEL,
  KIND_NUMBER,
  KIND_SKIP,
  KIND_TEXT,
} from './csv-parser.js';
import { csvParseError, listColumns, requireUniqueColumns } from './csv-shared.js';
import { DECIMAL_PATTERN } from './number-parse.js';
import { type ReadStats, type TablePlan, valueError } from './schema.js';

/** Options of {@link CsvSourceParser}. @internal */
export interface CsvSourceOptions {
  /** The input's name for messages. */
  source: string;
  /** The field delimiter. */
  delimiter: string;
  /** The comment character, if any. */
  comment?: string | undefined;
  /** The text encoding. */
  encoding: 'utf-8' | 'latin1';
  /** Whether the first record is a header. */
  header: boolean;
  /**
   * The columns the file must have (from the first file of a glob), or null to take them from
   * this file. Without a header, only their number matters.
   */
  expectedColumns: readonly string[] | null;
}

/**
 * One CSV/TSV file of a table: reads the header (or names the columns `c1`..`cK`), checks it
 * against the expected columns, then parses the rows into `rows` by the plan `planFor` gives.
 *
 * @example
 * ```ts
 * const sink = new CsvRecordSink();
 * const file = new CsvSourceParser(sink.rows, options, (columns) => textPlan(columns.length));
 * file.push(chunk);
 * file.finish();
 * file.columns; // the header
 * ```
 * @internal
 */
export class CsvSourceParser {
  /** The file's columns, once its first record is read. */
  columns: string[] | null = null;
  private readonly options: CsvSourceOptions;
  private readonly parser: CsvParser;

  /**
   * @param rows - where the data rows go
   * @param options - source, delimiter, comment, encoding, header and expected columns
   * @param planFor - the plan for the file's columns
   */
  constructor(rows: CsvRows, options: CsvSourceOptions, planFor: (columns: string[]) => CsvColumnPlan) {
    this.options = options;
    this.parser = new CsvParser(options, rows, null, (fields, line) => {
      const { source, header, expectedColumns } = options;
      let columns: string[];
      if (header) {
        requireUniqueColumns(fields, source, line);
        if (expectedColumns !== null && !sameNames(fields, expectedColumns)) {
          throw csvParseError(
            source,
            line,
            `the header (${listColumns(fields)}) differs from the first file's (${listColumns(expectedColumns)})`,
            'give every file read as one table the same columns in the same order',
            { columns: fields },
          );
        }
        columns = fields;
      } else {
        columns = expectedColumns === null ? fields.map((_, k) => `c${k + 1}`) : [...expectedColumns];
      }
      this.columns = columns;
      this.parser.setPlan(planFor(columns));
      return header;
    });
  }

  /**
   * Parses the next chunk.
   *
   * @param chunk - the next bytes (not kept)
   * @returns nothing
   * @example
   * ```ts
   * file.push(new TextEncoder().encode('y,x\n1,2\n'));
   * ```
   */
  push(chunk: Uint8Array): void {
    this.parser.push(chunk);
  }

  /**
   * Ends the file.
   *
   * @returns nothing
   * @throws RarefyInputError RAREFY_PARSE_ERROR when the file is empty or ends inside quotes
   * @example
   * ```ts
   * file.finish();
   * ```
   */
  finish(): void {
    this.parser.finish();
    if (this.columns === null) {
      const { source, header } = this.options;
      throw csvParseError(
        source,
        1,
        header ? 'the file is empty (no header line)' : 'the file is empty',
        header ? 'write a header line naming the columns, then one line per row' : 'write one line per row',
      );
    }
  }
}

/** True when two lists of names are equal. */
function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, k) => name === b[k]);
}

/**
 * A plan that keeps `count` columns as text and refuses rows of another length (type inference).
 *
 * @param count - the number of columns
 * @returns the plan
 * @example
 * ```ts
 * new CsvSourceParser(sink.rows, options, (columns) => textPlan(columns.length));
 * ```
 * @internal
 */
export function textPlan(count: number): CsvColumnPlan {
  return {
    kinds: new Uint8Array(count).fill(KIND_TEXT),
    slots: new Int32Array(count),
    extraKind: KIND_SKIP,
    onesSlot: -1,
    variable: false,
    commits: true,
    failFast: false,
    labelZero: -1,
    labelOne: -1,
    labelOf: () => -1,
  };
}

/**
 * Turns the rows of CSV/TSV files into typed columnar batches of at most `batchRows` rows,
 * following a {@link TablePlan}: the parser writes numbers and labels straight from the bytes into
 * column-major buffers (one slice per column per batch), text columns are dictionary-encoded per
 * batch. A bad row is an error naming file, line, column and value, or a counted skip.
 *
 * @example
 * ```ts
 * const sink = new CsvBatchSink(plan, 65536, 'error', stats, true);
 * sink.source = 'a.csv';
 * const file = new CsvSourceParser(sink.rows, options, () => sink.plan);
 * file.push(chunk);
 * file.finish();
 * sink.flush();
 * const batches = sink.takeReady();
 * ```
 * @internal
 */
export class CsvBatchSink implements CsvRowSink {
  /** The current file, for messages. */
  source = '<input>';
  /** The rows to hand to the parser. */
  readonly rows: CsvRows = new CsvRows(this);
  /** The parser's plan (by source column). */
  readonly plan: CsvColumnPlan;
  private readonly table: TablePlan;
  private readonly batchRows: number;
  private readonly onInvalid: 'error' | 'skip';
  private readonly stats: ReadStats;
  private readonly header: boolean;
  /** Per output column: its kind and slot. */
  private readonly outputKinds: Uint8Array;
  private readonly outputSlots: Int32Array;
  /** Per source column: its output column, or -1 when dropped. */
  private readonly outputOf: Int32Array;
  private readonly numberSlots: number;
  private readonly labelSlots: number;
  /** Per text slot: its source column. */
  private readonly textColumns: Int32Array;
  private codes = new Int32Array(0);
  private dictionaries: Map<string, number>[] = [];
  private dictionaryValues: string[][] = [];
  private ready: ColumnBatch[] = [];
  private firstRow = 0;

  /**
   * @param table - the output columns and where their values come from
   * @param batchRows - rows per batch
   * @param onInvalid - what a bad row does
   * @param stats - counts to update (rows delivered, rows skipped)
   * @param header - whether the files have a header (for messages)
   */
  constructor(
    table: TablePlan,
    batchRows: number,
    onInvalid: 'error' | 'skip',
    stats: ReadStats,
    header: boolean,
  ) {
    this.table = table;
    this.batchRows = batchRows;
    this.onInvalid = onInvalid;
    this.stats = stats;
    this.header = header;
    const sourceCount = table.sourceColumns.length;
    const kinds = new Uint8Array(sourceCount).fill(KIND_SKIP);
    const slots = new Int32Array(sourceCount);
    const outputOf = new Int32Array(sourceCount).fill(-1);
    const outputKinds = new Uint8Array(table.columns.length);
    const outputSlots = new Int32Array(table.columns.length);
    const textColumns: number[] = [];
    let numberSlots = 0;
    let labelSlots = 0;
    table.columns.forEach((column, j) => {
      const kind =
        column.type === 'number'
          ? KIND_NUMBER
          : column.type === 'integer'
            ? KIND_INTEGER
            : column.type === 'label'
              ? KIND_LABEL
              : KIND_TEXT;
      const slot =
        kind === KIND_LABEL ? labelSlots++ : kind === KIND_TEXT ? textColumns.length : numberSlots++;
      if (kind === KIND_TEXT) textColumns.push(column.sourceIndex);
      kinds[column.sourceIndex] = kind;
      slots[column.sourceIndex] = slot;
      outputOf[column.sourceIndex] = j;
      outputKinds[j] = kind;
      outputSlots[j] = slot;
    });
    this.outputKinds = outputKinds;
    this.outputSlots = outputSlots;
    this.outputOf = outputOf;
    this.numberSlots = numberSlots;
    this.labelSlots = labelSlots;
    this.textColumns = Int32Array.from(textColumns);
    const matcher = table.labels;
    this.plan = {
      kinds,
      slots,
      extraKind: KIND_SKIP,
      onesSlot: -1,
      variable: false,
      commits: textColumns.length > 0,
      failFast: false,
      labelZero: matcher === null ? -1 : matcher.match('0'),
      labelOne: matcher === null ? -1 : matcher.match('1'),
      labelOf: matcher === null ? () => -1 : (text) => matcher.match(text),
    };
    this.rows.numberRowStride = 1;
    this.rows.labelRowStride = 1;
  }

  /**
   * Makes room for the next row: a full batch goes to the ready list, else the buffers grow.
   *
   * @param rows - the parser's rows (this sink's)
   * @returns nothing
   * @example
   * ```ts
   * sink.makeRoom(sink.rows);
   * ```
   */
  makeRoom(rows: CsvRows): void {
    if (rows.capacity === this.batchRows) {
      this.emit();
      return;
    }
    const old = rows.capacity;
    const capacity = old === 0 ? Math.min(this.batchRows, 1024) : Math.min(this.batchRows, old * 2);
    const count = rows.rows;
    const numbers = new Float64Array(this.numberSlots * capacity);
    for (let k = 0; k < this.numberSlots; k++) {
      numbers.set(rows.numbers.subarray(k * old, k * old + count), k * capacity);
    }
    const labels = new Uint8Array(this.labelSlots * capacity);
    for (let k = 0; k < this.labelSlots; k++) {
      labels.set(rows.labels.subarray(k * old, k * old + count), k * capacity);
    }
    const texts = this.textColumns.length;
    const codes = new Int32Array(texts * capacity);
    for (let k = 0; k < texts; k++) codes.set(this.codes.subarray(k * old, k * old + count), k * capacity);
    if (old === 0) {
      this.dictionaries = Array.from({ length: texts }, () => new Map<string, number>());
      this.dictionaryValues = Array.from({ length: texts }, () => []);
    }
    rows.numbers = numbers;
    rows.labels = labels;
    rows.numberSlotStride = capacity;
    rows.labelSlotStride = capacity;
    rows.capacity = capacity;
    this.codes = codes;
  }

  /**
   * Dictionary-encodes the text columns of a complete row.
   *
   * @param rows - the parser's rows (the row is `rows.rows - 1`)
   * @param texts - the row's text, by source column
   * @returns nothing
   * @example
   * ```ts
   * sink.commit(sink.rows, ['a', '1'], 2, 2);
   * ```
   */
  commit(rows: CsvRows, texts: readonly string[]): void {
    const row = rows.rows - 1;
    const capacity = rows.capacity;
    const textColumns = this.textColumns;
    for (let k = 0; k < textColumns.length; k++) {
      const text = texts[textColumns[k] as number] as string;
      const dictionary = this.dictionaries[k] as Map<string, number>;
      let code = dictionary.get(text);
      if (code === undefined) {
        const values = this.dictionaryValues[k] as string[];
        code = values.length;
        values.push(text);
        dictionary.set(text, code);
      }
      this.codes[k * capacity + row] = code;
    }
  }

  /**
   * Reports a bad row (throws, or counts a skip).
   *
   * @param _rows - the parser's rows
   * @param problem - what is wrong with the row
   * @returns nothing
   * @example
   * ```ts
   * sink.reject(sink.rows, problem);
   * ```
   */
  reject(_rows: CsvRows, problem: CsvRowProblem): void {
    reportInvalid(this.rowError(problem), this.onInvalid, this.stats);
  }

  /**
   * Sends the rows since the last batch (if any) to the ready list.
   *
   * @returns nothing
   * @example
   * ```ts
   * sink.flush();
   * ```
   */
  flush(): void {
    if (this.rows.rows > 0) this.emit();
    this.stats.rows = this.firstRow;
  }

  /**
   * Hands over the completed batches (and brings `stats.rows` up to date).
   *
   * @returns the batches completed since the last call, in order
   * @example
   * ```ts
   * for (const batch of sink.takeReady()) consume(batch);
   * ```
   */
  takeReady(): ColumnBatch[] {
    this.stats.rows = this.firstRow + this.rows.rows;
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  private emit(): void {
    const rows = this.rows.rows;
    const capacity = this.rows.capacity;
    const numbers = this.rows.numbers;
    const labels = this.rows.labels;
    // No prototype: a column may be called `__proto__` or `constructor`.
    const columns = Object.create(null) as Record<string, ColumnData>;
    this.table.columns.forEach((column, j) => {
      const kind = this.outputKinds[j] as number;
      const start = (this.outputSlots[j] as number) * capacity;
      if (kind === KIND_NUMBER) {
        columns[column.name] = numbers.slice(start, start + rows);
      } else if (kind === KIND_INTEGER) {
        columns[column.name] = new Int32Array(numbers.subarray(start, start + rows));
      } else if (kind === KIND_LABEL) {
        columns[column.name] = labels.slice(start, start + rows);
      } else {
        const k = this.outputSlots[j] as number;
        columns[column.name] = {
          kind: 'dictionary',
          codes: this.codes.slice(start, start + rows),
          values: this.dictionaryValues[k] as string[],
        };
        this.dictionaries[k] = new Map();
        this.dictionaryValues[k] = [];
      }
    });
    this.ready.push({ schema: this.table.schema, rows, firstRow: this.firstRow, columns });
    this.firstRow += rows;
    this.rows.rows = 0;
  }

  /** The error of a bad row, with the same messages as the other formats'. */
  private rowError(problem: CsvRowProblem): RarefyInputError {
    const { line, fields, expected: count } = problem;
    if (fields !== count) {
      const expected = `${count} ${this.header ? 'in the header' : 'in the first row'}`;
      const cut = problem.ended && fields < count;
      return csvParseError(
        this.source,
        line,
        cut
          ? `the file ends mid-row: the last row has ${fields} fields where there are ${expected}`
          : `${fields} fields where there are ${expected}`,
        cut
          ? "complete or remove the last row (was the file cut short?), or pass onInvalid: 'skip'"
          : "give every row one field per column (quote fields that contain the delimiter), or pass onInvalid: 'skip'",
        { fields, expected: count },
      );
    }
    const column = this.table.columns[
      this.outputOf[problem.column] as number
    ] as TablePlan['columns'][number];
    const value = problem.text;
    if (column.type === 'label') {
      const matcher = this.table.labels as NonNullable<TablePlan['labels']>;
      return valueError(
        this.source,
        line,
        column.name,
        value,
        `is not a label of the mapping (${matcher.describe()})`,
        `pass a labelMapping that lists this value (e.g. { positive: ['1'], negative: ['-1'] }), fix the row, or pass onInvalid: 'skip'`,
        'RAREFY_INVALID_LABEL',
      );
    }
    const missing = value.trim().length === 0;
    const trimmed = value.trim();
    const overflow = !missing && DECIMAL_PATTERN.test(trimmed) && !Number.isFinite(Number(trimmed));
    const problemText = missing
      ? `is missing in ${column.type} column ${JSON.stringify(column.name)}`
      : overflow
        ? 'overflows to infinity'
        : column.type === 'integer'
          ? 'is not a 32-bit integer'
          : `is not a number (the column is ${column.type}${column.type === 'number' ? ', inferred from the first rows or given in types' : ''})`;
    const fix = missing
      ? `fill the missing values, declare the column as 'string' in types, drop it, or pass onInvalid: 'skip'`
      : `fix the value, declare the column as 'string' in types, drop it, or pass onInvalid: 'skip'`;
    return valueError(this.source, line, column.name, value, problemText, fix);
  }
}
