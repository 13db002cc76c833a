/**
 * @packageDocumentation
 * The Node-only part of `@rarefy/data-io`: reading and writing files. Everything of the
 * browser-safe entry is re-exported here too.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { isRarefyError } from '@rarefy/sampling-core';
import { type CsvColumn, checkCsvColumns, csvTextChunks, type FormatCsvOptions } from './csv-format.js';
import { type CsvMatrix, type CsvMatrixOptions, CsvMatrixParser } from './csv-matrix.js';
import { ioError } from './node/io-error.js';

export * from './index.js';
export type { InteractionColumns, Interactions, ItemCatalog } from './node/readers.js';
export {
  expandGlob,
  fileSource,
  openBatches,
  readInteractions,
  readItemCatalog,
} from './node/readers.js';

/** How far {@link readCsvMatrix} has got. */
export interface CsvReadProgress {
  /** Bytes read from the file so far. */
  bytesRead: number;
  /** The file's size in bytes. */
  totalBytes: number;
  /** Data rows parsed so far. */
  rows: number;
}

/** Options of {@link readCsvMatrix}. */
export interface ReadCsvMatrixOptions extends CsvMatrixOptions {
  /** Called after every chunk read. */
  onProgress?: (progress: CsvReadProgress) => void;
  /** Bytes read at a time (default 4 MiB). */
  chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 4 << 20;

/**
 * Reads a numeric CSV file into a design matrix and labels, streaming it in chunks: memory is the
 * output plus one chunk, never the file as a string. Every value is correctly rounded.
 *
 * @param path - the CSV file (UTF-8, with a header line)
 * @param options - label column, features, intercept, delimiter, progress callback
 * @returns the design matrix (intercept first by default), labels and counts
 * @throws RarefyIoError RAREFY_IO_ERROR when the file cannot be read; RarefyInputError
 *   RAREFY_PARSE_ERROR / RAREFY_INVALID_LABEL / RAREFY_INVALID_ARGUMENT for bad contents
 * @example
 * ```ts
 * const { x, y, positives } = await readCsvMatrix('clicks.csv', { label: 'y' });
 * ```
 */
export async function readCsvMatrix(path: string, options: ReadCsvMatrixOptions): Promise<CsvMatrix> {
  const parser = new CsvMatrixParser(options, path);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw ioError(path, 'read', error);
  }
  try {
    let totalBytes: number;
    try {
      totalBytes = (await handle.stat()).size;
    } catch (error) {
      throw ioError(path, 'read', error);
    }
    let buffer = new Uint8Array(Math.max(1024, options.chunkBytes ?? DEFAULT_CHUNK_BYTES));
    let kept = 0; // bytes of an incomplete record at the start of buffer
    let bytesRead = 0;
    let estimated = false;
    for (;;) {
      if (kept === buffer.length) {
        // One record is larger than the buffer: grow it.
        const grown = new Uint8Array(buffer.length * 2);
        grown.set(buffer);
        buffer = grown;
      }
      let count: number;
      try {
        count = (await handle.read(buffer, kept, buffer.length - kept, bytesRead)).bytesRead;
      } catch (error) {
        throw ioError(path, 'read', error);
      }
      if (count === 0) {
        parser.parse(buffer, 0, kept, true);
        break;
      }
      bytesRead += count;
      const filled = kept + count;
      const consumed = parser.parse(buffer, 0, filled, false);
      kept = filled - consumed;
      if (kept > 0 && consumed > 0) buffer.copyWithin(0, consumed, filled);
      if (!estimated && parser.rows > 0 && totalBytes > bytesRead) {
        estimated = true;
        parser.reserve(Math.ceil(((parser.rows * totalBytes) / (bytesRead - kept)) * 1.02) + 16);
      }
      options.onProgress?.({ bytesRead, totalBytes, rows: parser.rows });
    }
    return parser.finish();
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** How far {@link writeCsvFile} has got. */
export interface CsvWriteProgress {
  /** Data rows written so far. */
  rowsWritten: number;
  /** Data rows in all. */
  totalRows: number;
}

/** Options of {@link writeCsvFile}. */
export interface WriteCsvFileOptions extends FormatCsvOptions {
  /** Called after every piece written (about 1 MiB). */
  onProgress?: (progress: CsvWriteProgress) => void;
}

/**
 * Writes columns as a CSV file, atomically: the text goes to a temporary file beside `path`
 * (`<path>.rarefy-tmp-<pid>-<random>`), which is flushed to disk and then renamed over `path`. A
 * reader never sees half a file, and on any error the temporary file is removed and `path` is left
 * as it was. Numbers are written in their shortest round-trip form by default, so reading the file
 * back gives the same doubles.
 *
 * @param path - the file to create or replace
 * @param columns - the named columns, all of one length (numbers or strings)
 * @param options - delimiter, number format, progress callback
 * @returns when the file is in place
 * @throws RarefyIoError RAREFY_IO_ERROR naming the path when the file cannot be written;
 *   RarefyError for mismatched columns or non-finite numbers
 * @example
 * ```ts
 * await writeCsvFile('scores.csv', [
 *   { name: 'id', values: ['a', 'b'] },
 *   { name: 'score', values: new Float64Array([0.25, 0.75]) },
 * ]);
 * ```
 */
export async function writeCsvFile(
  path: string,
  columns: readonly CsvColumn[],
  options: WriteCsvFileOptions = {},
): Promise<void> {
  const totalRows = checkCsvColumns(columns, path);
  const temporary = `${path}.rarefy-tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx');
    for (const chunk of csvTextChunks(columns, options, path)) {
      await handle.write(chunk.text);
      options.onProgress?.({ rowsWritten: chunk.rowsDone, totalRows });
    }
    await handle.sync();
    const closing = handle;
    handle = undefined;
    await closing.close();
    await rename(temporary, path);
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    if (isRarefyError(error)) throw error;
    throw ioError(path, 'write', error);
  }
}

// ClickHouse over HTTP: the engine recipe inside a cluster (clickhouse/).
export * from './clickhouse/index.js';
// The embedded DuckDB engine (duckdb/).
export * from './duckdb/index.js';
// The sampling recipe inside an SQL engine (engine/).
export * from './engine/index.js';
export type { DesignMatrixInput, ReadDesignMatrixOptions } from './node/read-matrix.js';
export { readDesignMatrix } from './node/read-matrix.js';
// Out-of-core sampling (stream-sample/).
export * from './stream-sample/index.js';
