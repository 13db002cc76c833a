import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import {
  type ColumnBatch,
  type ColumnSchema,
  type ColumnType,
  isRarefyError,
  RarefyError,
  RarefyIoError,
} from '@rarefy/sampling-core';
import { formatCsvNumber, quoteCsvField } from '../csv-format.js';
import { singleByteOption } from '../csv-shared.js';
import { DuckDbEngine } from '../duckdb/index.js';

/** The prefix of every temporary file a {@link SampleWriter} creates (in the output's folder). */
export const TEMPORARY_PREFIX = '.rarefy-tmp-';

/**
 * Converts a finished CSV file into Parquet: the hook through which Parquet output goes (by default
 * {@link duckDbCopyToParquet}). It must write `parquetPath` completely or throw.
 */
export type ParquetCopy = (
  csvPath: string,
  parquetPath: string,
  schema: readonly ColumnSchema[],
  delimiter: string,
) => Promise<void>;

/** An SQL string literal. */
function sqlText(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const DUCKDB_TYPES: Readonly<Record<ColumnType, string>> = {
  number: 'DOUBLE',
  integer: 'INTEGER',
  label: 'UTINYINT',
  string: 'VARCHAR',
};

/**
 * The default {@link ParquetCopy}: the embedded DuckDB engine reads the CSV with the schema's types
 * (number DOUBLE, integer INTEGER, label UTINYINT, string VARCHAR; an empty field is NULL) and writes
 * Parquet.
 *
 * @param csvPath - the finished CSV (header first)
 * @param parquetPath - the Parquet file to write
 * @param schema - the CSV's columns and their types
 * @param delimiter - the CSV's delimiter
 * @returns when the Parquet file is complete
 * @throws RarefyIoError `RAREFY_IO_ERROR` when DuckDB cannot start, read or write
 * @example
 * ```ts
 * await duckDbCopyToParquet('sample.csv', 'sample.parquet', schema, ',');
 * ```
 */
export async function duckDbCopyToParquet(
  csvPath: string,
  parquetPath: string,
  schema: readonly ColumnSchema[],
  delimiter: string,
): Promise<void> {
  let engine: DuckDbEngine;
  try {
    engine = await DuckDbEngine.open();
  } catch (error) {
    if (isRarefyError(error)) throw error;
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `${parquetPath}: Parquet output needs the DuckDB engine, which did not start (${error instanceof Error ? error.message : String(error)})`,
      'write a .csv file instead, or check the @duckdb/node-api installation',
      { input: parquetPath },
    );
  }
  try {
    const columns = schema
      .map(({ name, type }) => `${sqlText(name)}: ${sqlText(DUCKDB_TYPES[type])}`)
      .join(', ');
    const source =
      `read_csv(${sqlText(csvPath)}, header = true, auto_detect = false, delim = ${sqlText(delimiter)}, ` +
      `quote = '"', escape = '"', columns = {${columns}})`;
    await engine.copyToParquet(`SELECT * FROM ${source}`, parquetPath);
  } finally {
    await engine.close();
  }
}

/** Options of {@link openSampleWriter}. */
export interface SampleWriterOptions {
  /** `csv` or `parquet`; default from the extension of the path (`.parquet` is Parquet, else CSV). */
  format?: 'csv' | 'parquet';
  /** The CSV delimiter (default `,`). */
  delimiter?: string;
  /** Parquet output: converts the finished CSV to Parquet (default {@link duckDbCopyToParquet}). */
  copyToParquet?: ParquetCopy;
  /** Bytes of text gathered before a write to the file (default 1 MiB). */
  bufferBytes?: number;
}

/** What a committed {@link SampleWriter} wrote. */
export interface SampleWriterSummary {
  /** The output file. */
  readonly path: string;
  /** Data rows written. */
  readonly rows: number;
  /** Bytes of CSV text written (before any Parquet conversion). */
  readonly bytes: number;
}

