import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { type DuckDBConnection, DuckDBInstance, DuckDBTypeId } from '@duckdb/node-api';
import {
  type ColumnBatch,
  type DesignMatrix,
  INTERCEPT_NAME,
  RarefyError,
  RarefyInputError,
  RarefyIoError,
} from '@rarefy/sampling-core';
import type { SqlColumn, SqlEngine, SqlSourceHandle } from '../engine/sql-engine.js';
import { ChunkBatcher, numericValue, type ResultColumns } from './batches.js';
import { duckDbError, sqlExcerpt } from './errors.js';

/** Options of {@link DuckDbEngine.open}. */
export interface DuckDbEngineOptions {
  /** Worker threads DuckDB may use (default: DuckDB's, the number of cores). */
  threads?: number;
  /** DuckDB's memory limit, e.g. `'400MB'` (default: DuckDB's, 80% of RAM); larger work spills to disk. */
  memoryLimit?: string;
}

/** Options of {@link DuckDbEngine.stream}. */
export interface DuckDbStreamOptions {
  /** Rows per batch (default 65,536). */
  batchRows?: number;
  /** A column to read as a 0/1 label (Uint8Array); any other value is an error naming the row. */
  label?: string;
}

/** Class counts from {@link DuckDbEngine.countClasses}. */
export interface DuckDbClassCounts {
  rows: number;
  positives: number;
  negatives: number;
}

const DEFAULT_BATCH_ROWS = 65_536;

/** File types {@link DuckDbEngine.relation} reads, by extension (after an optional .gz/.zst). */
const READERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\.(parquet|pq)$/i, 'read_parquet'],
  [/\.(csv|tsv|txt)(\.(gz|zst))?$/i, 'read_csv'],
  [/\.(json|jsonl|ndjson)(\.(gz|zst))?$/i, 'read_json_auto'],
];
const ARROW_FILE = /\.(arrow|arrows|ipc|feather)$/i;

/** Numeric column types DuckDbEngine.readMatrix accepts. */
const MATRIX_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.BOOLEAN,
]);

/** An SQL string literal. */
function stringLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A double-quoted DuckDB identifier. */
function identifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The embedded DuckDB engine: reads CSV, Parquet and JSON files or globs larger than memory, runs
 * generated SQL (such as {@link samplingSql} in the `duckdb` dialect) and streams results as
 * {@link ColumnBatch}es or writes them to Parquet atomically. One in-memory database and one
 * connection per engine; DuckDB runs each statement on its own threads. Extensions are never
 * downloaded (`autoinstall_known_extensions = false`), so the engine works offline.
 *
 * @example
 * ```ts
 * const engine = await DuckDbEngine.open({ threads: 2 });
 * try {
 *   const counts = await engine.countClasses('logs/*.parquet', 'clicked');
 *   await engine.copyToParquet(`SELECT * FROM ${engine.relation('logs/*.parquet')} LIMIT 10`, 'head.parquet');
 * } finally {
 *   await engine.close();
 * }
 * ```
 */
