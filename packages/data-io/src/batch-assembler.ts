import type { ColumnBatch, ColumnData, RarefyInputError } from '@rarefy/sampling-core';
import { DECIMAL_PATTERN } from './number-parse.js';
import { type RawValue, type ReadStats, rawToNumber, type TablePlan, valueError } from './schema.js';

/** Where a format parser sends its rows. @internal */
export interface RowSink {
  /**
   * Takes one row. `values` holds one raw value per source column (undefined or null for a missing
   * value); the sink must not keep the array.
   */
  add(values: readonly (RawValue | undefined)[], line: number): void;
  /** Reports a bad row: throws it, or counts it as skipped. */
  invalid(error: RarefyInputError): void;
}

const TYPE_NUMBER = 0;
const TYPE_INTEGER = 1;
const TYPE_LABEL = 2;
const TYPE_STRING = 3;

/** The most skipped rows kept as examples. */
const SKIPPED_EXAMPLES = 10;

/**
 * Records a bad row: throws it under `onInvalid: 'error'`, else counts it in `stats`.
 *
 * @param error - the row's error
 * @param onInvalid - the caller's choice
 * @param stats - the counts to update
 * @returns nothing; throws under 'error'
 * @example
 * ```ts
 * reportInvalid(error, 'skip', stats); // stats.skipped + 1
 * ```
 * @internal
 */
export function reportInvalid(error: RarefyInputError, onInvalid: 'error' | 'skip', stats: ReadStats): void {
  if (onInvalid === 'error') throw error;
  stats.skipped++;
  if (stats.skippedExamples.length < SKIPPED_EXAMPLES) {
    const line = error.details.line;
    stats.skippedExamples.push({
      source: error.input ?? '',
      line: typeof line === 'number' ? line : 0,
      reason: error.problem,
    });
  }
}

/**
 * Turns raw rows into typed columnar batches of at most `batchRows` rows, following a
 * {@link TablePlan}: numbers parsed exactly, labels mapped, strings dictionary-encoded per batch.
 * A bad value is an error naming file, line, column and value, or a counted skip.
 *
 * @example
 * ```ts
 * const assembler = new BatchAssembler(plan, 65536, 'error', stats);
 * assembler.source = 'a.csv';
 * assembler.add(['1', '0.5'], 2);
 * assembler.flush();
 * const batches = assembler.takeReady();
 * ```
 * @internal
 */
export class BatchAssembler implements RowSink {
  /** The current file, for messages. */
  source = '<input>';
  /** What the `line` passed to {@link BatchAssembler.add} counts, for messages: text lines or rows. */
  unit: 'line' | 'row' = 'line';
  private readonly plan: TablePlan;
  private readonly batchRows: number;
  private readonly onInvalid: 'error' | 'skip';
  private readonly stats: ReadStats;
  private readonly typeCodes: Int32Array;
  private readonly sourceIndex: Int32Array;
  /** Output columns in processing order: columns that can fail first, strings last. */
  private readonly order: Int32Array;
  private numeric: (Float64Array | Int32Array | Uint8Array | null)[] = [];
  private codes: (Int32Array | null)[] = [];
  private dictionaries: (Map<string, number> | null)[] = [];
  private dictionaryValues: (string[] | null)[] = [];
  private capacity = 0;
  private rows = 0;
  private firstRow = 0;
  private ready: ColumnBatch[] = [];

  /**
   * @param plan - the output columns and where their values come from
   * @param batchRows - rows per batch
   * @param onInvalid - what a bad row does
   * @param stats - counts to update (rows delivered, rows skipped)
   */
  constructor(plan: TablePlan, batchRows: number, onInvalid: 'error' | 'skip', stats: ReadStats) {
    this.plan = plan;
    this.batchRows = batchRows;
    this.onInvalid = onInvalid;
    this.stats = stats;
    const count = plan.columns.length;
    this.typeCodes = new Int32Array(count);
    this.sourceIndex = new Int32Array(count);
    plan.columns.forEach((column, j) => {
      this.typeCodes[j] =
        column.type === 'number'
          ? TYPE_NUMBER
          : column.type === 'integer'
            ? TYPE_INTEGER
            : column.type === 'label'
              ? TYPE_LABEL
              : TYPE_STRING;
      this.sourceIndex[j] = column.sourceIndex;
    });
    const order: number[] = [];
    for (let j = 0; j < count; j++) if (this.typeCodes[j] !== TYPE_STRING) order.push(j);
    for (let j = 0; j < count; j++) if (this.typeCodes[j] === TYPE_STRING) order.push(j);
    this.order = Int32Array.from(order);
  }

  /**
   * Reports a bad row (throws, or counts a skip).
   *
   * @param error - the row's error
   * @returns nothing
   * @example
   * ```ts
   * assembler.invalid(error);
   * ```
   */
  invalid(error: RarefyInputError): void {
    reportInvalid(error, this.onInvalid, this.stats);
  }

