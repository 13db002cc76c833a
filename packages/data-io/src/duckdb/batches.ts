import {
  type DuckDBDataChunk,
  DuckDBDecimalValue,
  DuckDBTypeId,
  type DuckDBValue,
  type DuckDBVector,
} from '@duckdb/node-api';
import {
  type ColumnBatch,
  type ColumnData,
  type ColumnSchema,
  type ColumnType,
  RarefyError,
  RarefyInputError,
} from '@rarefy/sampling-core';

/** Integer types that fit an Int32Array exactly. */
const INT32_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UTINYINT,
]);

/** Types read as doubles: floats, decimals and the integers wider than 32 bits (exact below 2^53). */
const FLOAT64_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
]);

/** The ColumnType a DuckDB column becomes, or null when it has none. */
export function columnTypeOf(typeId: DuckDBTypeId, isLabel: boolean): ColumnType | null {
  if (isLabel && (typeId === DuckDBTypeId.BOOLEAN || INT32_TYPES.has(typeId) || FLOAT64_TYPES.has(typeId))) {
    return 'label';
  }
  if (typeId === DuckDBTypeId.BOOLEAN) return 'label';
  if (INT32_TYPES.has(typeId)) return 'integer';
  if (FLOAT64_TYPES.has(typeId)) return 'number';
  if (typeId === DuckDBTypeId.VARCHAR) return 'string';
  return null;
}

/** A DuckDB value (number, bigint, boolean, decimal) as a double, or null. */
export function numericValue(value: DuckDBValue | null): number | null {
  if (value === null) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') {
    const number = Number(value);
    return Number.isSafeInteger(number) || BigInt(number) === value ? number : Number.NaN;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  return Number.NaN;
}

/** Accumulates chunk rows of one column into a batch-sized array. */
interface ColumnBuilder {
  readonly schema: ColumnSchema;
  /** Copies rows [from, to) of the vector into the batch at `at`; `firstRow` is the input row of `from`. */
  append(vector: DuckDBVector, from: number, to: number, at: number, firstRow: number): void;
  /** The column of the first `rows` rows, and a fresh array for the next batch. */
  take(rows: number): ColumnData;
}

function nullError(source: string, column: string, row: number): RarefyInputError {
  return new RarefyInputError(
    'RAREFY_NON_FINITE',
    `${source}: column "${column}", row ${row + 1} (index ${row}) is NULL`,
    'filter or impute NULLs in the SQL (WHERE col IS NOT NULL, coalesce(col, 0)), or cast the column to VARCHAR',
    { input: source, column, row },
  );
}

class NumberBuilder implements ColumnBuilder {
  private values: Float64Array;
  constructor(
    readonly schema: ColumnSchema,
    private readonly capacity: number,
    private readonly source: string,
  ) {
    this.values = new Float64Array(capacity);
  }
  append(vector: DuckDBVector, from: number, to: number, at: number, firstRow: number): void {
    const values = this.values;
    for (let i = from, k = at; i < to; i++, k++) {
      const item = vector.getItem(i);
      const value = typeof item === 'number' ? item : numericValue(item);
      if (value === null) throw nullError(this.source, this.schema.name, firstRow + i - from);
      if (Number.isNaN(value) && typeof item !== 'number') {
        throw new RarefyInputError(
          'RAREFY_NON_FINITE',
          `${this.source}: column "${this.schema.name}", row ${firstRow + i - from + 1}: ${String(item)} does not fit a double exactly`,
          'cast the column to DOUBLE (or VARCHAR for ids) in the SQL',
          { input: this.source, column: this.schema.name },
        );
      }
      values[k] = value;
    }
  }
  take(rows: number): ColumnData {
    const taken = rows === this.capacity ? this.values : this.values.slice(0, rows);
    this.values = new Float64Array(this.capacity);
    return taken;
  }
}

class IntegerBuilder implements ColumnBuilder {
  private values: Int32Array;
  constructor(
    readonly schema: ColumnSchema,
    private readonly capacity: number,
    private readonly source: string,
  ) {
    this.values = new Int32Array(capacity);
  }
  append(vector: DuckDBVector, from: number, to: number, at: number, firstRow: number): void {
    const values = this.values;
    for (let i = from, k = at; i < to; i++, k++) {
      const item = vector.getItem(i);
      if (typeof item !== 'number') throw nullError(this.source, this.schema.name, firstRow + i - from);
      values[k] = item;
    }
  }
  take(rows: number): ColumnData {
    const taken = rows === this.capacity ? this.values : this.values.slice(0, rows);
    this.values = new Int32Array(this.capacity);
    return taken;
  }
}

class LabelBuilder implements ColumnBuilder {
  private values: Uint8Array;
  constructor(
    readonly schema: ColumnSchema,
    private readonly capacity: number,
    private readonly source: string,
  ) {
    this.values = new Uint8Array(capacity);
  }
  append(vector: DuckDBVector, from: number, to: number, at: number, firstRow: number): void {
    const values = this.values;
    for (let i = from, k = at; i < to; i++, k++) {
      const item = vector.getItem(i);
      const value = numericValue(item);
      if (value === null) throw nullError(this.source, this.schema.name, firstRow + i - from);
      if (value !== 0 && value !== 1) {
        const row = firstRow + i - from;
        throw new RarefyInputError(
          'RAREFY_INVALID_LABEL',
          `${this.source}: label column "${this.schema.name}", row ${row + 1} (index ${row}) is ${String(item)}, not 0 or 1`,
          'map the label to 0/1 in the SQL (e.g. CASE WHEN label = -1 THEN 0 ELSE 1 END)',
          { input: this.source, column: this.schema.name, row, value: String(item) },
        );
      }
      values[k] = value;
    }
  }
  take(rows: number): ColumnData {
    const taken = rows === this.capacity ? this.values : this.values.slice(0, rows);
    this.values = new Uint8Array(this.capacity);
    return taken;
  }
}

