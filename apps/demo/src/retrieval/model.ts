import { parseCsv } from '@rarefy/data-io';
import { MANIFEST_FILE, type ModelManifest, validateManifest } from '@rarefy/model-kit';
import { RarefyError, RarefyIoError } from '@rarefy/sampling-core';
import { type RetrievalExport, retrievalExportFromFiles } from '@rarefy/two-tower';

/** A file picked or dropped on the page: its path inside the chosen folder and its bytes. */
export interface PickedFile {
  /** The path as the browser gives it (`webkitRelativePath`, or the name). */
  path: string;
  bytes: Uint8Array;
}

/** A retrieval export read from picked files, with what was checked. */
export interface LoadedRetrievalModel {
  /** The folder's name (for the page and messages). */
  name: string;
  manifest: ModelManifest;
  model: RetrievalExport;
  /** Whether every file's SHA-256 was checked against the manifest (false where the page has no WebCrypto). */
  checksumsVerified: boolean;
}

/** Hex SHA-256 of bytes (WebCrypto in the browser and in Node). */
export type Sha256 = (bytes: Uint8Array) => Promise<string>;

/**
 * SHA-256 through WebCrypto, or null where `crypto.subtle` is missing (pages not served from a
 * secure origin such as 127.0.0.1).
 *
 * @returns the hash function, or null
 * @example
 * ```ts
 * const sha256 = webCryptoSha256();
 * ```
 */
export function webCryptoSha256(): Sha256 | null {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) return null;
  return async (bytes) => {
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const digest = new Uint8Array(await subtle.digest('SHA-256', copy.buffer));
    return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
  };
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

function folderName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts.length > 1 ? (parts.at(-2) as string) : 'the picked files';
}

/**
 * Reads a two-tower export (`rarefy train-retrieval --out`, `writeRetrievalExport`) from files
 * picked or dropped on the page: finds `manifest.json`, checks it, checks every listed file's size
 * (and SHA-256 when `sha256` is given), and rebuilds the embeddings and ids with
 * `retrievalExportFromFiles`.
 *
 * @param files - the folder's files
 * @param sha256 - a hash function to check the files with, or null to check sizes only
 * @returns the model
 * @throws RarefyIoError `RAREFY_IO_ERROR` when there is no manifest or a listed file is missing;
 *   `RAREFY_PARSE_ERROR` for a malformed manifest, another kind of model, or a changed file
 * @example
 * ```ts
 * const loaded = await loadRetrievalModel(files, webCryptoSha256());
 * ```
 */
export async function loadRetrievalModel(
  files: readonly PickedFile[],
  sha256: Sha256 | null,
): Promise<LoadedRetrievalModel> {
  const manifests = files
    .filter((file) => baseName(file.path) === MANIFEST_FILE)
    .sort((a, b) => a.path.split(/[\\/]/).length - b.path.split(/[\\/]/).length);
  const manifestFile = manifests[0];
  if (manifestFile === undefined) {
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `the ${files.length} picked file(s) have no ${MANIFEST_FILE}`,
      'pick the folder written by `rarefy train-retrieval --out` (it holds manifest.json, item-ids.json and item-embeddings.f32)',
      { input: 'model folder' },
    );
  }
  const name = folderName(manifestFile.path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(manifestFile.bytes));
  } catch (error) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${name}/${MANIFEST_FILE}: not JSON (${error instanceof Error ? error.message : String(error)})`,
      'export the model again',
      { input: `${name}/${MANIFEST_FILE}` },
    );
  }
  const manifest = validateManifest(parsed, `${name}/${MANIFEST_FILE}`);
  if (manifest.kind !== 'two-tower') {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${name}: a ${manifest.kind} model, not a two-tower retrieval export`,
      'pick the folder written by `rarefy train-retrieval --out`',
      { input: name },
    );
  }
  const directory = manifestFile.path.slice(0, manifestFile.path.length - MANIFEST_FILE.length);
  const byPath = new Map(files.map((file) => [file.path, file]));
  const contents = new Map<string, Uint8Array>();
  for (const listed of manifest.files) {
    const file =
      byPath.get(`${directory}${listed.path}`) ??
      files.find((candidate) => baseName(candidate.path) === listed.path);
    if (file === undefined) {
      // Towers are not needed to browse embeddings; every other listed file is.
      if (listed.role === 'onnx') continue;
      throw new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${name}/${listed.path}: listed in the manifest but not among the picked files`,
        'pick the whole export folder, not single files',
        { input: `${name}/${listed.path}` },
      );
    }
    if (file.bytes.byteLength !== listed.bytes) {
      throw new RarefyIoError(
        'RAREFY_PARSE_ERROR',
        `${name}/${listed.path}: ${file.bytes.byteLength} bytes where the manifest lists ${listed.bytes}`,
        'export the model again: the file was changed or truncated',
        { input: `${name}/${listed.path}` },
      );
    }
    if (sha256 !== null && (await sha256(file.bytes)) !== listed.sha256) {
      throw new RarefyIoError(
        'RAREFY_PARSE_ERROR',
        `${name}/${listed.path}: its SHA-256 differs from the manifest's`,
        'export the model again: the file was changed after it was written',
        { input: `${name}/${listed.path}` },
      );
    }
    contents.set(listed.path, file.bytes);
  }
  return {
    name,
    manifest,
    model: retrievalExportFromFiles(manifest, contents, name),
    checksumsVerified: sha256 !== null,
  };
}