export class DuckDbEngine implements SqlEngine {
  /** The dialect of the SQL this engine runs (for `samplingSql` and the engine recipe). */
  readonly dialect = 'duckdb' as const;
  private closed = false;
  private views = 0;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /**
   * Starts an in-memory DuckDB database.
   *
   * @param options - threads and memory limit
   * @returns the engine; close it with {@link DuckDbEngine.close}
   * @throws RarefyError `RAREFY_INVALID_ARGUMENT` for a bad option, `RAREFY_IO_ERROR` when DuckDB cannot start
   * @example
   * ```ts
   * const engine = await DuckDbEngine.open({ threads: 2, memoryLimit: '400MB' });
   * ```
   */
  static async open(options: DuckDbEngineOptions = {}): Promise<DuckDbEngine> {
    const config: Record<string, string> = {
      autoinstall_known_extensions: 'false',
    };
    if (options.threads !== undefined) {
      if (!(Number.isInteger(options.threads) && options.threads >= 1)) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `options.threads: ${options.threads} is not a positive integer`,
          'pass threads >= 1, or leave it out to use every core',
          { input: 'options.threads' },
        );
      }
      config.threads = String(options.threads);
    }
    if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(':memory:', config);
    } catch (error) {
      throw duckDbError('DuckDB (opening an in-memory database)', error);
    }
    try {
      return new DuckDbEngine(instance, await instance.connect());
    } catch (error) {
      instance.closeSync();
      throw duckDbError('DuckDB (connecting)', error);
    }
  }

  private requireOpen(): DuckDBConnection {
    if (this.closed) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        'DuckDbEngine: the engine is closed',
        'open a new engine with DuckDbEngine.open()',
        { input: 'engine' },
      );
    }
    return this.connection;
  }

  /**
   * Runs a statement and returns every row as an object (for small results: counts, schemas,
   * summaries). Values follow @duckdb/node-api's JS conversion: DOUBLE and INTEGER as numbers,
   * BIGINT (e.g. `count(*)`) as bigint, VARCHAR as strings, NULL as null.
   *
   * @param sql - the statement(s); the last one's rows are returned
   * @returns the rows
   * @throws RarefyError naming the statement and DuckDB's message (see {@link duckDbError})
   * @example
   * ```ts
   * const [row] = await engine.query('SELECT 42 AS answer'); // { answer: 42 }
   * ```
   */
  async query(sql: string): Promise<Array<Record<string, unknown>>> {
    const connection = this.requireOpen();
    try {
      const reader = await connection.runAndReadAll(sql);
      return reader.getRowObjectsJS();
    } catch (error) {
      throw duckDbError(`query "${sqlExcerpt(sql)}"`, error);
    }
  }

  /**
   * Runs a query and yields its rows as {@link ColumnBatch}es of `batchRows` rows (the last one
   * shorter), reading DuckDB's result chunk by chunk: memory is bounded by the batch size whatever
   * the result's size. `firstRow` counts rows across batches. Column types: DOUBLE, FLOAT, DECIMAL,
   * BIGINT and other integers wider than 32 bits become Float64Array (`number`; an integer beyond
   * 2^53 is an error), INTEGER and narrower Int32Array (`integer`), BOOLEAN and the `label` column
   * Uint8Array 0/1 (`label`), VARCHAR a DictionaryColumn (`string`, NULL = code -1); other types must
   * be cast in the SQL. A NULL number is an error naming the column and row, never a NaN.
   *
   * @param sql - the query
   * @param options - `batchRows` (default 65,536), `label`
   * @returns the batches
   * @throws RarefyError naming the statement and DuckDB's message; RarefyInputError for NULLs and labels
   * @example
   * ```ts
   * for await (const batch of engine.stream(`SELECT * FROM ${engine.relation('a.parquet')}`, { label: 'y' })) {
   *   console.log(batch.firstRow, batch.rows);
   * }
   * ```
   */
  async *stream(sql: string, options: DuckDbStreamOptions = {}): AsyncIterable<ColumnBatch> {
    const connection = this.requireOpen();
    const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    if (!(Number.isInteger(batchRows) && batchRows >= 1)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `options.batchRows: ${batchRows} is not a positive integer`,
        'pass batchRows >= 1 (e.g. 65536)',
        { input: 'options.batchRows' },
      );
    }
    const source = `query "${sqlExcerpt(sql)}"`;
    let result: Awaited<ReturnType<DuckDBConnection['stream']>>;
    try {
      result = await connection.stream(sql);
    } catch (error) {
      throw duckDbError(source, error);
    }
    const columns: ResultColumns = {
      names: result.columnNames(),
      typeIds: Array.from({ length: result.columnCount }, (_, j) => result.columnTypeId(j)),
      typeNames: Array.from({ length: result.columnCount }, (_, j) => result.columnType(j).toString()),
    };
    const batcher = new ChunkBatcher(columns, batchRows, source, options.label);
    for (;;) {
      let chunk: Awaited<ReturnType<typeof result.fetchChunk>>;
      try {
        chunk = await result.fetchChunk();
      } catch (error) {
        throw duckDbError(source, error);
      }
      if (chunk === null || chunk.rowCount === 0) break;
      for (const batch of batcher.add(chunk)) yield batch;
    }
    const last = batcher.finish();
    if (last !== null) yield last;
  }

  /**
   * A FROM-clause item that reads a file or a glob with DuckDB, chosen by extension: Parquet
   * (`.parquet`, `.pq`) with `read_parquet`, CSV/TSV (`.csv`, `.tsv`, `.txt`, optionally `.gz` or
   * `.zst`) with `read_csv` (types, header and delimiter sniffed), JSON (`.json`, `.jsonl`,
   * `.ndjson`) with `read_json_auto`. DuckDB pushes projections and filters into these readers.
   * Arrow IPC is refused: DuckDB reads it only through its `arrow` extension, which is not bundled
   * and is never downloaded here.
   *
   * @param source - a path or glob (`logs/2024-*.parquet`)
   * @returns SQL such as `read_parquet('logs/2024-*.parquet')`
   * @throws RarefyIoError `RAREFY_IO_ERROR` for an Arrow file or an unknown extension
   * @example
   * ```ts
   * const rows = await engine.query(`SELECT count(*) AS n FROM ${engine.relation('data/*.csv')}`);
   * ```
   */
  relation(source: string): string {
    if (typeof source !== 'string' || source.length === 0) {
      throw new RarefyIoError('RAREFY_IO_ERROR', 'source: an empty path', 'pass a file path or glob', {
        input: 'source',
      });
    }
    if (ARROW_FILE.test(source)) {
      throw new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${source}: Arrow IPC needs DuckDB's arrow extension, which is not bundled with @duckdb/node-api and is not downloaded`,
        'convert the file to Parquet (e.g. with apache-arrow and parquet writers, or pyarrow), or read it with an Arrow reader',
        { input: source },
      );
    }
    for (const [pattern, reader] of READERS) {
      if (pattern.test(source)) return `${reader}(${stringLiteral(source)})`;
    }
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `${source}: unknown file type (the extension says neither Parquet, CSV nor JSON)`,
      'use a .parquet, .csv, .tsv, .json or .jsonl file (or glob), or write the FROM clause yourself',
      { input: source },
    );
  }

  /**
   * Counts rows and classes of a file or glob in one DuckDB pass.
   *
   * @param source - a path or glob (see {@link DuckDbEngine.relation})
   * @param label - the 0/1 label column
   * @returns rows, positives and negatives
   * @throws RarefyIoError naming the source when it cannot be read; RarefyInputError
   *   `RAREFY_INVALID_LABEL` when a label is neither 0 nor 1 (NULL included)
   * @example
   * ```ts
   * const { positives, negatives } = await engine.countClasses('clicks.parquet', 'clicked');
   * ```
   */
  async countClasses(source: string, label: string): Promise<DuckDbClassCounts> {
    const connection = this.requireOpen();
    const from = this.relation(source);
    const column = identifier(label);
    const sql = `SELECT count(*) AS total, count(*) FILTER (WHERE ${column} = 1) AS positives, count(*) FILTER (WHERE ${column} = 0) AS negatives, min(${column}) FILTER (WHERE ${column} IS NULL OR ${column} NOT IN (0, 1)) AS other, count(*) FILTER (WHERE ${column} IS NULL) AS missing FROM ${from}`;
    let row: Record<string, unknown>;
    try {
      const reader = await connection.runAndReadAll(sql);
      row = reader.getRowObjectsJS()[0] ?? {};
    } catch (error) {
      throw duckDbError(source, error);
    }
    const rows = Number(row.total ?? 0);
    const positives = Number(row.positives ?? 0);
    const negatives = Number(row.negatives ?? 0);
    if (positives + negatives !== rows) {
      const missing = Number(row.missing ?? 0);
      const other = rows - positives - negatives - missing;
      throw new RarefyInputError(
        'RAREFY_INVALID_LABEL',
        `${source}: label column "${label}" has ${other} values other than 0 and 1${other > 0 ? ` (e.g. ${String(row.other)})` : ''} and ${missing} NULLs`,
        'map the label to 0/1 (a label mapping such as -1/1 -> 0/1), or name the right label column',
        { input: source, column: label, other, missing },
      );
    }
    return { rows, positives, negatives };
  }

  /**
   * Writes a query's result to a Parquet file atomically: DuckDB's `COPY (sql) TO` writes a
   * temporary file beside `path` (`<path>.rarefy-tmp-<pid>-<random>`), which is flushed to disk and
   * renamed over `path` only when complete. On any error (bad SQL, a failure midway, an unwritable
   * folder) the temporary file is removed and `path` is left as it was. Memory stays bounded: DuckDB
   * streams the result into row groups.
   *
   * @param sql - a query (a trailing semicolon is dropped)
   * @param path - the Parquet file to create or replace
   * @returns when the file is in place
   * @throws RarefyError naming `path` and DuckDB's message
   * @example
   * ```ts
   * await engine.copyToParquet(samplingSql({ dialect: 'duckdb', ... }), 'sample.parquet');
   * ```
   */
  async copyToParquet(sql: string, path: string): Promise<void> {
    await this.copyTo(sql, path, 'parquet');
  }

  /**
   * Writes a query's result to a Parquet or CSV file atomically, as {@link DuckDbEngine.copyToParquet}
   * does: a temporary file beside `path`, flushed and renamed over `path` only when complete. CSV
   * has a header line, `,` as the delimiter and DuckDB's shortest round-trip form of every double.
   *
   * @param sql - a query (a trailing semicolon is dropped)
   * @param path - the file to create or replace
   * @param format - `parquet` or `csv`
   * @returns when the file is in place
   * @throws RarefyError naming `path` and DuckDB's message
   * @example
   * ```ts
   * await engine.copyTo('SELECT 1 AS one', 'one.csv', 'csv');
   * ```
   */
  async copyTo(sql: string, path: string, format: 'parquet' | 'csv'): Promise<void> {
    const connection = this.requireOpen();
    const query = sql.replace(/[\s;]+$/, '');
    const temporary = `${path}.rarefy-tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    const formatOptions = format === 'csv' ? 'FORMAT CSV, HEADER' : 'FORMAT PARQUET';
    try {
      await connection.run(`COPY (\n${query}\n) TO ${stringLiteral(temporary)} (${formatOptions})`);
      const handle = await open(temporary, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      if (error instanceof RarefyError) throw error;
      const code =
        typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
          ? error.code
          : undefined;
      if (code !== undefined) {
        throw new RarefyIoError(
          'RAREFY_IO_ERROR',
          `${path}: cannot write the file (${error instanceof Error ? error.message : String(error)})`,
          'check that the folder exists and is writable, and that there is disk space',
          { input: path, osCode: code },
        );
      }
      throw duckDbError(path, error);
    }
  }

  /**
   * Runs a query whose columns are all numeric and reads it into a row-major design matrix (the
   * intercept first, then every column but the label, in order) and 0/1 labels, chunk by chunk.
   *
   * @param sql - the query
   * @param options - `label` (the 0/1 column) and `source` (what to call the input in errors)
   * @returns the design matrix, the labels and the number of positives
   * @throws RarefyError naming the source and DuckDB's message; RarefyInputError for a missing or
   *   non-0/1 label, NULL values or non-numeric columns
   * @example
   * ```ts
   * const { x, y } = await engine.readMatrix(`SELECT * FROM ${engine.relation('a.parquet')}`, { label: 'y' });
   * ```
   */
  async readMatrix(
    sql: string,
    options: { label: string; source?: string },
  ): Promise<{ x: DesignMatrix; y: Uint8Array; positives: number }> {
    const connection = this.requireOpen();
    const { label } = options;
    const source = options.source ?? `query "${sqlExcerpt(sql)}"`;
    let result: Awaited<ReturnType<DuckDBConnection['stream']>>;
    try {
      result = await connection.stream(sql);
    } catch (error) {
      throw duckDbError(source, error);
    }
    const names = result.columnNames();
    const labelIndex = names.indexOf(label);
    if (labelIndex < 0) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: no label column "${label}" (columns: ${names.join(', ')})`,
        'name an existing column as the label',
        { input: source, column: label },
      );
    }
    names.forEach((name, j) => {
      if (!MATRIX_TYPES.has(result.columnTypeId(j))) {
        throw new RarefyInputError(
          'RAREFY_PARSE_ERROR',
          `${source}: column "${name}" is ${result.columnType(j).toString()}, not numeric`,
          'drop the column or make it numeric',
          { input: source, column: name },
        );
      }
    });
    const featureIndices = names.map((_, j) => j).filter((j) => j !== labelIndex);
    const d = featureIndices.length + 1;
    let capacity = 1 << 16;
    let data = new Float64Array(capacity * d);
    let y = new Uint8Array(capacity);
    let rows = 0;
    let positives = 0;
    for (;;) {
      let chunk: Awaited<ReturnType<typeof result.fetchChunk>>;
      try {
        chunk = await result.fetchChunk();
      } catch (error) {
        throw duckDbError(source, error);
      }
      if (chunk === null || chunk.rowCount === 0) break;
      const count = chunk.rowCount;
      if (rows + count > capacity) {
        while (rows + count > capacity) capacity *= 2;
        const grown = new Float64Array(capacity * d);
        grown.set(data.subarray(0, rows * d));
        data = grown;
        const grownY = new Uint8Array(capacity);
        grownY.set(y.subarray(0, rows));
        y = grownY;
      }
      const labels = chunk.getColumnVector(labelIndex);
      for (let i = 0; i < count; i++) {
        const item = labels.getItem(i);
        const value = typeof item === 'number' ? item : numericValue(item);
        if (value !== 0 && value !== 1) {
          const row = rows + i;
          throw new RarefyInputError(
            'RAREFY_INVALID_LABEL',
            `${source}: label column "${label}", row ${row + 1} (index ${row}) is ${String(item)}, not 0 or 1`,
            'map the label to 0/1',
            { input: source, column: label, row },
          );
        }
        y[rows + i] = value;
        positives += value;
        data[(rows + i) * d] = 1;
      }
      featureIndices.forEach((columnIndex, k) => {
        const vector = chunk.getColumnVector(columnIndex);
        for (let i = 0, at = rows * d + k + 1; i < count; i++, at += d) {
          const item = vector.getItem(i);
          const value = typeof item === 'number' ? item : numericValue(item);
          if (value === null || Number.isNaN(value)) {
            const row = rows + i;
            throw new RarefyInputError(
              'RAREFY_NON_FINITE',
              `${source}: column "${names[columnIndex]}", row ${row + 1} (index ${row}) is ${item === null ? 'empty (NULL)' : String(item)}`,
              'remove or impute missing values',
              { input: source, column: names[columnIndex], row },
            );
          }
          data[at] = value;
        }
      });
      rows += count;
    }
    const x: DesignMatrix = {
      data: data.length === rows * d ? data : data.slice(0, rows * d),
      rows,
      columns: d,
      names: [INTERCEPT_NAME, ...featureIndices.map((j) => names[j] as string)],
      intercept: true,
    };
    return { x, y: y.slice(0, rows), positives };
  }

  /**
   * Makes a file or glob available as a temporary view (`rarefy_source_<n>`) over
   * {@link DuckDbEngine.relation}, so that generated SQL can name it as a table.
   *
   * @param source - a path or glob
   * @returns the view's name and a `release` that drops it
   * @throws RarefyIoError for an unknown file type
   * @example
   * ```ts
   * const { table, release } = await engine.openSource('logs/*.parquet');
   * ```
   */
  async openSource(source: string): Promise<SqlSourceHandle> {
    const from = this.relation(source);
    const table = `rarefy_source_${++this.views}`;
    try {
      await this.requireOpen().run(`CREATE OR REPLACE TEMP VIEW ${table} AS SELECT * FROM ${from}`);
    } catch (error) {
      throw duckDbError(source, error);
    }
    return {
      table,
      release: async () => {
        if (!this.closed) await this.requireOpen().run(`DROP VIEW IF EXISTS ${table}`);
      },
    };
  }

  /**
   * The columns of a table or view, with DuckDB's type names.
   *
   * @param table - the table (e.g. from {@link DuckDbEngine.openSource})
   * @returns name, type and whether it is numeric, in order
   * @throws RarefyError naming the table and DuckDB's message
   * @example
   * ```ts
   * const columns = await engine.describe('rarefy_source_1');
   * ```
   */
  async describe(table: string): Promise<SqlColumn[]> {
    const rows = await this.query(`DESCRIBE ${identifier(table)}`);
    return rows.map((row) => {
      const type = String(row.column_type);
      return {
        name: String(row.column_name),
        type,
        numeric:
          /^(DOUBLE|FLOAT|REAL|DECIMAL.*|BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|UHUGEINT|BOOLEAN)$/i.test(
            type,
          ),
      };
    });
  }

  /**
   * DuckDB's 64-bit `hash` of the given column expressions: a row's identity without a row key
   * (stable within a DuckDB version).
   *
   * @param columns - quoted column expressions
   * @returns `hash(c1, c2, ...)`
   * @example
   * ```ts
   * engine.fingerprint(['"y"', '"x1"']); // 'hash("y", "x1")'
   * ```
   */
  fingerprint(columns: readonly string[]): string {
    return `hash(${columns.join(', ')})`;
  }

  /**
   * Closes the connection and the database. Further calls fail; closing twice is harmless.
   *
   * @returns when closed
   * @example
   * ```ts
   * await engine.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** Options of {@link readCsvWithDuckDb}. */
