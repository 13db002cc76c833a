import { type FileHandle, open } from 'node:fs/promises';
import {
  type ColumnBatch,
  type ColumnType,
  isRarefyError,
  RarefyError,
  RarefyInputError,
} from '@rarefy/sampling-core';
import {
  type AsyncRecordBatchFileReader,
  type AsyncRecordBatchStreamReader,
  DataType,
  type Field,
  type RecordBatch,
  RecordBatchReader,
  type Schema,
} from 'apache-arrow';
import { BatchAssembler } from '../batch-assembler.js';
import { batchRowsFor, checkReadOptions } from '../batch-reader.js';
import { listColumns } from '../csv-shared.js';
import {
  type BatchReader,
  DEFAULT_LABEL_MAPPING,
  type RawValue,
  type ReadOptions,
  type ReadStats,
  resolveTablePlan,
} from '../schema.js';
import { ioError } from './io-error.js';

/** One Arrow IPC file to read: its path and size. @internal */
export interface ArrowFile {
  readonly path: string;
  readonly size: number;
}

/** An opened Arrow reader over a file handle (file format: random access; stream format: in order). */
type ArrowReader = AsyncRecordBatchFileReader | AsyncRecordBatchStreamReader;

/** How a source column's Arrow type is read: as numbers, booleans, strings, or not at all. */
type ArrowKind = 'number' | 'bigint' | 'boolean' | 'string' | 'unsupported';

/** The kind of an Arrow data type. */
function kindOf(type: DataType): ArrowKind {
  if (DataType.isFloat(type)) return 'number';
  if (DataType.isInt(type)) return type.bitWidth === 64 ? 'bigint' : 'number';
  if (DataType.isBool(type)) return 'boolean';
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type)) return 'string';
  if (DataType.isDictionary(type)) {
    const values = type.dictionary;
    if (DataType.isUtf8(values) || DataType.isLargeUtf8(values) || DataType.isUtf8View(values))
      return 'string';
  }
  return 'unsupported';
}

/** The column type inferred from an Arrow kind: numbers and booleans are `number`, text `string`. */
function inferredType(kind: ArrowKind): ColumnType {
  return kind === 'string' || kind === 'unsupported' ? 'string' : 'number';
}

/** Opens a file and an Arrow reader over it; the caller closes the handle. */
async function openArrow(file: ArrowFile): Promise<{ handle: FileHandle; reader: ArrowReader }> {
  let handle: FileHandle;
  try {
    handle = await open(file.path, 'r');
  } catch (error) {
    throw ioError(file.path, 'read', error);
  }
  try {
    // A FileHandle gives the reader random access: the file format reads its footer, then one
    // record batch at a time; the stream format is read in order. Neither loads the whole file.
    const reader = await RecordBatchReader.from(handle);
    await reader.open();
    return { handle, reader };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw arrowError(file.path, error);
  }
}

