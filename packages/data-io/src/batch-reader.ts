import {
  type ColumnBatch,
  type ColumnData,
  type ColumnType,
  type DictionaryColumn,
  RarefyError,
  RarefyInputError,
} from '@rarefy/sampling-core';
import { BatchAssembler } from './batch-assembler.js';
import { CsvBatchSink, CsvSourceParser, textPlan } from './csv-batches.js';
import { CsvRecordSink } from './csv-parser.js';
import { decodeLatin1 } from './csv-shared.js';
import { JsonlParser, JsonlRowMapper } from './jsonl.js';
import { LibsvmParser } from './libsvm.js';
import {
  type BatchReader,
  DEFAULT_LABEL_MAPPING,
  type InputFormat,
  inferColumnTypes,
  LIBSVM_LABEL_MAPPING,
  type RawValue,
  type ReadOptions,
  type ReadStats,
  resolveTablePlan,
  type TablePlan,
} from './schema.js';

/**
 * Bytes that can be read from the start any number of times: a file, a blob, a buffer. Each call
 * of `chunks` starts a new pass; a chunk may be reused by the source once the next is asked for.
 */
export interface ByteSource {
  /** The name in messages (a path). */
  readonly name: string;
  /** The size in bytes, when known. */
  readonly size: number | null;
  /**
   * The bytes in order, in chunks of any size.
   *
   * @returns the chunks
   */
  chunks(): AsyncIterable<Uint8Array>;
}

/** Default rows read at open to infer column types. */
const DEFAULT_INFER_ROWS = 1000;
/** Default (and largest) rows per batch. */
const DEFAULT_BATCH_ROWS = 65536;
/** Default batch size for wide tables: about this many values per batch. */
const VALUES_PER_BATCH = 1 << 22;
const FORMATS: readonly InputFormat[] = ['csv', 'tsv', 'jsonl', 'libsvm'];

/**
 * A {@link ByteSource} over text or bytes in memory (browser-safe).
 *
 * @param name - the name in messages
 * @param content - the text (encoded as UTF-8) or the bytes
 * @param chunkBytes - the size of the chunks handed out (default 4 MiB; small values test chunking)
 * @returns the source
 * @example
 * ```ts
 * const reader = await createBatchReader([byteSource('inline.csv', 'y,x\n1,0.5\n')], { label: 'y' });
 * ```
 */
export function byteSource(name: string, content: string | Uint8Array, chunkBytes = 4 << 20): ByteSource {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  const step = Math.max(1, Math.floor(chunkBytes));
  return {
    name,
    size: bytes.length,
    async *chunks() {
      for (let start = 0; start < bytes.length; start += step) yield bytes.subarray(start, start + step);
    },
  };
}

/**
 * The format a file name implies: `.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`, `.libsvm`/`.svm`/`.svmlight`,
 * `.arrow`/`.feather`/`.ipc` (Arrow IPC, read by `openBatches` of `@rarefy/data-io/node`).
 *
 * @param name - a file name or path
 * @returns the format, or null when the extension says nothing
 * @example
 * ```ts
 * formatFromName('data/train.ndjson'); // 'jsonl'
 * formatFromName('w8a'); // null
 * ```
 */
export function formatFromName(name: string): InputFormat | null {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1).toLowerCase();
  const dot = base.lastIndexOf('.');
  const extension = dot > 0 ? base.slice(dot + 1) : '';
  switch (extension) {
    case 'csv':
      return 'csv';
    case 'tsv':
    case 'tab':
      return 'tsv';
    case 'jsonl':
    case 'ndjson':
      return 'jsonl';
    case 'libsvm':
    case 'svm':
    case 'svmlight':
      return 'libsvm';
    case 'arrow':
    case 'feather':
    case 'ipc':
      return 'arrow';
    default:
      return null;
  }
}