/** An output file being written atomically: batches go to a temporary file until `commit`. */
export interface SampleWriter {
  /** The file that `commit` creates or replaces. */
  readonly path: string;
  /** The temporary file the text goes to (`.rarefy-tmp-<pid>-<random>-<name>` in the same folder). */
  readonly temporaryPath: string;
  /** Data rows written so far. */
  readonly rowsWritten: number;
  /**
   * Appends a batch's rows; the first batch's schema gives the header, and every later batch must have
   * the same columns.
   */
  write(batch: ColumnBatch): Promise<void>;
  /** Flushes, syncs and renames the temporary file into place (converting to Parquet first if asked). */
  commit(): Promise<SampleWriterSummary>;
  /** Closes and removes the temporary file; `path` is left as it was. Safe to call more than once. */
  abort(): Promise<void>;
}

/** A short reason and fix for a file-system error. */
function ioError(path: string, action: string, error: unknown): RarefyIoError {
  const code =
    typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
      ? error.code
      : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const fix =
    code === 'ENOENT'
      ? 'check that the output folder exists'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'check the permissions of the output folder, or choose another path'
        : code === 'ENOSPC'
          ? 'free some disk space or write elsewhere'
          : 'check that the path is right and the disk is reachable';
  return new RarefyIoError('RAREFY_IO_ERROR', `${path}: cannot ${action} (${message})`, fix, {
    input: path,
    osCode: code,
  });
}

/** Whether a process with this id is running (signal 0 delivers nothing; it only checks). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !(typeof error === 'object' && error !== null && 'code' in error && error.code === 'ESRCH');
  }
}

/**
 * Removes temporary files left in `folder` by writers whose process no longer runs (a run killed with
 * SIGKILL cannot remove its own). Files of running processes, and every other file, are left alone.
 *
 * @param folder - the folder to tidy
 * @returns the names removed
 * @example
 * ```ts
 * await removeStaleTemporaryFiles('/data/out');
 * ```
 */
export async function removeStaleTemporaryFiles(folder: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = /^\.rarefy-tmp-(\d+)-[0-9a-f]{12}-/.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processExists(pid)) continue;
    try {
      await unlink(join(folder, name));
      removed.push(name);
    } catch {
      // Another run may have removed it first; nothing to do.
    }
  }
  return removed;
}

/** One CSV field of row `row` of a column. */
function csvField(column: ColumnBatch['columns'][string], row: number, delimiter: string): string {
  if (column instanceof Float64Array) {
    const value = column[row] as number;
    if (Number.isFinite(value)) return formatCsvNumber(value);
    return Number.isNaN(value) ? '' : String(value);
  }
  if (column instanceof Uint8Array || column instanceof Int32Array) return String(column[row]);
  const code = column.codes[row] as number;
  if (code < 0) return '';
  const text = column.values[code] ?? '';
  return text === '' ? '""' : quoteCsvField(text, delimiter);
}

/**
 * Opens an output file for a sample, written atomically: rows go to a temporary file in the same
 * folder (`.rarefy-tmp-<pid>-<random>-<name>`), and `commit` syncs it and renames it over `path`, so
 * `path` exists only once the whole sample is in it. `abort` (call it on any error) removes the
 * temporary file. A process killed outright (SIGKILL) cannot clean up: its temporary file stays, but
 * `path` is never created; such stale temporary files are ignored, and removed by the next writer
 * opened in that folder once their process is gone.
 *
 * CSV: a header of the first batch's column names, numbers in shortest round-trip form (NaN as an
 * empty field), strings quoted when they must be, LF line ends. Parquet (`.parquet`, or
 * `format: 'parquet'`): the temporary CSV is converted by `copyToParquet` (default: the embedded
 * DuckDB engine, with the batches' column types) into a second temporary file, which is renamed into
 * place.
 *
 * @param path - the output file
 * @param options - format, delimiter, the Parquet hook
 * @returns the writer
 * @throws RarefyIoError `RAREFY_IO_ERROR` when the temporary file cannot be created (and from
 *   `commit` when the output cannot be written, DuckDB's failures included)
 * @example
 * ```ts
 * const writer = await openSampleWriter('sample.csv');
 * try {
 *   await sampleStream(reader, { label: 'y', design: 'optL', write: (batch) => writer.write(batch) });
 *   await writer.commit();
 * } catch (error) {
 *   await writer.abort();
 *   throw error;
 * }
 * ```
 */