/** One neighbour: the row in the item table and its score. */
export interface Neighbour {
  index: number;
  score: number;
}

/**
 * The k items with the largest inner product with `query` (cosine for the export's L2-normalised
 * embeddings), best first; ties go to the lower index.
 *
 * @param embeddings - items x dimension, row-major
 * @param dimension - the embedding width
 * @param query - one vector of `dimension` values
 * @param k - how many to return
 * @param exclude - an item index to leave out (the query item itself)
 * @returns the neighbours
 * @example
 * ```ts
 * nearestItems(model.items.embeddings, model.dimension, vector, 10);
 * ```
 */
export function nearestItems(
  embeddings: Float32Array,
  dimension: number,
  query: ArrayLike<number>,
  k: number,
  exclude = -1,
): Neighbour[] {
  const count = embeddings.length / dimension;
  const best: Neighbour[] = [];
  for (let item = 0; item < count; item++) {
    if (item === exclude) continue;
    let score = 0;
    const offset = item * dimension;
    for (let j = 0; j < dimension; j++) score += (embeddings[offset + j] as number) * (query[j] as number);
    if (best.length < k || score > (best.at(-1) as Neighbour).score) {
      let position = best.length;
      while (position > 0 && (best[position - 1] as Neighbour).score < score) position--;
      best.splice(position, 0, { index: item, score });
      if (best.length > k) best.pop();
    }
  }
  return best;
}

/** Item-popularity buckets, from the most to the least popular. */
export const BUCKETS = ['head', 'torso', 'tail'] as const;
/** A bucket's name. */
export type Bucket = (typeof BUCKETS)[number];

/** Each item's bucket, from interaction counts. */
export interface PopularityBuckets {
  /** Per item row: 0 head, 1 torso, 2 tail (items never seen are tail). */
  bucketOf: Uint8Array;
  /** Items per bucket. */
  items: [number, number, number];
  /** Share of the interactions per bucket. */
  interactionShare: [number, number, number];
}

/**
 * Splits the catalogue by popularity: sorting items by interaction count, the head is the most
 * popular items that together hold the first third of the interactions, the torso the next third,
 * the tail the rest (the long tail: most items, a third of the interactions or less).
 *
 * @param ids - the model's item ids, in table order
 * @param counts - interactions per item id (ids missing from it count 0)
 * @returns each item's bucket and the buckets' sizes
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` when no item of the model has an interaction
 * @example
 * ```ts
 * const buckets = popularityBuckets(model.items.ids, countItemInteractions(csvText).counts);
 * ```
 */
export function popularityBuckets(
  ids: readonly string[],
  counts: ReadonlyMap<string, number>,
): PopularityBuckets {
  const order = ids.map((id, index) => ({ index, count: counts.get(id) ?? 0 }));
  const total = order.reduce((sum, item) => sum + item.count, 0);
  if (total === 0) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      "interactions: none of the model's item ids appears in the interactions file",
      'pick the interactions the model was trained on (its item column holds the same ids as item-ids.json)',
      { input: 'interactions' },
    );
  }
  order.sort((a, b) => b.count - a.count || a.index - b.index);
  const bucketOf = new Uint8Array(ids.length).fill(2);
  const items: [number, number, number] = [0, 0, 0];
  const interactions: [number, number, number] = [0, 0, 0];
  let cumulative = 0;
  for (const item of order) {
    const share = cumulative / total;
    const bucket = item.count === 0 ? 2 : share < 1 / 3 ? 0 : share < 2 / 3 ? 1 : 2;
    bucketOf[item.index] = bucket;
    items[bucket]++;
    interactions[bucket] += item.count;
    cumulative += item.count;
  }
  return {
    bucketOf,
    items,
    interactionShare: [interactions[0] / total, interactions[1] / total, interactions[2] / total],
  };
}

