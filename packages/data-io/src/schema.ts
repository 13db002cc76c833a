import {
  type ColumnBatch,
  type ColumnSchema,
  type ColumnType,
  RarefyError,
  RarefyInputError,
} from '@rarefy/sampling-core';
import { listColumns, quoteForMessage } from './csv-shared.js';
import { parseDecimalText } from './number-parse.js';

/**
 * The table formats the streaming readers understand. `arrow` (Arrow IPC files and streams) is read
 * by `openBatches` from `@rarefy/data-io/node` only.
 */
export type InputFormat = 'csv' | 'tsv' | 'jsonl' | 'libsvm' | 'arrow';

/**
 * Which values of a label column mean positive (1) and negative (0). A string matches the field's
 * exact text (after trimming spaces and unwrapping single quotes, as in `'1'`); a number matches any
 * text that parses to that number (`1` matches `1`, `+1` and `1.0`).
 */
export interface LabelMapping {
  /** The values read as 1. */
  positive: readonly (string | number)[];
  /** The values read as 0. */
  negative: readonly (string | number)[];
}

/** How the columns of a table are typed, which is the label, and what to do with a bad row. */
export interface SchemaOptions {
  /** The label column (LibSVM: always `label`; its features are `f1`..`fK`, `f<index>` for index). */
  label?: string;
  /** Default: 0/1 (also `'0'`/`'1'`); for LibSVM -1/+1 and 0/1. */
  labelMapping?: LabelMapping;
  /** Column types that override inference (a column typed `label` uses the label mapping). */
  types?: Readonly<Record<string, ColumnType>>;
  /** Columns to leave out. */
  drop?: readonly string[];
  /**
   * What a bad row does: `'error'` (default) throws a typed error naming file, line, column and
   * value; `'skip'` drops the row, counts it in {@link ReadStats.skipped} and keeps the first ten in
   * {@link ReadStats.skippedExamples}.
   */
  onInvalid?: 'error' | 'skip';
}

/** How far a pass over the input has got. */
export interface ReadProgress {
  /** Bytes read so far in this pass (all files together). */
  bytesRead: number;
  /** The size of all the input, or null when a source does not know its size. */
  totalBytes: number | null;
  /** Rows delivered so far in this pass. */
  rows: number;
}

/** Options of the streaming readers (`openBatches`, {@link createBatchReader}). */
export interface ReadOptions extends SchemaOptions {
  /**
   * The format. Default: from the file extension (`.csv`, `.tsv`, `.jsonl`/`.ndjson`,
   * `.libsvm`/`.svm`/`.svmlight`, `.arrow`/`.feather`/`.ipc`), or from the content when there is no
   * known extension.
   */
  format?: InputFormat;
  /**
   * Rows per batch. Default 65,536, or fewer for wide tables so that a batch holds at most about
   * four million values (32 MiB of doubles).
   */
  batchRows?: number;
  /** CSV/TSV: the field delimiter (default `,`; `\t` for TSV). */
  delimiter?: string;
  /** CSV/TSV: whether the first record is a header (default true; without one the columns are `c1`..`cK`). */
  header?: boolean;
  /** CSV/TSV: lines starting with this character are skipped (default: none). */
  comment?: string;
  /** CSV/TSV: the text encoding (default `'utf-8'`). */
  encoding?: 'utf-8' | 'latin1';
  /** Rows read at open to infer the column types (default 1000). */
  inferRows?: number;
  /** LibSVM: the number of features (default: the largest index in the input, found by a first pass). */
  libsvmColumns?: number;
  /** Called after every chunk read, in every pass. */
  onProgress?: (progress: ReadProgress) => void;
  /** Bytes read at a time from a file (default 4 MiB). */
  chunkBytes?: number;
}

/** A row left out under `onInvalid: 'skip'`. */
export interface SkippedRow {
  /** The file (or input name) it is in. */
  source: string;
  /** Its 1-based line (Arrow IPC: its 1-based row in the file). */
  line: number;
  /** What was wrong with it. */
  reason: string;
}

/** Counts of a pass over the input. */
export interface ReadStats {
  /** Rows delivered. */
  rows: number;
  /** Rows left out (only under `onInvalid: 'skip'`). */
  skipped: number;
  /** The first ten rows left out. */
  skippedExamples: SkippedRow[];
}

