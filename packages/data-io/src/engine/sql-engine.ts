import type { SqlDialect } from '../sql/index.js';

/** A column of a source, as an {@link SqlEngine} describes it. */
export interface SqlColumn {
  /** The column's name. */
  readonly name: string;
  /** The engine's name of its type (e.g. `DOUBLE`, `BIGINT`, `VARCHAR`). */
  readonly type: string;
  /** Whether the values are numbers (floats, integers, decimals, booleans). */
  readonly numeric: boolean;
}

/** A source opened for a recipe: a table name that every statement of the recipe may read. */
export interface SqlSourceHandle {
  /** The table (or view) name, as `samplingSql`'s `inputTable` takes it (unquoted parts). */
  readonly table: string;
  /** Drops whatever {@link SqlEngine.openSource} created (a view); the source itself is untouched. */
  release(): Promise<void>;
}

/**
 * What the engine recipe (`sampleWithEngine`) needs of an SQL engine: run a query, describe a
 * source's columns, hash a row's columns, and write a query's result to a file atomically. The
 * embedded DuckDB engine implements it; another engine (ClickHouse, issue 8) is one dialect in
 * `SQL_DIALECT_SPECS` plus one connector implementing this interface.
 *
 * Every statement the recipe sends uses only functions common to DuckDB and ClickHouse (`count`,
 * `sum`, `min`, `max`, `floor`, `log2`, `pow`, `CASE`, `ORDER BY ... LIMIT`, `UNION ALL`) besides
 * what the dialect spells (`exp`, `ln`, `least`, `greatest`, `sqrt`, the hash uniform).
 */
export interface SqlEngine {
  /** The dialect the engine speaks (picks the spelling of samplingSql). */
  readonly dialect: SqlDialect;
  /**
   * Runs a statement and returns its rows as objects (numbers, bigints, strings or null).
   *
   * @param sql - the statement
   * @returns the rows
   */
  query(sql: string): Promise<Array<Record<string, unknown>>>;
  /**
   * Makes a source (a file, a glob, a table: whatever the engine reads) available as a table name.
   *
   * @param source - the source
   * @returns the table name and how to release it
   */
  openSource(source: string): Promise<SqlSourceHandle>;
  /**
   * The columns of a table.
   *
   * @param table - a table name from {@link SqlEngine.openSource}
   * @returns the columns in order
   */
  describe(table: string): Promise<SqlColumn[]>;
  /**
   * An expression hashing the given (already quoted) column expressions into one integer of at
   * least 53 bits: a row's identity when there is no row key.
   *
   * @param columns - quoted column expressions
   * @returns the SQL expression
   */
  fingerprint(columns: readonly string[]): string;
  /**
   * Writes a query's result to `path` atomically (a temporary file renamed into place when
   * complete; nothing at `path` on failure).
   *
   * @param sql - the query
   * @param path - the output
   * @param format - `parquet` or `csv` (with a header)
   * @returns when the file is in place
   */
  copyTo(sql: string, path: string, format: 'parquet' | 'csv'): Promise<void>;
}
