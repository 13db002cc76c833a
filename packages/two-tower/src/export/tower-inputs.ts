import { FEATURE_HASH_FUNCTION, hashFeature, type JsonObject, type JsonValue } from '@rarefy/model-kit';
import { RarefyInputError, RarefyIoError } from '@rarefy/sampling-core';
import type { FeatureValue } from '../model/features.js';
import type { TowerWeights, TwoTowerWeights } from '../model/weights.js';

/** The `format` of a {@link TowerInputsDescription}. */
export const TOWER_INPUTS_FORMAT = 'rarefy-tower-inputs';
/** The `version` of a {@link TowerInputsDescription} this package writes and reads. */
export const TOWER_INPUTS_VERSION = 1;
/** The name of an exported tower's output: the L2-normalised embedding, float32 [N, dimension]. */
export const TOWER_OUTPUT = 'embedding';

/** How a categorical or multi-hot column's values become bucket ids (the model-kit hash). */
export type TowerInputHashing = {
  /** Always {@link FEATURE_HASH_FUNCTION}: MurmurHash3_x86_32 of the UTF-8 bytes, unsigned, modulo `buckets`. */
  readonly function: typeof FEATURE_HASH_FUNCTION;
  /** The hash seed (unsigned 32-bit). */
  readonly seed: number;
  /** Buckets: rows of the embedding table. */
  readonly buckets: number;
  /** What a missing value (null or absent) is hashed as: the empty string. */
  readonly missing: '';
};

/**
 * The id input: int64 [N], the row of the id table. `vocabulary[k]` owns row k + 1; any other id (or
 * none) gets row `unknownRow` = 0, the shared row trained by id dropout (cold start).
 */
export type IdTowerInput = {
  readonly kind: 'id';
  /** The graph input. */
  readonly name: string;
  readonly type: 'int64';
  readonly shape: readonly ['N'];
  /** Ids with their own row, in row order (row k + 1). */
  readonly vocabulary: readonly string[];
  /** The row of an id outside the vocabulary. */
  readonly unknownRow: 0;
};

/** A categorical column: int64 [N], `hashFeature(String(value) or '' when missing, seed, buckets)`. */
export type CategoricalTowerInput = {
  readonly kind: 'categorical';
  readonly name: string;
  /** The feature column it reads. */
  readonly column: string;
  readonly type: 'int64';
  readonly shape: readonly ['N'];
  readonly hashing: TowerInputHashing;
};

/**
 * A multi-hot column: the cell is split by `separator`, empty tokens dropped, each token hashed as a
 * categorical value; int64 [N, L] holds each row's bucket ids padded with 0 to the batch's longest
 * row L (at least 1), and the float32 [N, L] input `mask` holds 1 for a real token and 0 for padding.
 * The tower takes the mean of the tokens' rows (zeros for a row without tokens).
 */
export type MultiHotTowerInput = {
  readonly kind: 'multiHot';
  /** The graph input of the bucket ids. */
  readonly name: string;
  /** The graph input of the mask. */
  readonly mask: string;
  readonly column: string;
  readonly separator: string;
  readonly type: 'int64';
  readonly maskType: 'float32';
  readonly shape: readonly ['N', 'L'];
  readonly hashing: TowerInputHashing;
};

/**
 * The numeric columns: float64 [N, columns.length] of raw values (a missing or null value is fed as
 * the column's training mean). The tower standardises them itself, `(x - means[j]) / sds[j]`.
 */
export type NumericTowerInput = {
  readonly kind: 'numeric';
  readonly name: string;
  /** The feature columns, in the input's column order. */
  readonly columns: readonly string[];
  readonly type: 'float64';
  readonly shape: readonly ['N', number];
  /** Training means (what a missing value is fed as). */
  readonly means: readonly number[];
  /** Training standard deviations (applied inside the graph; informative). */
  readonly sds: readonly number[];
  readonly missing: 'mean';
};

/** One graph input of an exported tower (a multi-hot entry covers its mask input too). */
export type TowerInput = IdTowerInput | CategoricalTowerInput | MultiHotTowerInput | NumericTowerInput;

/**
 * How raw features become the inputs of a tower exported by `towerToOnnx` (ONNX has no string hash:
 * ALGORITHMS.md B.10): every graph input with the column it reads, its type and shape, the hashing
 * (function, seed, buckets) and the id vocabulary. Written into a retrieval export's `towerInputs`
 * (`{ user, item }`; on disk the id vocabulary is a file of its own that the manifest's record names,
 * read back inline by `readRetrievalExport` / `retrievalExportFromFiles`) and into the ONNX model's
 * metadata (`rarefy.towerInputs`, vocabulary inline: the file stands alone); read back with
 * {@link parseTowerInputsDescription}; turned into feeds with {@link encodeTowerInputs}.
 */