  /**
   * Adds one row; a full batch goes to the ready list.
   *
   * @param values - one raw value per source column
   * @param line - the row's 1-based line, for messages
   * @returns nothing
   * @example
   * ```ts
   * assembler.add(['1', 'a'], 2);
   * ```
   */
  add(values: readonly (RawValue | undefined)[], line: number): void {
    if (this.rows === this.capacity) this.grow();
    const row = this.rows;
    const order = this.order;
    const typeCodes = this.typeCodes;
    const sourceIndex = this.sourceIndex;
    for (let k = 0; k < order.length; k++) {
      const j = order[k] as number;
      const value = values[sourceIndex[j] as number] ?? null;
      const type = typeCodes[j] as number;
      if (type === TYPE_STRING) {
        const codes = this.codes[j] as Int32Array;
        if (value === null) {
          codes[row] = -1;
          continue;
        }
        const text = typeof value === 'string' ? value : String(value);
        const dictionary = this.dictionaries[j] as Map<string, number>;
        let code = dictionary.get(text);
        if (code === undefined) {
          const list = this.dictionaryValues[j] as string[];
          code = list.length;
          list.push(text);
          dictionary.set(text, code);
        }
        codes[row] = code;
        continue;
      }
      if (type === TYPE_LABEL) {
        const label = (this.plan.labels as NonNullable<TablePlan['labels']>).match(value);
        if (label < 0) {
          this.invalid(this.labelError(j, value, line));
          return;
        }
        (this.numeric[j] as Uint8Array)[row] = label;
        continue;
      }
      const number = rawToNumber(value);
      if (Number.isNaN(number) || (type === TYPE_INTEGER && !isInt32(number))) {
        this.invalid(this.numberError(j, value, line, type === TYPE_INTEGER));
        return;
      }
      (this.numeric[j] as Float64Array | Int32Array)[row] = number;
    }
    this.rows = row + 1;
    this.stats.rows++;
    if (this.rows === this.batchRows) this.emit();
  }

  /**
   * Sends the rows added since the last batch (if any) to the ready list.
   *
   * @returns nothing
   * @example
   * ```ts
   * assembler.flush();
   * ```
   */
  flush(): void {
    if (this.rows > 0) this.emit();
  }

  /**
   * Hands over the completed batches.
   *
   * @returns the batches completed since the last call, in order
   * @example
   * ```ts
   * for (const batch of assembler.takeReady()) consume(batch);
   * ```
   */
  takeReady(): ColumnBatch[] {
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  private grow(): void {
    const capacity =
      this.capacity === 0 ? Math.min(this.batchRows, 1024) : Math.min(this.batchRows, this.capacity * 2);
    const count = this.typeCodes.length;
    const fresh = this.capacity === 0;
    for (let j = 0; j < count; j++) {
      const type = this.typeCodes[j] as number;
      if (type === TYPE_STRING) {
        const codes = new Int32Array(capacity);
        if (!fresh) codes.set(this.codes[j] as Int32Array);
        this.codes[j] = codes;
        this.numeric[j] = null;
        if (fresh) {
          this.dictionaries[j] = new Map();
          this.dictionaryValues[j] = [];
        }
      } else {
        const array =
          type === TYPE_NUMBER
            ? new Float64Array(capacity)
            : type === TYPE_INTEGER
              ? new Int32Array(capacity)
              : new Uint8Array(capacity);
        if (!fresh) array.set(this.numeric[j] as Float64Array & Int32Array & Uint8Array);
        this.numeric[j] = array;
        this.codes[j] = null;
        this.dictionaries[j] = null;
        this.dictionaryValues[j] = null;
      }
    }
    this.capacity = capacity;
  }

  private emit(): void {
    const rows = this.rows;
    // No prototype: a column may be called `__proto__` or `constructor`.
    const columns = Object.create(null) as Record<string, ColumnData>;
    this.plan.columns.forEach((column, j) => {
      const trim = <T extends Float64Array | Int32Array | Uint8Array>(array: T): T =>
        (rows === array.length ? array : array.slice(0, rows)) as T;
      if (this.typeCodes[j] === TYPE_STRING) {
        columns[column.name] = {
          kind: 'dictionary',
          codes: trim(this.codes[j] as Int32Array),
          values: this.dictionaryValues[j] as string[],
        };
      } else {
        columns[column.name] = trim(this.numeric[j] as Float64Array | Int32Array | Uint8Array);
      }
    });
    this.ready.push({ schema: this.plan.schema, rows, firstRow: this.firstRow, columns });
    this.firstRow += rows;
    this.rows = 0;
    this.capacity = 0;
    this.numeric = [];
    this.codes = [];
    this.dictionaries = [];
    this.dictionaryValues = [];
  }

  private labelError(j: number, value: RawValue, line: number): RarefyInputError {
    const name = (this.plan.columns[j] as { name: string }).name;
    const matcher = this.plan.labels as NonNullable<TablePlan['labels']>;
    return valueError(
      this.source,
      line,
      name,
      value,
      `is not a label of the mapping (${matcher.describe()})`,
      `pass a labelMapping that lists this value (e.g. { positive: ['1'], negative: ['-1'] }), fix the row, or pass onInvalid: 'skip'`,
      'RAREFY_INVALID_LABEL',
      this.unit,
    );
  }

  private numberError(j: number, value: RawValue, line: number, integer: boolean): RarefyInputError {
    const column = this.plan.columns[j] as { name: string; type: string };
    const missing = value === null || (typeof value === 'string' && value.trim().length === 0);
    const overflow = typeof value === 'string' && !missing && isOverflow(value);
    const problem = missing
      ? `is missing in ${column.type} column ${JSON.stringify(column.name)}`
      : overflow
        ? 'overflows to infinity'
        : integer
          ? 'is not a 32-bit integer'
          : `is not a number (the column is ${column.type}${column.type === 'number' ? ', inferred from the first rows or given in types' : ''})`;
    const fix = missing
      ? `fill the missing values, declare the column as 'string' in types, drop it, or pass onInvalid: 'skip'`
      : `fix the value, declare the column as 'string' in types, drop it, or pass onInvalid: 'skip'`;
    return valueError(this.source, line, column.name, value, problem, fix, 'RAREFY_PARSE_ERROR', this.unit);
  }
}

/** True for an integer that fits in an Int32Array. */
function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= -2147483648 && value <= 2147483647;
}

/** True for decimal text whose value is too large for a double. */
function isOverflow(text: string): boolean {
  const trimmed = text.trim();
  return DECIMAL_PATTERN.test(trimmed) && !Number.isFinite(Number(trimmed));
}