/** A table opened for streaming: its schema (inferred from the first rows or given), then batches in order. */
export interface BatchReader {
  /** What was opened: a path, a glob or an input name. */
  readonly source: string;
  /** The format it is read as. */
  readonly format: InputFormat;
  /** The columns every batch has, in order. */
  readonly schema: readonly ColumnSchema[];
  /** The size of the input in bytes, when known. */
  readonly totalBytes: number | null;
  /**
   * The rows in batches of at most `batchRows`, in input order. Each call starts a new pass over
   * the input (multi-pass algorithms need that). String columns are dictionary-encoded per batch.
   *
   * @returns the batches
   */
  batches(): AsyncIterable<ColumnBatch>;
  /** Counts of the current (or last) pass: after a full pass, the totals. */
  readonly stats: ReadStats;
}

/** A raw value as a format yields it: CSV text, or a JSON scalar (null for JSON null). @internal */
export type RawValue = string | number | boolean | null;

/** The default label mapping: 1 / '1' positive, 0 / '0' negative. */
export const DEFAULT_LABEL_MAPPING: LabelMapping = Object.freeze({
  positive: Object.freeze(['1', 1]),
  negative: Object.freeze(['0', 0]),
});

/** The default label mapping of LibSVM files: +1 / 1 positive, -1 / 0 negative. */
export const LIBSVM_LABEL_MAPPING: LabelMapping = Object.freeze({
  positive: Object.freeze([1]),
  negative: Object.freeze([-1, 0]),
});

/**
 * Builds the RAREFY_PARSE_ERROR for a bad value, naming file, line, column and value.
 *
 * @param source - the file
 * @param line - the 1-based line
 * @param column - the column's name
 * @param value - the offending value
 * @param problem - what is wrong with it
 * @param fix - what to do
 * @param code - the error code (default RAREFY_PARSE_ERROR)
 * @param unit - what `line` counts: text lines (default) or rows (Arrow IPC)
 * @returns the error
 * @example
 * ```ts
 * throw valueError('a.csv', 3, 'x', 'abc', 'is not a number', 'fix it');
 * ```
 * @internal
 */
export function valueError(
  source: string,
  line: number,
  column: string,
  value: RawValue,
  problem: string,
  fix: string,
  code: 'RAREFY_PARSE_ERROR' | 'RAREFY_INVALID_LABEL' = 'RAREFY_PARSE_ERROR',
  unit: 'line' | 'row' = 'line',
): RarefyInputError {
  const shown = typeof value === 'string' ? quoteForMessage(value) : String(value);
  return new RarefyInputError(
    code,
    `${source}, ${unit} ${line}, column ${JSON.stringify(column)}: ${shown} ${problem}`,
    fix,
    { input: source, line, column, value },
  );
}

/**
 * Builds the RAREFY_PARSE_ERROR for a malformed row or file.
 *
 * @param source - the file
 * @param line - the 1-based line
 * @param problem - what is wrong
 * @param fix - what to do
 * @param details - extra facts
 * @returns the error
 * @example
 * ```ts
 * throw rowError('a.jsonl', 2, 'the line is not valid JSON', 'write one JSON object per line');
 * ```
 * @internal
 */
export function rowError(
  source: string,
  line: number,
  problem: string,
  fix: string,
  details: Record<string, unknown> = {},
): RarefyInputError {
  return new RarefyInputError('RAREFY_PARSE_ERROR', `${source}, line ${line}: ${problem}`, fix, {
    input: source,
    line,
    ...details,
  });
}

/**
 * Reads a raw value as a number: a finite JSON number, a boolean (1/0) or decimal text; NaN when it
 * is none of these (or is not finite).
 *
 * @param value - the raw value
 * @returns the number, or NaN
 * @example
 * ```ts
 * rawToNumber(' 2.5 '); // 2.5
 * rawToNumber('abc'); // NaN
 * ```
 * @internal
 */
export function rawToNumber(value: RawValue): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value === 'string') {
    const parsed = parseDecimalText(value);
    return Number.isFinite(parsed) ? parsed : Number.NaN;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  return Number.NaN;
}

/** True when a raw value is missing: null or blank text. */
function isMissing(value: RawValue | undefined): boolean {
  return value === null || value === undefined || (typeof value === 'string' && value.trim().length === 0);
}

/** Describes a mapping for messages: `positive "1", 1; negative "0", 0`. */
function describeMapping(mapping: LabelMapping): string {
  const show = (values: readonly (string | number)[]) =>
    values.length === 0 ? '(none)' : values.map((value) => JSON.stringify(value)).join(', ');
  return `positive ${show(mapping.positive)}; negative ${show(mapping.negative)}`;
}

/**
 * Applies a {@link LabelMapping} to raw values.
 *
 * @example
 * ```ts
 * const matcher = new LabelMatcher({ positive: [1], negative: [-1] });
 * matcher.match('+1'); // 1
 * matcher.match("'-1'"); // 0
 * matcher.match('2'); // -1: outside the mapping
 * ```
 */