export async function openSampleWriter(
  path: string,
  options: SampleWriterOptions = {},
): Promise<SampleWriter> {
  const format = options.format ?? (extname(path).toLowerCase() === '.parquet' ? 'parquet' : 'csv');
  const copyToParquet = options.copyToParquet ?? duckDbCopyToParquet;
  const delimiter = options.delimiter ?? ',';
  singleByteOption(delimiter, 'delimiter');
  const bufferBytes = options.bufferBytes ?? 1 << 20;
  const folder = dirname(path);
  await removeStaleTemporaryFiles(folder);
  const temporaryPath = join(
    folder,
    `${TEMPORARY_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}-${basename(path)}${format === 'parquet' ? '.csv' : ''}`,
  );
  const parquetTemporary = `${temporaryPath}.parquet`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporaryPath, 'wx');
  } catch (error) {
    throw ioError(temporaryPath, 'create the temporary output file', error);
  }
  let header: readonly string[] | null = null;
  let schema: readonly ColumnSchema[] = [];
  let pending = '';
  let rowsWritten = 0;
  let bytes = 0;
  let finished = false;

  const flush = async (): Promise<void> => {
    if (pending.length === 0 || handle === undefined) return;
    const buffer = Buffer.from(pending, 'utf8');
    pending = '';
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
      offset += bytesWritten;
    }
    bytes += buffer.length;
  };

  const abort = async (): Promise<void> => {
    finished = true;
    const current = handle;
    handle = undefined;
    if (current !== undefined) await current.close().catch(() => undefined);
    await unlink(temporaryPath).catch(() => undefined);
    await unlink(parquetTemporary).catch(() => undefined);
  };

  const requireOpen = (): FileHandle => {
    if (finished || handle === undefined) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${path}: the writer is already committed or aborted`,
        'open a new writer for another file',
        { input: path },
      );
    }
    return handle;
  };

  return {
    path,
    temporaryPath,
    get rowsWritten() {
      return rowsWritten;
    },
    async write(batch: ColumnBatch): Promise<void> {
      requireOpen();
      const names = batch.schema.map((column) => column.name);
      if (header === null) {
        header = names;
        schema = batch.schema.map(({ name, type }) => ({ name, type }));
        pending += `${names.map((name) => quoteCsvField(name, delimiter)).join(delimiter)}\n`;
      } else if (names.length !== header.length || names.some((name, j) => name !== header?.[j])) {
        throw new RarefyError(
          'RAREFY_DIMENSION_MISMATCH',
          `${path}: a batch has columns ${names.join(', ')}, the file's header ${header.join(', ')}`,
          'write batches of one schema to one file',
          { input: path },
        );
      }
      const columns = names.map((name) => {
        const column = batch.columns[name];
        if (column === undefined) {
          throw new RarefyError(
            'RAREFY_DIMENSION_MISMATCH',
            `${path}: the batch's schema names column "${name}" but it has no values`,
            'pass batches whose columns match their schema',
            { input: name },
          );
        }
        return column;
      });
      const width = columns.length;
      for (let row = 0; row < batch.rows; row++) {
        let line = csvField(columns[0] as ColumnBatch['columns'][string], row, delimiter);
        for (let j = 1; j < width; j++) {
          line += delimiter;
          line += csvField(columns[j] as ColumnBatch['columns'][string], row, delimiter);
        }
        pending += `${line}\n`;
        if (pending.length >= bufferBytes) {
          try {
            await flush();
          } catch (error) {
            throw ioError(temporaryPath, 'write', error);
          }
        }
      }
      rowsWritten += batch.rows;
    },
    async commit(): Promise<SampleWriterSummary> {
      const current = requireOpen();
      try {
        if (header === null) {
          throw new RarefyError(
            'RAREFY_INVALID_ARGUMENT',
            `${path}: nothing was written, so the file has no columns`,
            'write at least one batch (it may hold no rows) before committing',
            { input: path },
          );
        }
        await flush();
        await current.sync();
        handle = undefined;
        await current.close();
        if (format === 'parquet') {
          await copyToParquet(temporaryPath, parquetTemporary, schema, delimiter);
          await rename(parquetTemporary, path);
          await unlink(temporaryPath).catch(() => undefined);
        } else {
          await rename(temporaryPath, path);
        }
        finished = true;
        return { path, rows: rowsWritten, bytes };
      } catch (error) {
        await abort();
        if (isRarefyError(error)) throw error;
        throw ioError(path, 'write the output file', error);
      }
    },
    abort,
  };
}