/** Column names taken as the item column of an interactions file (case-insensitive). */
const ITEM_COLUMNS = /^(item|item_?id|movie_?id|product_?id|track_?id|video_?id|doc_?id|candidate)$/i;

/**
 * Counts interactions per item in a CSV of interactions (one row per user-item event): the item
 * column is `itemColumn`, else the first column named like an item id, else the second column.
 *
 * @param text - the CSV text, with a header line
 * @param options - the file's name (for messages) and the item column
 * @returns the item column used and the counts
 * @throws RarefyInputError `RAREFY_PARSE_ERROR` for a malformed file; RarefyError
 *   `RAREFY_INVALID_ARGUMENT` for a missing item column
 * @example
 * ```ts
 * countItemInteractions('userId,movieId\n1,10\n2,10\n', { name: 'ratings.csv' }).counts.get('10'); // 2
 * ```
 */
export function countItemInteractions(
  text: string,
  options: { name: string; itemColumn?: string },
): { column: string; counts: Map<string, number>; rows: number } {
  const table = parseCsv(text, { source: options.name });
  const column =
    options.itemColumn ??
    table.columns.find((name) => ITEM_COLUMNS.test(name)) ??
    table.columns[1] ??
    table.columns[0];
  const index = column === undefined ? -1 : table.columns.indexOf(column);
  if (index < 0) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${options.name}: no column ${JSON.stringify(column ?? '')} (columns: ${table.columns.join(', ')})`,
      'name the item column of the interactions file',
      { input: options.name },
    );
  }
  const counts = new Map<string, number>();
  for (const row of table.rows) {
    const id = row[index] as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return { column: column as string, counts, rows: table.rows.length };
}

/** How a model's top-K lists spread over the popularity buckets. */
export interface RecommendationSpread {
  /** Queries whose lists were counted (users, or items when the export has no users). */
  queries: number;
  queryKind: 'users' | 'items';
  /** Share of all listed items per bucket. */
  share: [number, number, number];
  /** Share of the catalogue that appears in at least one list. */
  coverage: number;
}

/**
 * Top-k lists for up to `maxQueries` users (evenly strided over the export's users; items when it
 * has none, leaving the query item out), and the share of the listed items in each bucket: a model
 * that over-recommends popular items puts most of its lists in the head.
 *
 * @param model - the export
 * @param buckets - each item's bucket
 * @param options - k (default 10) and the number of queries (default 200)
 * @returns the spread
 * @example
 * ```ts
 * recommendationSpread(loaded.model, buckets, { k: 10 });
 * ```
 */
export function recommendationSpread(
  model: RetrievalExport,
  buckets: PopularityBuckets | null,
  options: { k?: number; maxQueries?: number } = {},
): RecommendationSpread {
  const k = options.k ?? 10;
  const dimension = model.dimension;
  const queries = model.users ?? model.items;
  const queryKind = model.users ? 'users' : 'items';
  const total = queries.ids.length;
  const limit = Math.min(total, options.maxQueries ?? 200);
  const stride = total / Math.max(1, limit);
  const counts: [number, number, number] = [0, 0, 0];
  const seen = new Uint8Array(model.items.ids.length);
  let listed = 0;
  for (let q = 0; q < limit; q++) {
    const row = Math.floor(q * stride);
    const vector = queries.embeddings.subarray(row * dimension, (row + 1) * dimension);
    const neighbours = nearestItems(model.items.embeddings, dimension, vector, k, model.users ? -1 : row);
    for (const neighbour of neighbours) {
      seen[neighbour.index] = 1;
      listed++;
      if (buckets) counts[buckets.bucketOf[neighbour.index] as 0 | 1 | 2]++;
    }
  }
  let covered = 0;
  for (const flag of seen) covered += flag;
  return {
    queries: limit,
    queryKind,
    share: listed > 0 ? [counts[0] / listed, counts[1] / listed, counts[2] / listed] : [0, 0, 0],
    coverage: covered / Math.max(1, model.items.ids.length),
  };
}