const LIBSVM_LINE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:[ \t]+(?:qid:\S+|\d+:\S+))*[ \t]*(?:#.*)?$/;

/**
 * Guesses the format from the first bytes of a file: the `ARROW1` magic (or an IPC stream's
 * continuation marker) is Arrow IPC, a JSON object per line is JSON Lines, a number followed by
 * `index:value` pairs is LibSVM, a tab-separated line TSV, a comma-separated line CSV.
 *
 * @param head - the first bytes (a few KiB are plenty)
 * @returns the format, or null when nothing fits
 * @example
 * ```ts
 * sniffFormat(new TextEncoder().encode('-1 3:1 7:0.5\n')); // 'libsvm'
 * ```
 */
export function sniffFormat(head: Uint8Array): InputFormat | null {
  if (isArrowHead(head)) return 'arrow';
  const text = decodeLatin1(head.subarray(0, 1 << 16));
  const lines = text.split(/\r?\n/);
  if (head.length >= 1 << 16) lines.pop(); // the last line may be cut
  const first = lines.find((line) => line.trim().length > 0 && !line.trimStart().startsWith('#'));
  if (first === undefined) return null;
  const line = first.replace(/^\uFEFF|^\u00EF\u00BB\u00BF/, '').trim();
  if (line.startsWith('{')) return 'jsonl';
  if (LIBSVM_LINE.test(line)) return 'libsvm';
  if (line.includes('\t')) return 'tsv';
  if (line.includes(',')) return 'csv';
  return null;
}

/** The magic bytes at the start (and end) of an Arrow IPC file: `ARROW1`. */
const ARROW_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31];

/** True when bytes start like an Arrow IPC file (`ARROW1`) or stream (0xFFFFFFFF, then a length). */
function isArrowHead(head: Uint8Array): boolean {
  if (head.length >= 6 && ARROW_MAGIC.every((byte, i) => head[i] === byte)) return true;
  return head.length >= 8 && head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff;
}

/**
 * The typed error for Arrow IPC input given to the byte-level reader.
 *
 * @param name - the input's name
 * @returns the error
 */
function arrowNeedsNode(name: string): RarefyError {
  return new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    `${name}: Arrow IPC input is read from files by openBatches (@rarefy/data-io/node), not from byte sources`,
    "call openBatches(path) from '@rarefy/data-io/node' (pass format: 'arrow' when the file has no .arrow/.feather/.ipc extension)",
    { input: name },
  );
}

/**
 * Checks the options every streaming reader shares (batch size, counts, `onInvalid`).
 *
 * @param options - the caller's options
 * @returns what a bad row does
 * @throws RarefyError RAREFY_INVALID_ARGUMENT for a bad option
 * @example
 * ```ts
 * const onInvalid = checkReadOptions({ batchRows: 100 }); // 'error'
 * ```
 * @internal
 */
export function checkReadOptions(options: ReadOptions): 'error' | 'skip' {
  checkInteger(options.batchRows, 'batchRows', 1);
  checkInteger(options.inferRows, 'inferRows', 1);
  checkInteger(options.libsvmColumns, 'libsvmColumns', 0);
  checkInteger(options.chunkBytes, 'chunkBytes', 1);
  const onInvalid = options.onInvalid ?? 'error';
  if (onInvalid !== 'error' && onInvalid !== 'skip') {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `onInvalid: ${JSON.stringify(onInvalid)} is not 'error' or 'skip'`,
      "pass 'error' (the default) or 'skip'",
      { input: 'onInvalid' },
    );
  }
  return onInvalid;
}

/**
 * The batch size of a read: `batchRows` when given, else 65,536 rows or fewer for wide tables.
 *
 * @param options - the caller's options
 * @param columnCount - the output columns
 * @returns rows per batch
 * @example
 * ```ts
 * batchRowsFor({}, 10); // 65536
 * ```
 * @internal
 */
export function batchRowsFor(options: ReadOptions, columnCount: number): number {
  return (
    options.batchRows ??
    Math.max(1024, Math.min(DEFAULT_BATCH_ROWS, Math.floor(VALUES_PER_BATCH / Math.max(1, columnCount))))
  );
}