export type TowerInputsDescription = {
  readonly format: typeof TOWER_INPUTS_FORMAT;
  readonly version: typeof TOWER_INPUTS_VERSION;
  /** The graph output: float32 [N, dimension], unit rows. */
  readonly output: { readonly name: string; readonly dimension: number; readonly normalisation: 'l2' };
  /** The graph inputs, in the order the tower concatenates them (id, categorical, multi-hot, numeric). */
  readonly inputs: readonly TowerInput[];
};

/** One user or item to embed: its id (optional; unseen or absent ids get the unknown row) and features by column. */
export interface TowerInputRow {
  readonly id?: string | null;
  /** Feature values by column, as in a training `FeatureTable` cell (missing columns are missing values). */
  readonly features?: Readonly<Record<string, FeatureValue | undefined>>;
}

/** One feed of an onnxruntime session: `new ort.Tensor(feed.type, feed.data, feed.dims)`. */
export type TowerFeed =
  | { readonly type: 'int64'; readonly data: BigInt64Array; readonly dims: readonly number[] }
  | { readonly type: 'float32'; readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly type: 'float64'; readonly data: Float64Array; readonly dims: readonly number[] };

/** Graph input name -> feed. */
export type TowerFeeds = Record<string, TowerFeed>;

/** Graph input names of an exported tower. */
export const TOWER_INPUT_NAMES = {
  id: 'id',
  categorical: (k: number): string => `categorical_${k}`,
  multiHot: (k: number): string => `multi_hot_${k}`,
  multiHotMask: (k: number): string => `multi_hot_${k}_mask`,
  numeric: 'numeric',
} as const;

/**
 * The description of a tower's inputs (what `towerToOnnx` builds its graph inputs from).
 *
 * @param weights - the tower's weights (`model.weights().user` or `.item`)
 * @returns the description (JSON-serialisable)
 * @example
 * ```ts
 * const description = towerInputsDescription(model.weights().item);
 * description.inputs.map((input) => input.name); // ['id', 'categorical_0', 'multi_hot_0', 'numeric']
 * ```
 */
export function towerInputsDescription(weights: TowerWeights): TowerInputsDescription {
  const spec = weights.spec;
  const inputs: TowerInput[] = [];
  if (spec.id !== null) {
    inputs.push({
      kind: 'id',
      name: TOWER_INPUT_NAMES.id,
      type: 'int64',
      shape: ['N'],
      vocabulary: [...weights.idVocabulary],
      unknownRow: 0,
    });
  }
  const hashing = (feature: { hashSeed: number; buckets: number }): TowerInputHashing => ({
    function: FEATURE_HASH_FUNCTION,
    seed: feature.hashSeed,
    buckets: feature.buckets,
    missing: '',
  });
  spec.categorical.forEach((feature, k) => {
    inputs.push({
      kind: 'categorical',
      name: TOWER_INPUT_NAMES.categorical(k),
      column: feature.column,
      type: 'int64',
      shape: ['N'],
      hashing: hashing(feature),
    });
  });
  spec.multiHot.forEach((feature, k) => {
    inputs.push({
      kind: 'multiHot',
      name: TOWER_INPUT_NAMES.multiHot(k),
      mask: TOWER_INPUT_NAMES.multiHotMask(k),
      column: feature.column,
      separator: feature.separator,
      type: 'int64',
      maskType: 'float32',
      shape: ['N', 'L'],
      hashing: hashing(feature),
    });
  });
  if (spec.numeric.length > 0) {
    inputs.push({
      kind: 'numeric',
      name: TOWER_INPUT_NAMES.numeric,
      columns: spec.numeric.map((feature) => feature.column),
      type: 'float64',
      shape: ['N', spec.numeric.length],
      means: Array.from(weights.numeric.means),
      sds: Array.from(weights.numeric.sds),
      missing: 'mean',
    });
  }
  return {
    format: TOWER_INPUTS_FORMAT,
    version: TOWER_INPUTS_VERSION,
    output: { name: TOWER_OUTPUT, dimension: spec.outputDimension, normalisation: 'l2' },
    inputs,
  };
}

