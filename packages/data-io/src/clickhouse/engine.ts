import { rename, rm, writeFile } from 'node:fs/promises';
import { RarefyError, RarefyInputError } from '@rarefy/sampling-core';
import type { SqlColumn, SqlEngine, SqlSourceHandle } from '../engine/sql-engine.js';
import { quoteTableName } from '../sql/index.js';
import { ClickHouseHttpClient, type ClickHouseHttpClientOptions } from './http-client.js';

/** ClickHouse types whose values are numbers (possibly Nullable or LowCardinality). */
const NUMERIC_TYPE =
  /^(Nullable\(|LowCardinality\()*(U?Int(8|16|32|64)|Float(32|64)|Decimal(32|64|128)?\b|Bool)/;

/**
 * A ClickHouse server (or the initiator of a cluster) as an {@link SqlEngine}, over HTTP: the engine
 * recipe's statements run there, and a `Distributed` table's statements run on every shard. Sources
 * are tables (`table` or `database.table`), not files.
 */
export class ClickHouseEngine implements SqlEngine {
  /** The dialect: `clickhouse`. */
  readonly dialect = 'clickhouse' as const;
  /** The HTTP client (for statements the recipe does not send: DDL, inserts). */
  readonly client: ClickHouseHttpClient;

  /**
   * @param url - the HTTP interface, e.g. `http://127.0.0.1:8123/` (credentials in it or in the
   *   environment)
   * @param options - as {@link ClickHouseHttpClient}
   */
  constructor(url: string, options: ClickHouseHttpClientOptions = {}) {
    this.client = new ClickHouseHttpClient(url, options);
  }

  /**
   * Runs a query and returns its rows (64-bit integers as decimal strings).
   *
   * @param sql - the query
   * @returns the rows
   */
  query(sql: string): Promise<Array<Record<string, unknown>>> {
    return this.client.query(sql);
  }

  /**
   * Checks that the table exists and returns it as the source (nothing to release).
   *
   * @param source - `table` or `database.table`
   * @returns the table
   * @throws RarefyInputError when the table does not exist
   */
  async openSource(source: string): Promise<SqlSourceHandle> {
    await this.describe(source);
    return { table: source, release: async () => undefined };
  }

  /**
   * The columns of a table, from `DESCRIBE TABLE`.
   *
   * @param table - `table` or `database.table`
   * @returns the columns in order
   * @throws RarefyInputError `RAREFY_INVALID_ARGUMENT` when the table does not exist
   */
  async describe(table: string): Promise<SqlColumn[]> {
    const quoted = quoteTableName(table, 'clickhouse');
    const [exists] = await this.client.query(`EXISTS TABLE ${quoted}`);
    if (exists === undefined || Number(exists.result) !== 1) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `table: ${table} does not exist on ${this.client.redactedUrl}`,
        'pass --table as table or database.table (a Distributed table to sample the whole cluster)',
        { input: table },
      );
    }
    const rows = await this.client.query(`DESCRIBE TABLE ${quoted}`);
    return rows.map((row) => {
      const type = String(row.type);
      return { name: String(row.name), type, numeric: NUMERIC_TYPE.test(type) };
    });
  }

  /**
   * `sipHash64` of the columns: a row's identity without a row key.
   *
   * @param columns - quoted column expressions
   * @returns the SQL expression (UInt64)
   */
  fingerprint(columns: readonly string[]): string {
    return `sipHash64(${columns.join(', ')})`;
  }

  /**
   * Writes a query's result to a local CSV file with a header, atomically (a temporary file renamed
   * into place). ClickHouse 18 writes no Parquet: `parquet` is refused.
   *
   * @param sql - the query
   * @param path - the output file
   * @param format - `csv` (`parquet` throws)
   * @returns when the file is in place
   */
  async copyTo(sql: string, path: string, format: 'parquet' | 'csv'): Promise<void> {
    if (format !== 'csv') {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `format: ${format} cannot be written from ClickHouse 18 (it has no Parquet output)`,
        'write CSV (an output path ending in .csv), or sample into a table (--output-table)',
        { input: 'format', value: format },
      );
    }
    const temporary = `${path}.rarefy-${process.pid}-${Date.now()}.tmp`;
    try {
      const text = await this.client.text(`${sql}\nFORMAT CSVWithNames`);
      await writeFile(temporary, text);
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}