/** Checks an optional positive (or non-negative) integer option. */
function checkInteger(value: number | undefined, option: string, minimum: number): void {
  if (value === undefined) return;
  if (!(Number.isInteger(value) && value >= minimum)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${option}: ${value} is not an integer >= ${minimum}`,
      `pass an integer of at least ${minimum}, or leave ${option} out for the default`,
      { input: option },
    );
  }
}

/** Reads the first 64 KiB of a source (fewer when it is shorter). */
async function firstBytes(source: ByteSource): Promise<Uint8Array> {
  const wanted = 1 << 16;
  const head = new Uint8Array(wanted);
  let filled = 0;
  for await (const chunk of source.chunks()) {
    const count = Math.min(chunk.length, wanted - filled);
    head.set(chunk.subarray(0, count), filled);
    filled += count;
    if (filled === wanted) break;
  }
  return head.subarray(0, filled);
}

/** Decides the format: given, or from the names, or from the first file's content. */
async function resolveFormat(
  sources: readonly ByteSource[],
  given: InputFormat | undefined,
): Promise<InputFormat> {
  if (given !== undefined) {
    if (given === 'arrow') throw arrowNeedsNode(sources.map((source) => source.name).join(', '));
    if (!FORMATS.includes(given)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `format: ${JSON.stringify(given)} is not a known format`,
        `pass one of ${FORMATS.map((format) => JSON.stringify(format)).join(', ')}`,
        { input: 'format' },
      );
    }
    return given;
  }
  const first = sources[0] as ByteSource;
  const format = formatFromName(first.name) ?? sniffFormat(await firstBytes(first));
  if (format === null) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${first.name}: cannot tell the format from the file name or its first lines`,
      `pass format (${FORMATS.map((name) => JSON.stringify(name)).join(', ')}), or give the file a known extension`,
      { input: first.name },
    );
  }
  if (format === 'arrow') throw arrowNeedsNode(first.name);
  for (const source of sources) {
    const implied = formatFromName(source.name);
    if (implied !== null && implied !== format) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${source.name}: its name says ${implied}, but ${first.name} is read as ${format}`,
        'read files of one format together, or pass format explicitly',
        { input: source.name },
      );
    }
  }
  return format;
}

/** The CSV options of a read. */
function csvOptions(format: InputFormat, options: ReadOptions) {
  return {
    delimiter: options.delimiter ?? (format === 'tsv' ? '\t' : ','),
    comment: options.comment,
    encoding: options.encoding ?? 'utf-8',
    header: options.header ?? true,
  } as const;
}

/** What the open-time look at the input found. */
interface Inferred {
  columns: string[];
  types: ColumnType[];
}

async function inferCsv(
  sources: readonly ByteSource[],
  format: InputFormat,
  options: ReadOptions,
  inferRows: number,
): Promise<Inferred> {
  const sample: (RawValue | undefined)[][] = [];
  let columns: string[] | null = null;
  for (const source of sources) {
    // Every field as text; rows of the wrong length are left out of the sample.
    const sink = new CsvRecordSink(inferRows - sample.length);
    const parser: CsvSourceParser = new CsvSourceParser(
      sink.rows,
      { ...csvOptions(format, options), source: source.name, expectedColumns: columns },
      (names) => textPlan(names.length),
    );
    let enough = false;
    for await (const chunk of source.chunks()) {
      parser.push(chunk);
      if (sample.length + sink.records.length >= inferRows && parser.columns !== null) {
        enough = true;
        break;
      }
    }
    if (!enough) parser.finish();
    for (const record of sink.records) if (sample.length < inferRows) sample.push(record.fields);
    columns ??= parser.columns;
    if (enough) break;
  }
  const found = columns ?? [];
  return { columns: found, types: inferColumnTypes(found.length, sample) };
}

async function inferJsonl(sources: readonly ByteSource[], inferRows: number): Promise<Inferred> {
  const columns: string[] = [];
  const seen = new Set<string>();
  const objects: Record<string, unknown>[] = [];
  for (const source of sources) {
    const parser = new JsonlParser(
      {
        object(value) {
          if (objects.length >= inferRows) return;
          objects.push(value);
          for (const key of Object.keys(value)) {
            if (!seen.has(key)) {
              seen.add(key);
              columns.push(key);
            }
          }
        },
        invalid: () => undefined,
      },
      source.name,
    );
    for await (const chunk of source.chunks()) {
      parser.push(chunk);
      if (objects.length >= inferRows) break;
    }
    if (objects.length >= inferRows) break;
    parser.finish();
  }
  if (columns.length === 0) {
    const name = sources.map((source) => source.name).join(', ');
    throw new RarefyInputError(
      'RAREFY_PARSE_ERROR',
      `${name}, line 1: no JSON object found (the input is empty or every line is invalid)`,
      'write one JSON object per line, e.g. {"y": 1, "x": 0.5}',
      { input: name, line: 1 },
    );
  }
  const sample = objects.map((object) =>
    columns.map((key): RawValue | undefined => {
      const value = Object.hasOwn(object, key) ? object[key] : undefined;
      return value === undefined || (typeof value === 'object' && value !== null)
        ? undefined
        : (value as RawValue);
    }),
  );
  return { columns, types: inferColumnTypes(columns.length, sample) };
}

async function libsvmWidth(sources: readonly ByteSource[], given: number | undefined): Promise<number> {
  if (given !== undefined) return given;
  let width = 0;
  let rows = 0;
  for (const source of sources) {
    const parser = new LibsvmParser(
      {
        row: () => {
          rows++;
        },
        invalid: () => undefined,
      },
      source.name,
      null,
    );
    for await (const chunk of source.chunks()) parser.push(chunk);
    parser.finish();
    width = Math.max(width, parser.maxIndex);
  }
  if (rows === 0) {
    const name = sources.map((source) => source.name).join(', ');
    throw new RarefyInputError(
      'RAREFY_PARSE_ERROR',
      `${name}, line 1: no LibSVM row found (the input is empty or every line is invalid)`,
      'write one row per line: a label, then index:value pairs, e.g. "+1 3:0.5 10:1"',
      { input: name, line: 1 },
    );
  }
  return width;
}

/** A chunk parser for one source. */
interface ChunkParser {
  push(chunk: Uint8Array): void;
  finish(): void;
}

/**
 * Opens byte sources (files of a glob, in order) as one table for streaming (browser-safe; Node
 * code uses `openBatches` from `@rarefy/data-io/node`). Reads the first `inferRows` rows to infer
 * the schema (LibSVM: a first pass finds the number of features unless `libsvmColumns` is given),
 * then each `batches()` call streams every source in chunks, so memory is bounded by the batch
 * size and the chunk size.
 *
 * @param sources - the inputs, read in order as one table (CSV headers must agree)
 * @param options - format, schema options, batch size, CSV dialect, progress callback
 * @param name - the name of the whole input in messages (default: the sources' names)
 * @returns the reader
 * @throws RarefyInputError RAREFY_PARSE_ERROR for an empty or malformed input,
 *   RAREFY_INVALID_ARGUMENT for a missing label, type or drop column; RarefyError for bad options
 * @example
 * ```ts
 * const reader = await createBatchReader([byteSource('a.csv', 'y,x\n1,0.5\n0,2\n')], { label: 'y' });
 * reader.schema; // [{ name: 'y', type: 'label' }, { name: 'x', type: 'number' }]
 * for await (const batch of reader.batches()) console.log(batch.rows);
 * ```
 */
export async function createBatchReader(
  sources: readonly ByteSource[],
  options: ReadOptions = {},
  name?: string,
): Promise<BatchReader> {
  if (sources.length === 0) {
    throw new RarefyError('RAREFY_INVALID_ARGUMENT', 'sources: no input given', 'pass at least one source', {
      input: 'sources',
    });
  }
  const onInvalid = checkReadOptions(options);
  const source = name ?? sources.map((entry) => entry.name).join(', ');
  const format = await resolveFormat(sources, options.format);
  const inferRows = options.inferRows ?? DEFAULT_INFER_ROWS;
  let plan: TablePlan;
  let libsvmColumns = 0;
  if (format === 'libsvm') {
    if (options.label !== undefined && options.label !== 'label') {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: a LibSVM file's label column is always "label", not ${JSON.stringify(options.label)}`,
        'leave label out (or pass "label"); the features are f1..fK',
        { input: 'label' },
      );
    }
    libsvmColumns = await libsvmWidth(sources, options.libsvmColumns);
    const columns = ['label'];
    const types: ColumnType[] = ['label'];
    for (let k = 1; k <= libsvmColumns; k++) {
      columns.push(`f${k}`);
      types.push('number');
    }
    plan = resolveTablePlan(columns, types, { ...options, label: 'label' }, source, LIBSVM_LABEL_MAPPING);
  } else {
    const inferred =
      format === 'jsonl'
        ? await inferJsonl(sources, inferRows)
        : await inferCsv(sources, format, options, inferRows);
    plan = resolveTablePlan(inferred.columns, inferred.types, options, source, DEFAULT_LABEL_MAPPING);
  }
  const batchRows = batchRowsFor(options, plan.columns.length);
  const sizes = sources.map((entry) => entry.size);
  const totalBytes = sizes.every((size) => size !== null)
    ? sizes.reduce<number>((sum, size) => sum + (size as number), 0)
    : null;
  const dropped = new Set(options.drop ?? []);
  const stats: ReadStats = { rows: 0, skipped: 0, skippedExamples: [] };

  /** A file's parser: CSV/TSV into the pass's batch sink, the other formats' rows to the assembler. */
  const parserFor = (entry: ByteSource, sink: BatchAssembler | CsvBatchSink): ChunkParser => {
    if (sink instanceof CsvBatchSink) {
      return new CsvSourceParser(
        sink.rows,
        { ...csvOptions(format, options), source: entry.name, expectedColumns: plan.sourceColumns },
        () => sink.plan,
      );
    }
    if (format === 'libsvm') {
      const scratch: RawValue[] = new Array<RawValue>(libsvmColumns + 1).fill(0);
      return new LibsvmParser(
        {
          row(label, indices, values, count, line) {
            scratch[0] = label;
            for (let k = 0; k < count; k++) scratch[indices[k] as number] = values[k] as number;
            sink.add(scratch, line);
            for (let k = 0; k < count; k++) scratch[indices[k] as number] = 0;
          },
          invalid: (error) => sink.invalid(error),
        },
        entry.name,
        libsvmColumns,
      );
    }
    return new JsonlParser(
      new JsonlRowMapper(sink, plan.sourceColumns, plan.kept, dropped, entry.name),
      entry.name,
    );
  };

  async function* pass(): AsyncGenerator<ColumnBatch> {
    stats.rows = 0;
    stats.skipped = 0;
    stats.skippedExamples.length = 0;
    // CSV/TSV rows go straight from the bytes into typed columns; other formats give raw rows.
    const collector =
      format === 'csv' || format === 'tsv'
        ? new CsvBatchSink(plan, batchRows, onInvalid, stats, csvOptions(format, options).header)
        : new BatchAssembler(plan, batchRows, onInvalid, stats);
    let bytesRead = 0;
    for (const entry of sources) {
      collector.source = entry.name;
      const parser = parserFor(entry, collector);
      for await (const chunk of entry.chunks()) {
        parser.push(chunk);
        bytesRead += chunk.length;
        const ready = collector.takeReady();
        options.onProgress?.({ bytesRead, totalBytes, rows: stats.rows });
        yield* ready;
      }
      parser.finish();
      yield* collector.takeReady();
    }
    collector.flush();
    yield* collector.takeReady();
  }

  return {
    source,
    format,
    schema: plan.schema,
    totalBytes,
    batches: () => pass(),
    stats,
  };
}