export class LabelMatcher {
  /** The mapping as given. */
  readonly mapping: LabelMapping;
  private readonly byText = new Map<string, 0 | 1>();
  private readonly byNumber = new Map<number, 0 | 1>();

  /**
   * @param mapping - the values of each class
   * @throws RarefyError RAREFY_INVALID_ARGUMENT when a value is in both classes or not a string/number
   */
  constructor(mapping: LabelMapping) {
    if (
      typeof mapping !== 'object' ||
      mapping === null ||
      !Array.isArray(mapping.positive) ||
      !Array.isArray(mapping.negative)
    ) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        'labelMapping: expected { positive: [...], negative: [...] }',
        "pass e.g. { positive: ['1', 1], negative: ['-1', -1] }",
        { input: 'labelMapping' },
      );
    }
    this.mapping = mapping;
    const add = (value: string | number, label: 0 | 1) => {
      const isText = typeof value === 'string';
      if (!isText && !(typeof value === 'number' && Number.isFinite(value))) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `labelMapping: ${String(value)} is not a string or a finite number`,
          'list label values as strings (exact text) or numbers',
          { input: 'labelMapping' },
        );
      }
      const map: Map<string | number, 0 | 1> = isText ? this.byText : this.byNumber;
      const key = isText ? value.trim() : value;
      const previous = map.get(key);
      if (previous !== undefined && previous !== label) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `labelMapping: ${JSON.stringify(value)} is listed as both positive and negative`,
          'list each label value in one class only',
          { input: 'labelMapping', value },
        );
      }
      map.set(key, label);
    };
    for (const value of mapping.positive) add(value, 1);
    for (const value of mapping.negative) add(value, 0);
    // Text such as '1' read as a number must not land in the other class.
    for (const [text, label] of this.byText) {
      const other = this.byNumber.get(parseDecimalText(text));
      if (other !== undefined && other !== label) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `labelMapping: ${JSON.stringify(text)} and ${parseDecimalText(text)} are the same label in different classes`,
          'list each label value in one class only',
          { input: 'labelMapping', value: text },
        );
      }
    }
  }

  /**
   * The class of a raw value.
   *
   * @param value - CSV text, a JSON scalar or a LibSVM label
   * @returns 1, 0, or -1 when the value is outside the mapping
   * @example
   * ```ts
   * new LabelMatcher(DEFAULT_LABEL_MAPPING).match('1'); // 1
   * ```
   */
  match(value: RawValue): 0 | 1 | -1 {
    if (typeof value === 'string') {
      const text = value.trim();
      const byText = this.byText.get(text);
      if (byText !== undefined) return byText;
      const parsed = parseDecimalText(text);
      if (!Number.isNaN(parsed)) return this.byNumber.get(parsed) ?? -1;
      if (text.length >= 2 && text.startsWith("'") && text.endsWith("'")) {
        return this.match(text.slice(1, -1));
      }
      return -1;
    }
    if (typeof value === 'number') {
      const byNumber = this.byNumber.get(value);
      return byNumber ?? this.byText.get(String(value)) ?? -1;
    }
    if (typeof value === 'boolean') return this.byNumber.get(value ? 1 : 0) ?? -1;
    return -1;
  }

  /**
   * The mapping in words, for error messages.
   *
   * @returns e.g. `positive "1", 1; negative "0", 0`
   * @example
   * ```ts
   * new LabelMatcher(DEFAULT_LABEL_MAPPING).describe();
   * ```
   */
  describe(): string {
    return describeMapping(this.mapping);
  }
}

/**
 * Infers column types from sample rows: `number` when every non-missing value is a number (a JSON
 * number or boolean, or decimal text) and there is at least one; otherwise `string`.
 *
 * @param columnCount - the number of columns
 * @param sample - sample rows, one raw value per column (missing values as null or blank text)
 * @returns one type per column
 * @example
 * ```ts
 * inferColumnTypes(2, [['1.5', 'a'], ['', 'b']]); // ['number', 'string']
 * ```
 */
export function inferColumnTypes(
  columnCount: number,
  sample: readonly (readonly (RawValue | undefined)[])[],
): ColumnType[] {
  const types: ColumnType[] = [];
  for (let column = 0; column < columnCount; column++) {
    let seen = false;
    let numeric = true;
    for (const row of sample) {
      const value = row[column];
      if (value === undefined || isMissing(value)) continue;
      seen = true;
      if (Number.isNaN(rawToNumber(value))) {
        numeric = false;
        break;
      }
    }
    types.push(seen && numeric ? 'number' : 'string');
  }
  return types;
}