class StringBuilder implements ColumnBuilder {
  private codes: Int32Array;
  private values: string[] = [];
  private index = new Map<string, number>();
  constructor(
    readonly schema: ColumnSchema,
    private readonly capacity: number,
  ) {
    this.codes = new Int32Array(capacity);
  }
  append(vector: DuckDBVector, from: number, to: number, at: number): void {
    const codes = this.codes;
    for (let i = from, k = at; i < to; i++, k++) {
      const item = vector.getItem(i);
      if (item === null) {
        codes[k] = -1;
        continue;
      }
      const text = String(item);
      let code = this.index.get(text);
      if (code === undefined) {
        code = this.values.length;
        this.values.push(text);
        this.index.set(text, code);
      }
      codes[k] = code;
    }
  }
  take(rows: number): ColumnData {
    const column = {
      kind: 'dictionary' as const,
      codes: rows === this.capacity ? this.codes : this.codes.slice(0, rows),
      values: this.values,
    };
    this.codes = new Int32Array(this.capacity);
    this.values = [];
    this.index = new Map();
    return column;
  }
}

/** Column names and DuckDB types of a result. */
export interface ResultColumns {
  readonly names: readonly string[];
  readonly typeIds: readonly DuckDBTypeId[];
  /** Readable type names, for messages. */
  readonly typeNames: readonly string[];
}

/**
 * Turns DuckDB data chunks (about 2048 rows each) into ColumnBatches of `batchRows` rows: DOUBLE,
 * FLOAT, DECIMAL and integers wider than 32 bits become Float64Array (`number`), INTEGER and narrower
 * Int32Array (`integer`), BOOLEAN and the named label column Uint8Array 0/1 (`label`), VARCHAR a
 * per-batch DictionaryColumn (`string`, NULL = code -1). A NULL in any other column is an error.
 */
export class ChunkBatcher {
  private readonly builders: ColumnBuilder[];
  readonly schema: readonly ColumnSchema[];
  private filled = 0;
  private nextFirstRow = 0;

  constructor(
    columns: ResultColumns,
    private readonly batchRows: number,
    source: string,
    label: string | undefined,
  ) {
    if (label !== undefined && !columns.names.includes(label)) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: no label column "${label}" (columns: ${columns.names.join(', ')})`,
        'name an existing column as the label',
        { input: source, column: label },
      );
    }
    if (new Set(columns.names).size !== columns.names.length) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: the result has duplicate column names (${columns.names.join(', ')})`,
        'give every column of the query a distinct name (AS ...)',
        { input: source },
      );
    }
    this.builders = columns.names.map((name, j) => {
      const type = columnTypeOf(columns.typeIds[j] as DuckDBTypeId, name === label);
      if (type === null) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `${source}: column "${name}" has DuckDB type ${columns.typeNames[j]}, which has no batch column type`,
          `cast it in the SQL: CAST("${name}" AS DOUBLE) for numbers, CAST("${name}" AS VARCHAR) for anything else`,
          { input: source, column: name },
        );
      }
      const schema = { name, type };
      switch (type) {
        case 'number':
          return new NumberBuilder(schema, batchRows, source);
        case 'integer':
          return new IntegerBuilder(schema, batchRows, source);
        case 'label':
          return new LabelBuilder(schema, batchRows, source);
        default:
          return new StringBuilder(schema, batchRows);
      }
    });
    this.schema = this.builders.map((builder) => builder.schema);
  }

  /** Adds a chunk; returns the batches it completed (usually none or one). */
  add(chunk: DuckDBDataChunk): ColumnBatch[] {
    const done: ColumnBatch[] = [];
    const rows = chunk.rowCount;
    const vectors = this.builders.map((_, j) => chunk.getColumnVector(j));
    let from = 0;
    while (from < rows) {
      const to = Math.min(rows, from + this.batchRows - this.filled);
      const firstRow = this.nextFirstRow + this.filled;
      this.builders.forEach((builder, j) => {
        builder.append(vectors[j] as DuckDBVector, from, to, this.filled, firstRow);
      });
      this.filled += to - from;
      from = to;
      if (this.filled === this.batchRows) done.push(this.take());
    }
    return done;
  }

  /** The last, partial batch, or null when there is none. */
  finish(): ColumnBatch | null {
    return this.filled > 0 ? this.take() : null;
  }

  private take(): ColumnBatch {
    const rows = this.filled;
    const columns: Record<string, ColumnData> = {};
    for (const builder of this.builders) columns[builder.schema.name] = builder.take(rows);
    const batch: ColumnBatch = { schema: this.schema, rows, firstRow: this.nextFirstRow, columns };
    this.nextFirstRow += rows;
    this.filled = 0;
    return batch;
  }
}