/**
 * Reads every batch of a reader into one batch (for inputs that fit in memory: tests, small
 * files). String columns get one dictionary for the whole table.
 *
 * @param reader - an opened reader
 * @returns all rows as one batch
 * @example
 * ```ts
 * const table = await collectBatches(await createBatchReader([byteSource('a.csv', 'x\n1\n2\n')]));
 * table.rows; // 2
 * ```
 */
export async function collectBatches(reader: BatchReader): Promise<ColumnBatch> {
  const parts: ColumnBatch[] = [];
  let rows = 0;
  for await (const batch of reader.batches()) {
    parts.push(batch);
    rows += batch.rows;
  }
  const columns = Object.create(null) as Record<string, ColumnData>;
  for (const { name, type } of reader.schema) {
    if (type === 'string') {
      const codes = new Int32Array(rows);
      const values: string[] = [];
      const lookup = new Map<string, number>();
      let offset = 0;
      for (const part of parts) {
        const column = part.columns[name] as DictionaryColumn;
        const remap = column.values.map((value) => {
          let code = lookup.get(value);
          if (code === undefined) {
            code = values.length;
            values.push(value);
            lookup.set(value, code);
          }
          return code;
        });
        for (let i = 0; i < part.rows; i++) {
          const code = column.codes[i] as number;
          codes[offset + i] = code < 0 ? -1 : (remap[code] as number);
        }
        offset += part.rows;
      }
      columns[name] = { kind: 'dictionary', codes, values };
    } else {
      const array =
        type === 'label'
          ? new Uint8Array(rows)
          : type === 'integer'
            ? new Int32Array(rows)
            : new Float64Array(rows);
      let offset = 0;
      for (const part of parts) {
        array.set(part.columns[name] as Float64Array & Int32Array & Uint8Array, offset);
        offset += part.rows;
      }
      columns[name] = array;
    }
  }
  return { schema: reader.schema, rows, firstRow: 0, columns };
}