/** A typed error for a file Arrow cannot read. */
function arrowError(path: string, error: unknown): RarefyError {
  if (isRarefyError(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new RarefyInputError(
    'RAREFY_PARSE_ERROR',
    `${path}: not a readable Arrow IPC file or stream (${reason})`,
    'pass an Arrow IPC file (Feather v2) or stream, or pass the format the file is really in',
    { input: path },
  );
}

/** The fields of a schema, as names. */
function fieldNames(schema: Schema): string[] {
  return schema.fields.map((field: Field) => field.name);
}

/**
 * Opens Arrow IPC files (file or stream format; Feather v2) as one table for streaming. The schema
 * comes from the first file's Arrow schema: integers, floats and booleans are `number` columns
 * (Float64Array), UTF-8 and dictionary-encoded UTF-8 columns `string`, and the label column is
 * mapped to 0/1 with the same label mapping as the other formats (override any of these with
 * `types`). Other Arrow types (dates, decimals, lists, structs, binary) must be dropped. Each
 * `batches()` call reads the record batches one at a time, so memory is the current record batch
 * plus the output batch; rows are regrouped into batches of `batchRows`. Values go through the
 * shared batch assembler, so a null in a numeric or label column is an error naming the file, the
 * 1-based row and the column (or a counted skip under `onInvalid: 'skip'`).
 *
 * @param files - the files, read in order as one table (their column names must agree)
 * @param options - label and mapping, type overrides, dropped columns, what a bad row does, batch
 *   size, progress callback (bytes count whole files, so progress moves at file ends)
 * @param name - the name of the whole input in messages
 * @returns the reader
 * @throws RarefyIoError when a file cannot be opened; RarefyInputError RAREFY_PARSE_ERROR for a
 *   file Arrow cannot read, RAREFY_INVALID_ARGUMENT for a missing or unsupported column
 * @example
 * ```ts
 * const reader = await openArrowBatches([{ path: 'clicks.arrow', size: 1024 }], { label: 'y' }, 'clicks.arrow');
 * ```
 * @internal
 */
export async function openArrowBatches(
  files: readonly ArrowFile[],
  options: ReadOptions,
  name: string,
): Promise<BatchReader> {
  const onInvalid = checkReadOptions(options);
  const first = files[0];
  if (first === undefined) {
    throw new RarefyError('RAREFY_INVALID_ARGUMENT', 'files: no input given', 'pass at least one file', {
      input: 'files',
    });
  }
  const opened = await openArrow(first);
  const schema = opened.reader.schema;
  await opened.handle.close().catch(() => undefined);
  const columns = fieldNames(schema);
  const kinds = schema.fields.map((field: Field) => kindOf(field.type));
  const plan = resolveTablePlan(columns, kinds.map(inferredType), options, name, DEFAULT_LABEL_MAPPING);
  plan.columns.forEach((column) => {
    if (kinds[column.sourceIndex] === 'unsupported') {
      const field = schema.fields[column.sourceIndex] as Field;
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${first.path}: column ${JSON.stringify(column.name)} has Arrow type ${String(field.type)}, which is not read`,
        'drop the column (drop option), or convert it to a number, boolean or UTF-8 column',
        { input: first.path, column: column.name },
      );
    }
  });
  const firstPath = first.path;
  const batchRows = batchRowsFor(options, plan.columns.length);
  const totalBytes = files.reduce((sum, file) => sum + file.size, 0);
  const stats: ReadStats = { rows: 0, skipped: 0, skippedExamples: [] };

  async function* readFile(file: ArrowFile, assembler: BatchAssembler): AsyncGenerator<ColumnBatch> {
    const { handle, reader } = await openArrow(file);
    try {
      const names = fieldNames(reader.schema);
      if (names.length !== columns.length || names.some((column, j) => column !== columns[j])) {
        throw new RarefyInputError(
          'RAREFY_PARSE_ERROR',
          `${file.path}: its columns ${listColumns(names)} differ from ${firstPath}'s ${listColumns(columns)}`,
          'read files with the same columns, in the same order, together',
          { input: file.path },
        );
      }
      const row: (RawValue | undefined)[] = new Array<RawValue | undefined>(columns.length);
      let line = 0;
      for (;;) {
        let next: IteratorResult<RecordBatch>;
        try {
          next = await reader.next();
        } catch (error) {
          throw arrowError(file.path, error);
        }
        if (next.done === true) break;
        const batch = next.value;
        const vectors = plan.kept.map((kept, j) => (kept ? batch.getChildAt(j) : null));
        for (let i = 0; i < batch.numRows; i++) {
          line++;
          for (let j = 0; j < vectors.length; j++) {
            const vector = vectors[j];
            if (vector === null || vector === undefined) {
              row[j] = undefined;
              continue;
            }
            const value: unknown = vector.get(i);
            row[j] =
              typeof value === 'bigint'
                ? value.toString()
                : typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'
                  ? value
                  : null;
          }
          assembler.add(row, line);
          // Hand batches on as they fill: a large record batch never piles up many of them.
          if ((i & 1023) === 1023) yield* assembler.takeReady();
        }
        yield* assembler.takeReady();
      }
    } finally {
      await reader.cancel().catch(() => undefined);
      await handle.close().catch(() => undefined);
    }
  }

  async function* pass(): AsyncGenerator<ColumnBatch> {
    stats.rows = 0;
    stats.skipped = 0;
    stats.skippedExamples.length = 0;
    const assembler = new BatchAssembler(plan, batchRows, onInvalid, stats);
    assembler.unit = 'row';
    let bytesRead = 0;
    for (const file of files) {
      assembler.source = file.path;
      yield* readFile(file, assembler);
      bytesRead += file.size;
      options.onProgress?.({ bytesRead, totalBytes, rows: stats.rows });
    }
    assembler.flush();
    yield* assembler.takeReady();
  }

  return {
    source: name,
    format: 'arrow',
    schema: plan.schema,
    totalBytes,
    batches: () => pass(),
    stats,
  };
}
