import type { Dirent, Stats } from 'node:fs';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ColumnType,
  type DictionaryColumn,
  RarefyInputError,
  RarefyIoError,
} from '@rarefy/sampling-core';
import { type ByteSource, createBatchReader, formatFromName, sniffFormat } from '../batch-reader.js';
import { listColumns } from '../csv-shared.js';
import type { BatchReader, ReadOptions } from '../schema.js';
import { ioError } from './io-error.js';

const DEFAULT_CHUNK_BYTES = 4 << 20;

/** True when a path segment holds a wildcard. */
function hasWildcard(segment: string): boolean {
  return segment.includes('*') || segment.includes('?');
}

/** A regular expression for one glob segment (`*` and `?` within a folder or file name). */
function segmentPattern(segment: string): RegExp {
  let source = '';
  for (const character of segment) {
    if (character === '*') source += '[^/]*';
    else if (character === '?') source += '[^/]';
    else source += character.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The entries of a folder; none when it does not exist or is not a folder. */
async function listFolder(folder: string): Promise<Dirent[]> {
  try {
    return await readdir(folder, { withFileTypes: true });
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw ioError(folder, 'read', error);
  }
}

/** The kind of a path (following links), or null when it does not exist. */
async function kindOf(path: string): Promise<'file' | 'folder' | null> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? 'folder' : info.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

async function walk(
  folder: string,
  segments: readonly string[],
  at: number,
  found: Set<string>,
): Promise<void> {
  const segment = segments[at] as string;
  const last = at === segments.length - 1;
  if (segment === '**') {
    await walk(folder, segments, at + 1, found);
    for (const entry of await listFolder(folder)) {
      if (entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory() || (entry.isSymbolicLink() && (await kindOf(path)) === 'folder')) {
        await walk(path, segments, at, found);
      }
    }
    return;
  }
  if (!hasWildcard(segment)) {
    const path = join(folder, segment);
    const kind = await kindOf(path);
    if (last ? kind === 'file' : kind === 'folder') {
      if (last) found.add(path);
      else await walk(path, segments, at + 1, found);
    }
    return;
  }
  const pattern = segmentPattern(segment);
  for (const entry of await listFolder(folder)) {
    if (!pattern.test(entry.name) || (entry.name.startsWith('.') && !segment.startsWith('.'))) continue;
    const path = join(folder, entry.name);
    const kind = entry.isSymbolicLink() ? await kindOf(path) : entry.isDirectory() ? 'folder' : 'file';
    if (last && kind === 'file' && !entry.isDirectory()) found.add(path);
    else if (!last && kind === 'folder') await walk(path, segments, at + 1, found);
  }
}

/**
 * Expands a glob to the files it matches, sorted: `*` and `?` match within a name, `**` any number
 * of folders (hidden names are matched only by a pattern that starts with a dot). A path without
 * wildcards is returned as it is.
 *
 * @param pattern - a path or a glob, e.g. `logs/2024-*` + `/**` + `/*.csv`
 * @returns the matching files in sorted order
 * @throws RarefyIoError RAREFY_IO_ERROR when nothing matches or a folder cannot be read
 * @example
 * ```ts
 * await expandGlob('data/part-*.csv'); // ['data/part-0.csv', 'data/part-1.csv']
 * ```
 */
export async function expandGlob(pattern: string): Promise<string[]> {
  if (!hasWildcard(pattern)) return [pattern];
  const parts = pattern.split('/');
  const first = parts.findIndex(hasWildcard);
  const base = parts.slice(0, first).join('/');
  const segments = parts.slice(first).filter((segment) => segment.length > 0);
  if (segments[segments.length - 1] === '**') segments.push('*');
  const found = new Set<string>();
  await walk(base === '' ? (pattern.startsWith('/') ? '/' : '.') : base, segments, 0, found);
  if (found.size === 0) {
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `${pattern}: no file matches the pattern`,
      'check the folder and the pattern (*, ? and ** are understood), and quote it so that the shell does not expand it',
      { input: pattern },
    );
  }
  return [...found].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A {@link ByteSource} over a file: each pass opens it and reads it in chunks.
 *
 * @param path - the file
 * @param size - its size in bytes (from stat)
 * @param chunkBytes - bytes per read (default 4 MiB)
 * @returns the source
 * @example
 * ```ts
 * const source = fileSource('a.csv', (await stat('a.csv')).size);
 * ```
 */
export function fileSource(path: string, size: number, chunkBytes = DEFAULT_CHUNK_BYTES): ByteSource {
  return {
    name: path,
    size,
    async *chunks() {
      let handle: FileHandle;
      try {
        handle = await open(path, 'r');
      } catch (error) {
        throw ioError(path, 'read', error);
      }
      try {
        const buffer = new Uint8Array(Math.max(1, Math.min(chunkBytes, size + 1)));
        let position = 0;
        for (;;) {
          let count: number;
          try {
            count = (await handle.read(buffer, 0, buffer.length, position)).bytesRead;
          } catch (error) {
            throw ioError(path, 'read', error);
          }
          if (count === 0) break;
          position += count;
          yield buffer.subarray(0, count);
        }
      } finally {
        await handle.close().catch(() => undefined);
      }
    },
  };
}

/**
 * Opens a file, or every file a glob matches (in sorted order, as one table), for streaming in
 * columnar batches. The schema is inferred from the first rows (or given); each `batches()` call
 * reads the files again in chunks, so memory is bounded by the batch size, whatever the input's.
 * Arrow IPC files (`.arrow`/`.feather`/`.ipc`, or `format: 'arrow'`) take their schema from the
 * file and are read one record batch at a time.
 *
 * @param pathOrGlob - a file (`clicks.csv`, `w8a`) or a glob (`logs/*.csv`, `data/**` + `/*.jsonl`)
 * @param options - format, label and label mapping, type overrides, dropped columns, what a bad
 *   row does, batch size, CSV dialect, progress callback
 * @returns the reader: schema, batches, counts
 * @throws RarefyIoError RAREFY_IO_ERROR when a file cannot be read or nothing matches;
 *   RarefyInputError RAREFY_PARSE_ERROR / RAREFY_INVALID_LABEL / RAREFY_INVALID_ARGUMENT naming
 *   file, line, column and value (at open for the first rows, otherwise while iterating)
 * @example
 * ```ts
 * const reader = await openBatches('logs/*.csv', { label: 'clicked', drop: ['session'] });
 * for await (const batch of reader.batches()) {
 *   const y = batch.columns.clicked as Uint8Array;
 * }
 * console.log(reader.stats.rows);
 * ```
 */
export async function openBatches(pathOrGlob: string, options: ReadOptions = {}): Promise<BatchReader> {
  const paths = await expandGlob(pathOrGlob);
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const sources = await Promise.all(
    paths.map(async (path) => {
      let info: Stats;
      try {
        info = await stat(path);
      } catch (error) {
        throw ioError(path, 'read', error);
      }
      if (info.isDirectory()) {
        throw new RarefyIoError(
          'RAREFY_IO_ERROR',
          `${path}: is a folder, not a file`,
          'pass a file, or a glob of files such as "folder/*.csv"',
          { input: path },
        );
      }
      return fileSource(path, Number(info.size), chunkBytes);
    }),
  );
  if (await isArrowInput(sources, options)) {
    // Loaded on first use: apache-arrow takes about 0.1 s to import, which every process that
    // imports this module (the `rarefy` CLI, whatever its input) would otherwise pay at start.
    const { openArrowBatches } = await import('./arrow.js');
    return openArrowBatches(
      sources.map((source) => ({ path: source.name, size: source.size ?? 0 })),
      options,
      pathOrGlob,
    );
  }
  return createBatchReader(sources, options, pathOrGlob);
}

/** Whether files are read as Arrow IPC: by the format given, else by the first name or first bytes. */
async function isArrowInput(sources: readonly ByteSource[], options: ReadOptions): Promise<boolean> {
  const first = sources[0] as ByteSource;
  let arrow = options.format === 'arrow';
  if (options.format === undefined) {
    arrow = formatFromName(first.name) === 'arrow';
    if (!arrow && formatFromName(first.name) === null) {
      for await (const chunk of first.chunks()) {
        arrow = sniffFormat(chunk.subarray(0, 8)) === 'arrow';
        break;
      }
    }
  }
  if (arrow && options.format === undefined) {
    for (const source of sources) {
      const implied = formatFromName(source.name);
      if (implied !== null && implied !== 'arrow') {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `${source.name}: its name says ${implied}, but ${first.name} is read as arrow`,
          'read files of one format together, or pass format explicitly',
          { input: source.name },
        );
      }
    }
  }
  return arrow;
}

/** Column names of {@link readInteractions} (defaults: MovieLens `ratings.csv`). */
export interface InteractionColumns {
  /** The user id column (default `userId`). */
  userColumn?: string;
  /** The item id column (default `movieId`). */
  itemColumn?: string;
  /** The rating column (default `rating`; absent: `ratings` is null). */
  ratingColumn?: string;
  /** The timestamp column (default `timestamp`; absent: `timestamps` is null). */
  timestampColumn?: string;
  /**
   * An event or label column (`click`, `purchase`, `impression`, 0/1), read as text (no default:
   * without it `labels` is null). Retrieval loaders check it before using the rows as positives.
   */
  labelColumn?: string;
}

/** An interaction log: one row per (user, item) event. */
export interface Interactions {
  /** The user of each row; ids as strings, codes in order of first appearance. */
  users: DictionaryColumn;
  /** The item of each row; ids as strings, codes in order of first appearance. */
  items: DictionaryColumn;
  /** The rating of each row, or null when the log has none. */
  ratings: Float64Array | null;
  /** The timestamp of each row (as written, e.g. Unix seconds), or null when the log has none. */
  timestamps: Float64Array | null;
  /**
   * With `labelColumn`: the label of each row as text (an empty field is `''`; code -1 for a value the
   * format marks missing, such as JSON `null`), codes in order of first appearance; else null.
   */
  labels: DictionaryColumn | null;
  /** The number of rows. */
  rows: number;
}

/** Opens a file once to learn its column names. */
async function columnNames(path: string): Promise<Set<string>> {
  const probe = await openBatches(path, { inferRows: 1 });
  return new Set(probe.schema.map((column) => column.name));
}

/** RAREFY_INVALID_ARGUMENT for a column a loader needs but the file lacks. */
function missingColumn(path: string, column: string, names: Set<string>, fix: string): RarefyInputError {
  return new RarefyInputError(
    'RAREFY_INVALID_ARGUMENT',
    `${path}: there is no column ${JSON.stringify(column)}; the columns are ${listColumns([...names])}`,
    fix,
    { input: path, column, columns: [...names] },
  );
}

/** A growing Int32Array or Float64Array. */
function grown<T extends Int32Array | Float64Array>(array: T, needed: number): T {
  if (needed <= array.length) return array;
  const next = new (array.constructor as new (length: number) => T)(Math.max(needed, array.length * 2));
  next.set(array);
  return next;
}

/**
 * Reads an interaction log (MovieLens `ratings.csv` style: `userId,movieId,rating,timestamp`, CSV
 * with a header, CRLF or LF) into dictionary-encoded users and items, numeric ratings and
 * timestamps, and (with `labelColumn`) dictionary-encoded labels. Ids and labels are kept as text
 * (`"007"` stays `"007"`).
 *
 * @param path - the file (CSV, TSV or JSON Lines; a glob reads several as one log)
 * @param options - the column names, when they differ from MovieLens'
 * @returns the users, items, ratings, timestamps and the row count
 * @throws RarefyIoError when the file cannot be read; RarefyInputError for a missing column or a
 *   bad value (naming file, line, column and value)
 * @example
 * ```ts
 * const log = await readInteractions('ml-latest-small/ratings.csv');
 * log.users.values.length; // 610
 * log.items.values[log.items.codes[0]]; // '1'
 * ```
 */
export async function readInteractions(
  path: string,
  options: InteractionColumns = {},
): Promise<Interactions> {
  const names = await columnNames(path);
  const userColumn = options.userColumn ?? 'userId';
  const itemColumn = options.itemColumn ?? 'movieId';
  for (const [column, option] of [
    [userColumn, 'userColumn'],
    [itemColumn, 'itemColumn'],
  ] as const) {
    if (!names.has(column)) {
      throw missingColumn(
        path,
        column,
        names,
        `pass the name of the ${option === 'userColumn' ? 'user' : 'item'} id column as ${option}`,
      );
    }
  }
  const labelColumn = options.labelColumn ?? null;
  if (labelColumn !== null && !names.has(labelColumn)) {
    throw missingColumn(path, labelColumn, names, 'pass an existing column as labelColumn, or leave it out');
  }
  // The label column is read as text: a default rating or timestamp column of the same name is left out.
  const optional = (given: string | undefined, fallback: string, option: string): string | null => {
    if (given === undefined) return names.has(fallback) && fallback !== labelColumn ? fallback : null;
    if (!names.has(given))
      throw missingColumn(path, given, names, `pass an existing column as ${option}, or leave it out`);
    if (given === labelColumn) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${path}: column ${JSON.stringify(given)} is given as both ${option} and labelColumn`,
        'pass different columns, or leave one of the two out',
        { input: path, column: given },
      );
    }
    return given;
  };
  const ratingColumn = optional(options.ratingColumn, 'rating', 'ratingColumn');
  const timestampColumn = optional(options.timestampColumn, 'timestamp', 'timestampColumn');
  const types = Object.create(null) as Record<string, ColumnType>;
  types[userColumn] = 'string';
  types[itemColumn] = 'string';
  if (ratingColumn !== null) types[ratingColumn] = 'number';
  if (timestampColumn !== null) types[timestampColumn] = 'number';
  if (labelColumn !== null) types[labelColumn] = 'string';
  const drop = [...names].filter((name) => !Object.hasOwn(types, name));
  const reader = await openBatches(path, { types, drop });

  const encode = () => ({
    codes: new Int32Array(1024),
    values: [] as string[],
    lookup: new Map<string, number>(),
  });
  const users = encode();
  const items = encode();
  const labels = encode();
  let ratings = new Float64Array(ratingColumn === null ? 0 : 1024);
  let timestamps = new Float64Array(timestampColumn === null ? 0 : 1024);
  let rows = 0;
  const append = (target: ReturnType<typeof encode>, column: DictionaryColumn, at: number, count: number) => {
    const remap = column.values.map((value) => {
      let code = target.lookup.get(value);
      if (code === undefined) {
        code = target.values.length;
        target.values.push(value);
        target.lookup.set(value, code);
      }
      return code;
    });
    target.codes = grown(target.codes, at + count);
    for (let i = 0; i < count; i++) {
      const code = column.codes[i] as number;
      target.codes[at + i] = code < 0 ? -1 : (remap[code] as number);
    }
  };
  for await (const batch of reader.batches()) {
    append(users, batch.columns[userColumn] as DictionaryColumn, rows, batch.rows);
    append(items, batch.columns[itemColumn] as DictionaryColumn, rows, batch.rows);
    if (labelColumn !== null)
      append(labels, batch.columns[labelColumn] as DictionaryColumn, rows, batch.rows);
    if (ratingColumn !== null) {
      ratings = grown(ratings, rows + batch.rows);
      ratings.set(batch.columns[ratingColumn] as Float64Array, rows);
    }
    if (timestampColumn !== null) {
      timestamps = grown(timestamps, rows + batch.rows);
      timestamps.set(batch.columns[timestampColumn] as Float64Array, rows);
    }
    rows += batch.rows;
  }
  return {
    users: { kind: 'dictionary', codes: users.codes.slice(0, rows), values: users.values },
    items: { kind: 'dictionary', codes: items.codes.slice(0, rows), values: items.values },
    ratings: ratingColumn === null ? null : ratings.slice(0, rows),
    timestamps: timestampColumn === null ? null : timestamps.slice(0, rows),
    labels:
      labelColumn === null
        ? null
        : { kind: 'dictionary', codes: labels.codes.slice(0, rows), values: labels.values },
    rows,
  };
}

/** An item catalog: id, title and genres of each item, in file order. */
export interface ItemCatalog {
  /** The item ids, as text. */
  ids: string[];
  /** The titles. */
  titles: string[];
  /** The genres of each item (empty for MovieLens' `(no genres listed)`). */
  genres: string[][];
}

/** MovieLens' marker for a movie without genres. */
const NO_GENRES = '(no genres listed)';

/**
 * Reads a MovieLens `movies.csv` item catalog: `movieId,title,genres`, genres separated by `|`,
 * titles quoted when they hold commas.
 *
 * @param path - the file
 * @returns ids, titles and genre lists, one entry per row in file order
 * @throws RarefyIoError when the file cannot be read; RarefyInputError when a column is missing
 *   or a row is malformed
 * @example
 * ```ts
 * const catalog = await readItemCatalog('ml-latest-small/movies.csv');
 * catalog.titles[0]; // 'Toy Story (1995)'
 * catalog.genres[0]; // ['Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy']
 * ```
 */
export async function readItemCatalog(path: string): Promise<ItemCatalog> {
  const names = await columnNames(path);
  for (const column of ['movieId', 'title', 'genres']) {
    if (!names.has(column)) {
      throw missingColumn(path, column, names, 'pass a MovieLens movies.csv (header movieId,title,genres)');
    }
  }
  const types: Record<string, ColumnType> = { movieId: 'string', title: 'string', genres: 'string' };
  const drop = [...names].filter((name) => !Object.hasOwn(types, name));
  const reader = await openBatches(path, { types, drop });
  const catalog: ItemCatalog = { ids: [], titles: [], genres: [] };
  for await (const batch of reader.batches()) {
    const ids = batch.columns.movieId as DictionaryColumn;
    const titles = batch.columns.title as DictionaryColumn;
    const genres = batch.columns.genres as DictionaryColumn;
    const split = genres.values.map((text) =>
      text.length === 0 || text === NO_GENRES ? [] : text.split('|'),
    );
    for (let i = 0; i < batch.rows; i++) {
      catalog.ids.push(ids.values[ids.codes[i] as number] ?? '');
      catalog.titles.push(titles.values[titles.codes[i] as number] ?? '');
      catalog.genres.push([...(split[genres.codes[i] as number] ?? [])]);
    }
  }
  return catalog;
}