/**
 * The `towerInputs` record of a retrieval export: both towers' descriptions, under `user` and `item`
 * (what a server reads as `towerInputs[side]`).
 *
 * @param weights - the model's weights
 * @returns `{ user, item }`
 * @example
 * ```ts
 * const exported: RetrievalExport = { ..., userTower: towerToOnnx(w.user), itemTower: towerToOnnx(w.item),
 *   towerInputs: retrievalTowerInputs(w) };
 * ```
 */
export function retrievalTowerInputs(weights: TwoTowerWeights): JsonObject {
  return { user: towerInputsDescription(weights.user), item: towerInputsDescription(weights.item) };
}

function malformed(
  source: string,
  problem: string,
  fix = 'export the model again with @rarefy/two-tower (towerInputsDescription writes this record)',
): RarefyIoError {
  return new RarefyIoError('RAREFY_PARSE_ERROR', `${source}: ${problem}`, fix, { input: source });
}

type Json = { readonly [key: string]: JsonValue };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(entry: Json, key: string, where: string): string {
  const value = entry[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw malformed(where, `${key} is ${JSON.stringify(value)}, not a non-empty string`);
  }
  return value;
}

function stringList(entry: Json, key: string, where: string): string[] {
  const value = entry[key];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw malformed(where, `${key} is not a list of strings`);
  }
  return value as string[];
}

function numberList(entry: Json, key: string, where: string, length: number): number[] {
  const value = entry[key];
  if (
    !Array.isArray(value) ||
    value.length !== length ||
    !value.every((item) => typeof item === 'number' && Number.isFinite(item))
  ) {
    throw malformed(where, `${key} is not a list of ${length} finite numbers`);
  }
  return value as number[];
}

function parseHashing(value: JsonValue | undefined, where: string): TowerInputHashing {
  if (!isObject(value)) throw malformed(where, 'hashing is not an object');
  if (value.function !== FEATURE_HASH_FUNCTION) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `${where}.hashing.function: ${JSON.stringify(value.function)} is not implemented here (this version implements ${FEATURE_HASH_FUNCTION})`,
      'hash with the version of Rarefy that exported the model',
      { input: `${where}.hashing.function` },
    );
  }
  const { seed, buckets } = value;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw malformed(where, `hashing.seed ${JSON.stringify(seed)} is not an unsigned 32-bit integer`);
  }
  if (typeof buckets !== 'number' || !Number.isInteger(buckets) || buckets < 1 || buckets >= 2 ** 31) {
    throw malformed(where, `hashing.buckets ${JSON.stringify(buckets)} is not a bucket count`);
  }
  if (value.missing !== undefined && value.missing !== '') {
    throw malformed(where, `hashing.missing ${JSON.stringify(value.missing)} is not ''`);
  }
  return { function: FEATURE_HASH_FUNCTION, seed, buckets, missing: '' };
}

/**
 * Reads a tower's input description back from JSON (a retrieval export's `towerInputs.user` /
 * `.item` as `readRetrievalExport` returns it, or an exported tower's `rarefy.towerInputs` metadata),
 * checking every field. A record straight from an export's manifest.json names its id vocabulary's
 * file instead (`vocabularyFile`) and is refused: read the export with `readRetrievalExport` or
 * `retrievalExportFromFiles`, which read the file back in.
 *
 * @param value - the parsed JSON
 * @param source - where it came from, for messages (`model/manifest.json towerInputs.user`)
 * @returns the description
 * @throws RarefyIoError `RAREFY_PARSE_ERROR` naming the field at fault; RarefyInputError when the
 *   hash function is not the one this version implements
 * @example
 * ```ts
 * const description = parseTowerInputsDescription(exported.towerInputs?.user, 'towerInputs.user');
 * ```
 */
