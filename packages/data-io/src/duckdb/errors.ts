import { RarefyError, RarefyInputError, RarefyIoError } from '@rarefy/sampling-core';

/** DuckDB's message from a thrown value. */
export function duckDbMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first characters of a statement, for messages. */
export function sqlExcerpt(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}

/**
 * Wraps an error DuckDB raised while working on `source` (a path, a glob or a statement) as a typed
 * Rarefy error naming the source and keeping DuckDB's own message:
 * - `IO Error` (a missing file, an unreadable path): RarefyIoError `RAREFY_IO_ERROR`;
 * - `Conversion Error`, `Invalid Input Error` (a value that does not parse, a CSV that cannot be
 *   sniffed): RarefyInputError `RAREFY_PARSE_ERROR`;
 * - `Parser`, `Binder`, `Catalog` errors (bad SQL, a missing column): RarefyError
 *   `RAREFY_INVALID_ARGUMENT`;
 * - anything else: RarefyIoError `RAREFY_IO_ERROR`.
 *
 * @param source - what DuckDB was reading or running
 * @param error - what it threw
 * @returns the typed error
 */
export function duckDbError(source: string, error: unknown): RarefyError {
  if (error instanceof RarefyError) return error;
  const message = duckDbMessage(error);
  const details = { input: source, duckdb: message };
  if (/^IO Error/.test(message)) {
    return new RarefyIoError(
      'RAREFY_IO_ERROR',
      `${source}: DuckDB cannot read or write it (${message})`,
      'check the path or glob (relative paths are resolved from the current directory), that the files exist and are readable, and that the output folder exists',
      details,
    );
  }
  if (/^(Conversion|Invalid Input) Error/.test(message)) {
    return new RarefyInputError(
      'RAREFY_PARSE_ERROR',
      `${source}: DuckDB could not parse the data (${message})`,
      'fix the value DuckDB names, or cast or filter the column in the SQL',
      details,
    );
  }
  if (/^(Parser|Binder|Catalog) Error/.test(message)) {
    return new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${source}: DuckDB refused the SQL (${message})`,
      'fix the SQL: check the column and table names DuckDB reports',
      details,
    );
  }
  return new RarefyIoError(
    'RAREFY_IO_ERROR',
    `${source}: DuckDB failed (${message})`,
    'check the input and the SQL; the message above is DuckDB’s',
    details,
  );
}