export interface ReadCsvWithDuckDbOptions {
  /** The 0/1 label column; every other column is a feature, in file order. */
  label: string;
  /** Engine options (threads, memory limit) for the engine opened for this read. */
  engine?: DuckDbEngineOptions;
}

/**
 * Reads a numeric CSV file with DuckDB's `read_csv` into a row-major design matrix (intercept
 * first, then every column but the label, in file order) and 0/1 labels: the same result as
 * `readCsvMatrix(path, { label })`, and the baseline its benchmark compares against.
 *
 * @param path - the CSV file (with a header line)
 * @param options - the label column
 * @returns the design matrix, the labels and the number of positives
 * @throws RarefyIoError naming the path when it cannot be read; RarefyInputError for a missing or
 *   non-0/1 label, NULL values or non-numeric columns
 * @example
 * ```ts
 * const { x, y } = await readCsvWithDuckDb('a10.csv', { label: 'y' });
 * ```
 */
export async function readCsvWithDuckDb(
  path: string,
  options: ReadCsvWithDuckDbOptions,
): Promise<{ x: DesignMatrix; y: Uint8Array; positives: number }> {
  const engine = await DuckDbEngine.open(options.engine);
  try {
    return await engine.readMatrix(`SELECT * FROM read_csv(${stringLiteral(path)}, header = true)`, {
      label: options.label,
      source: path,
    });
  } finally {
    await engine.close();
  }
}