export function parseTowerInputsDescription(value: unknown, source: string): TowerInputsDescription {
  if (!isObject(value)) throw malformed(source, 'is not an object');
  if (value.format !== TOWER_INPUTS_FORMAT || value.version !== TOWER_INPUTS_VERSION) {
    throw malformed(
      source,
      `format ${JSON.stringify(value.format)} version ${JSON.stringify(value.version)} is not ${TOWER_INPUTS_FORMAT} ${TOWER_INPUTS_VERSION}`,
    );
  }
  const output = value.output;
  if (
    !isObject(output) ||
    typeof output.name !== 'string' ||
    typeof output.dimension !== 'number' ||
    !Number.isInteger(output.dimension) ||
    output.dimension < 1 ||
    output.normalisation !== 'l2'
  ) {
    throw malformed(source, 'output is not { name, dimension, normalisation: "l2" }');
  }
  if (!Array.isArray(value.inputs) || value.inputs.length === 0) {
    throw malformed(source, 'inputs is not a non-empty list');
  }
  const names = new Set<string>();
  const claim = (name: string, where: string): string => {
    if (names.has(name)) throw malformed(where, `the input name ${JSON.stringify(name)} is used twice`);
    names.add(name);
    return name;
  };
  const inputs = (value.inputs as readonly JsonValue[]).map((entry, k): TowerInput => {
    const where = `${source}.inputs[${k}]`;
    if (!isObject(entry)) throw malformed(where, 'is not an object');
    const name = claim(stringField(entry, 'name', where), where);
    switch (entry.kind) {
      case 'id':
        if (entry.vocabulary === undefined && typeof entry.vocabularyFile === 'string') {
          throw malformed(
            where,
            `the vocabulary is in the export's file ${JSON.stringify(entry.vocabularyFile)}, not read in`,
            'read the export with readRetrievalExport or retrievalExportFromFiles, which put the vocabulary back into towerInputs',
          );
        }
        return {
          kind: 'id',
          name,
          type: 'int64',
          shape: ['N'],
          vocabulary: stringList(entry, 'vocabulary', where),
          unknownRow: 0,
        };
      case 'categorical':
        return {
          kind: 'categorical',
          name,
          column: stringField(entry, 'column', where),
          type: 'int64',
          shape: ['N'],
          hashing: parseHashing(entry.hashing, where),
        };
      case 'multiHot':
        return {
          kind: 'multiHot',
          name,
          mask: claim(stringField(entry, 'mask', where), where),
          column: stringField(entry, 'column', where),
          separator: stringField(entry, 'separator', where),
          type: 'int64',
          maskType: 'float32',
          shape: ['N', 'L'],
          hashing: parseHashing(entry.hashing, where),
        };
      case 'numeric': {
        const columns = stringList(entry, 'columns', where);
        if (columns.length === 0) throw malformed(where, 'columns is empty');
        const sds = numberList(entry, 'sds', where, columns.length);
        if (sds.some((sd) => !(sd > 0))) throw malformed(where, 'sds holds a value that is not positive');
        return {
          kind: 'numeric',
          name,
          columns,
          type: 'float64',
          shape: ['N', columns.length],
          means: numberList(entry, 'means', where, columns.length),
          sds,
          missing: 'mean',
        };
      }
      default:
        throw malformed(
          where,
          `kind ${JSON.stringify(entry.kind)} is not id, categorical, multiHot or numeric`,
        );
    }
  });
  return {
    format: TOWER_INPUTS_FORMAT,
    version: TOWER_INPUTS_VERSION,
    output: { name: output.name, dimension: output.dimension, normalisation: 'l2' },
    inputs,
  };
}

/** Per description: the id -> row map of its vocabulary (built once). */
const rowMaps = new WeakMap<IdTowerInput, Map<string, number>>();

function rowMapOf(input: IdTowerInput): Map<string, number> {
  let map = rowMaps.get(input);
  if (map === undefined) {
    map = new Map(input.vocabulary.map((id, k) => [id, k + 1]));
    rowMaps.set(input, map);
  }
  return map;
}

/** Per hashing record: value -> bucket cache (bounded). */
const bucketCaches = new WeakMap<TowerInputHashing, Map<string, number>>();
const BUCKET_CACHE_LIMIT = 65536;

function bucketOf(text: string, hashing: TowerInputHashing): number {
  let cache = bucketCaches.get(hashing);
  if (cache === undefined) {
    cache = new Map();
    bucketCaches.set(hashing, cache);
  }
  let bucket = cache.get(text);
  if (bucket === undefined) {
    bucket = hashFeature(text, hashing.seed, hashing.buckets);
    if (cache.size >= BUCKET_CACHE_LIMIT) cache.clear();
    cache.set(text, bucket);
  }
  return bucket;
}

function cellOf(row: TowerInputRow, column: string): FeatureValue | undefined {
  const features = row.features;
  if (features === undefined || !Object.hasOwn(features, column)) return undefined;
  return features[column];
}

function checkRow(row: unknown, r: number): asserts row is TowerInputRow {
  if (typeof row !== 'object' || row === null) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `rows[${r}]: ${JSON.stringify(row)} is not an object`,
      'pass { id?, features? } per row',
      { input: `rows[${r}]` },
    );
  }
  const { id, features } = row as { id?: unknown; features?: unknown };
  if (id !== undefined && id !== null && typeof id !== 'string') {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `rows[${r}].id: ${JSON.stringify(id)} is not a string`,
      'pass ids as strings (null or absent for none)',
      { input: `rows[${r}].id` },
    );
  }
  if (features !== undefined && (typeof features !== 'object' || features === null)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `rows[${r}].features: ${JSON.stringify(features)} is not an object`,
      'pass the features as { column: value }',
      { input: `rows[${r}].features` },
    );
  }
}