/** One output column: its name, type and where its value is in a source row. @internal */
export interface ColumnPlan {
  readonly name: string;
  readonly type: ColumnType;
  readonly sourceIndex: number;
}

/** How source rows become batches. @internal */
export interface TablePlan {
  /** The output schema. */
  readonly schema: ColumnSchema[];
  /** One entry per output column. */
  readonly columns: ColumnPlan[];
  /** The names of the source columns (before drop), in source order. */
  readonly sourceColumns: readonly string[];
  /** Per source column: whether it is kept. */
  readonly kept: readonly boolean[];
  /** The matcher for `label` columns (null when there is none). */
  readonly labels: LabelMatcher | null;
}

const COLUMN_TYPES: readonly ColumnType[] = ['number', 'label', 'integer', 'string'];

/**
 * Resolves the output schema from the source columns, inferred types and the caller's options;
 * checks that every named column exists.
 *
 * @param sourceColumns - the source's column names, in order
 * @param inferred - the inferred type of each source column
 * @param options - label, mapping, type overrides, dropped columns
 * @param source - the input's name for messages
 * @param defaultMapping - the mapping used when none is given
 * @returns the plan
 * @throws RarefyInputError RAREFY_INVALID_ARGUMENT for a missing label, type or drop column
 * @example
 * ```ts
 * const plan = resolveTablePlan(['y', 'x'], ['number', 'number'], { label: 'y' }, 'a.csv', DEFAULT_LABEL_MAPPING);
 * plan.schema; // [{ name: 'y', type: 'label' }, { name: 'x', type: 'number' }]
 * ```
 * @internal
 */
export function resolveTablePlan(
  sourceColumns: readonly string[],
  inferred: readonly ColumnType[],
  options: SchemaOptions,
  source: string,
  defaultMapping: LabelMapping,
): TablePlan {
  const index = new Map<string, number>();
  sourceColumns.forEach((name, position) => {
    index.set(name, position);
  });
  const missing = (name: string, option: string, fix: string): RarefyInputError =>
    new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `${source}: ${option} names column ${JSON.stringify(name)}, which the input does not have; the columns are ${listColumns(sourceColumns)}`,
      fix,
      { input: source, option, column: name, columns: [...sourceColumns] },
    );
  const dropped = new Set<string>();
  for (const name of options.drop ?? []) {
    if (!index.has(name))
      throw missing(name, 'drop', 'drop only columns the input has (names are case-sensitive)');
    dropped.add(name);
  }
  const label = options.label;
  if (label !== undefined) {
    if (typeof label !== 'string' || !index.has(label)) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: there is no label column ${JSON.stringify(label)}; the columns are ${listColumns(sourceColumns)}`,
        'pass the name of the label column as `label` (--label on the command line)',
        { input: source, label, columns: [...sourceColumns] },
      );
    }
    if (dropped.has(label)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: the label column ${JSON.stringify(label)} is also in drop`,
        'leave the label out of drop',
        { input: source, column: label },
      );
    }
  }
  const types = options.types ?? {};
  for (const [name, type] of Object.entries(types)) {
    if (!index.has(name))
      throw missing(name, 'types', 'type only columns the input has (names are case-sensitive)');
    if (!COLUMN_TYPES.includes(type)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `types: column ${JSON.stringify(name)} has type ${JSON.stringify(type)}`,
        `use one of ${COLUMN_TYPES.map((t) => JSON.stringify(t)).join(', ')}`,
        { input: 'types', column: name },
      );
    }
    if (name === label && type !== 'label') {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `types: the label column ${JSON.stringify(name)} is typed ${JSON.stringify(type)}`,
        'leave the label column out of types (it is always read with the label mapping)',
        { input: 'types', column: name },
      );
    }
  }
  const columns: ColumnPlan[] = [];
  const kept: boolean[] = [];
  sourceColumns.forEach((name, sourceIndex) => {
    if (dropped.has(name)) {
      kept.push(false);
      return;
    }
    kept.push(true);
    const type: ColumnType =
      name === label
        ? 'label'
        : ((Object.hasOwn(types, name) ? types[name] : undefined) ??
          (inferred[sourceIndex] as ColumnType | undefined) ??
          'string');
    columns.push({ name, type, sourceIndex });
  });
  const hasLabel = columns.some((column) => column.type === 'label');
  return {
    schema: columns.map(({ name, type }) => ({ name, type })),
    columns,
    sourceColumns: [...sourceColumns],
    kept,
    labels: hasLabel ? new LabelMatcher(options.labelMapping ?? defaultMapping) : null,
  };
}