/**
 * Builds an exported tower's onnxruntime feeds from raw users or items: the id's row of the id table
 * (0 for an id outside the vocabulary: cold start), hashed categorical buckets, padded multi-hot
 * buckets with their mask, and raw numeric values (the training mean for a missing one). The same
 * encoding as the tfjs model's `FeatureEncoder`, so the ONNX tower reproduces `embedNewUsers` /
 * `embedNewItems`. With onnxruntime: `new ort.Tensor(feed.type, feed.data, feed.dims)` per feed.
 *
 * @param description - the tower's description ({@link towerInputsDescription} or parsed JSON)
 * @param rows - the users or items: `{ id?, features? }`
 * @returns graph input name -> feed
 * @throws RarefyInputError naming the row and column of a malformed value (a numeric cell that is not
 *   a finite number, a row that is not an object)
 * @example
 * ```ts
 * const feeds = encodeTowerInputs(description, [{ id: 'u-new', features: { country: 'NZ', age: 31 } }]);
 * const tensors = Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, new ort.Tensor(f.type, f.data, f.dims)]));
 * ```
 */
export function encodeTowerInputs(
  description: TowerInputsDescription,
  rows: readonly TowerInputRow[],
): TowerFeeds {
  if (!Array.isArray(rows)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      'rows: is not an array',
      'pass a list of { id?, features? }',
      { input: 'rows' },
    );
  }
  const n = rows.length;
  rows.forEach(checkRow);
  const feeds: TowerFeeds = {};
  for (const input of description.inputs) {
    switch (input.kind) {
      case 'id': {
        const map = rowMapOf(input);
        const data = new BigInt64Array(n);
        for (let r = 0; r < n; r++) {
          const id = (rows[r] as TowerInputRow).id;
          data[r] = BigInt(typeof id === 'string' ? (map.get(id) ?? input.unknownRow) : input.unknownRow);
        }
        feeds[input.name] = { type: 'int64', data, dims: [n] };
        break;
      }
      case 'categorical': {
        const data = new BigInt64Array(n);
        for (let r = 0; r < n; r++) {
          const value = cellOf(rows[r] as TowerInputRow, input.column);
          const text = value === null || value === undefined ? '' : String(value);
          data[r] = BigInt(bucketOf(text, input.hashing));
        }
        feeds[input.name] = { type: 'int64', data, dims: [n] };
        break;
      }
      case 'multiHot': {
        const tokens: number[][] = [];
        let width = 1;
        for (let r = 0; r < n; r++) {
          const value = cellOf(rows[r] as TowerInputRow, input.column);
          const buckets: number[] = [];
          if (value !== null && value !== undefined) {
            for (const token of String(value).split(input.separator)) {
              if (token.length > 0) buckets.push(bucketOf(token, input.hashing));
            }
          }
          width = Math.max(width, buckets.length);
          tokens.push(buckets);
        }
        const ids = new BigInt64Array(n * width);
        const mask = new Float32Array(n * width);
        tokens.forEach((buckets, r) => {
          buckets.forEach((bucket, t) => {
            ids[r * width + t] = BigInt(bucket);
            mask[r * width + t] = 1;
          });
        });
        feeds[input.name] = { type: 'int64', data: ids, dims: [n, width] };
        feeds[input.mask] = { type: 'float32', data: mask, dims: [n, width] };
        break;
      }
      case 'numeric': {
        const p = input.columns.length;
        const data = new Float64Array(n * p);
        input.columns.forEach((column, j) => {
          const mean = input.means[j] as number;
          for (let r = 0; r < n; r++) {
            const value = cellOf(rows[r] as TowerInputRow, column);
            if (value === null || value === undefined) {
              data[r * p + j] = mean;
            } else if (typeof value === 'number' && Number.isFinite(value)) {
              data[r * p + j] = value;
            } else {
              throw new RarefyInputError(
                typeof value === 'number' ? 'RAREFY_NON_FINITE' : 'RAREFY_INVALID_ARGUMENT',
                `rows[${r}].features.${column}: ${JSON.stringify(value)} is not a finite number`,
                'pass numbers (null or absent for missing) in numeric columns',
                { input: `rows[${r}].features.${column}`, row: r },
              );
            }
          }
        });
        feeds[input.name] = { type: 'float64', data, dims: [n, p] };
        break;
      }
    }
  }
  return feeds;
}
