import type {
  JsonObject,
  JsonValue,
  ModelManifest,
  ModelSchema,
  SavedModelContents,
  SavedModelFile,
  TrainingRecord,
} from '@rarefy/model-kit';
import { RarefyError, RarefyIoError } from '@rarefy/sampling-core';

/** File names inside a retrieval export folder. */
export const RETRIEVAL_FILES = {
  userIds: 'user-ids.json',
  userEmbeddings: 'user-embeddings.f32',
  itemIds: 'item-ids.json',
  itemEmbeddings: 'item-embeddings.f32',
  userTower: 'user-tower.onnx',
  itemTower: 'item-tower.onnx',
  /** The user tower's id vocabulary (`towerInputs.user`), a JSON array of ids like `user-ids.json`. */
  userVocabulary: 'user-vocabulary.json',
  /** The item tower's id vocabulary (`towerInputs.item`). */
  itemVocabulary: 'item-vocabulary.json',
} as const;

/** One side (users or items) of a retrieval export: ids and their L2-normalised embeddings. */
export interface EmbeddingSet {
  /** Row r of `embeddings` belongs to `ids[r]`. */
  readonly ids: readonly string[];
  /** ids.length x dimension, row-major. */
  readonly embeddings: Float32Array;
}

/**
 * Everything a retrieval export holds: item (and usually user) embeddings with their ids, optional
 * ONNX towers (to embed a user or item from features: cold start), and how they were trained.
 */
export interface RetrievalExport {
  /** Width of every embedding. */
  readonly dimension: number;
  /** The training temperature tau (serving ranks by the uncorrected <u, v>; tau only rescales). */
  readonly temperature: number;
  readonly items: EmbeddingSet;
  readonly users?: EmbeddingSet;
  /** The query tower as ONNX (hashed integer inputs, see `towerInputs`). */
  readonly userTower?: Uint8Array;
  /** The candidate tower as ONNX. */
  readonly itemTower?: Uint8Array;
  /**
   * How raw features become the towers' inputs (names, hashing, id vocabularies): written by the
   * exporter, `{ user, item }` of `TowerInputsDescription`s. In memory every id vocabulary is inline
   * (`inputs[k].vocabulary`); on disk it is its own file (`user-vocabulary.json`,
   * `item-vocabulary.json`) that the description names (`vocabularyFile`), so the manifest stays
   * small. `retrievalExportFromFiles` puts it back inline.
   */
  readonly towerInputs?: JsonObject;
  /** The model's input schema (feature columns of the towers; empty when ids only). */
  readonly schema?: ModelSchema;
  /** How the model was trained (negatives, correction, epochs, metrics). */
  readonly training?: TrainingRecord;
  /** More files for the folder (for example the embeddings as Parquet), listed and checksummed too. */
  readonly extraFiles?: readonly SavedModelFile[];
}

function requireSet(set: EmbeddingSet, dimension: number, side: string): void {
  if (set.embeddings.length !== set.ids.length * dimension) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `${side}: ${set.embeddings.length} embedding values for ${set.ids.length} ids of dimension ${dimension}`,
      `pass ids.length x dimension values (${set.ids.length * dimension})`,
      { input: side },
    );
  }
  const seen = new Set<string>();
  for (const id of set.ids) {
    if (seen.has(id)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${side}: the id ${JSON.stringify(id)} appears twice`,
        'give every row a distinct id',
        { input: side },
      );
    }
    seen.add(id);
  }
}

/** Little-endian bytes of a Float32Array (a copy on big-endian hosts, a view otherwise). */
export function float32ToBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let k = 0; k < values.length; k++) view.setFloat32(k * 4, values[k] as number, true);
  return bytes;
}

/** Reads little-endian Float32 values; `source` names the file in errors. */
export function bytesToFloat32(bytes: Uint8Array, source: string): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: ${bytes.byteLength} bytes is not a whole number of float32 values`,
      'export the model again: the file is truncated',
      { input: source },
    );
  }
  const out = new Float32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let k = 0; k < out.length; k++) out[k] = view.getFloat32(k * 4, true);
  return out;
}

/** The vocabulary file of each tower in `towerInputs` (other keys are written as they are). */
const VOCABULARY_FILES = new Map<string, string>([
  ['user', RETRIEVAL_FILES.userVocabulary],
  ['item', RETRIEVAL_FILES.itemVocabulary],
]);

function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An id input with `vocabulary` replaced by `vocabularyFile` and `vocabularySize` (keys kept in order). */
function vocabularyByFile(input: JsonObject, file: string, size: number): JsonObject {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(input)) {
    if (key === 'vocabulary') {
      out.vocabularyFile = file;
      out.vocabularySize = size;
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** An id input with `vocabularyFile` and `vocabularySize` replaced by the `vocabulary` itself. */
function vocabularyInline(input: JsonObject, vocabulary: readonly string[]): JsonObject {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(input)) {
    if (key === 'vocabularyFile') out.vocabulary = vocabulary;
    else if (key !== 'vocabularySize') out[key] = value;
  }
  return out;
}

/**
 * `towerInputs` as the manifest holds it: the id vocabulary of `user` and `item` moved into its own
 * file (a JSON array of ids, as `item-ids.json`, where every string is a valid id), which the id input names
 * (`vocabularyFile`, with `vocabularySize`), so that a manifest of millions of users stays small.
 */
function towerInputsOnDisk(towerInputs: JsonObject): { record: JsonObject; files: SavedModelFile[] } {
  const files: SavedModelFile[] = [];
  const record: Record<string, JsonValue> = {};
  for (const [side, description] of Object.entries(towerInputs)) {
    const file = VOCABULARY_FILES.get(side);
    const inputs = isJsonObject(description) ? description.inputs : undefined;
    if (file === undefined || !isJsonObject(description) || !Array.isArray(inputs)) {
      record[side] = description;
      continue;
    }
    const moved = (inputs as readonly JsonValue[]).map((input, k): JsonValue => {
      if (!isJsonObject(input) || input.kind !== 'id' || input.vocabulary === undefined) return input;
      const vocabulary = input.vocabulary;
      if (!Array.isArray(vocabulary) || !vocabulary.every((id) => typeof id === 'string')) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `towerInputs.${side}.inputs[${k}].vocabulary: not a list of string ids`,
          'pass the record retrievalTowerInputs(model.weights()) builds',
          { input: `towerInputs.${side}.inputs[${k}].vocabulary` },
        );
      }
      // A tower has one id input; a record with more gets one file per input.
      const path = files.some((written) => written.path === file)
        ? file.replace(/\.json$/, `-${k}.json`)
        : file;
      files.push({ path, role: 'ids', format: 'json', data: JSON.stringify(vocabulary) });
      return vocabularyByFile(input, path, vocabulary.length);
    });
    record[side] = { ...description, inputs: moved };
  }
  return { record, files };
}

/**
 * `towerInputs` as read from a manifest, with every id vocabulary the record names by file
 * (`vocabularyFile`) read back inline, so that it is the record the exporter was given. A record
 * with inline vocabularies (exports written before the vocabulary files) is returned as it is.
 */
function towerInputsInMemory(
  record: JsonObject,
  files: ReadonlyMap<string, Uint8Array>,
  source: string,
): JsonObject {
  const parsed = new Map<string, string[]>();
  const out: Record<string, JsonValue> = {};
  for (const [side, description] of Object.entries(record)) {
    const inputs = isJsonObject(description) ? description.inputs : undefined;
    if (!isJsonObject(description) || !Array.isArray(inputs)) {
      out[side] = description;
      continue;
    }
    const resolved = (inputs as readonly JsonValue[]).map((input, k): JsonValue => {
      if (!isJsonObject(input) || input.vocabulary !== undefined) return input;
      const name = input.vocabularyFile;
      if (typeof name !== 'string') return input;
      const where = `towerInputs.${side}.inputs[${k}]`;
      const path = `${source}/${name}`;
      let vocabulary = parsed.get(name);
      if (vocabulary === undefined) {
        const bytes = files.get(name);
        if (bytes === undefined) {
          throw new RarefyIoError(
            'RAREFY_IO_ERROR',
            `${path}: the id vocabulary that ${where}.vocabularyFile names is not in the export (its manifest.json does not list it)`,
            'copy the whole export folder with its manifest.json, or export the model again',
            { input: path },
          );
        }
        vocabulary = parseIds(bytes, path);
        parsed.set(name, vocabulary);
      }
      if (input.vocabularySize !== undefined && input.vocabularySize !== vocabulary.length) {
        throw new RarefyIoError(
          'RAREFY_PARSE_ERROR',
          `${path}: ${vocabulary.length} ids, but ${where}.vocabularySize is ${JSON.stringify(input.vocabularySize)}`,
          'the vocabulary file does not belong to this manifest: copy the folder again or export the model again',
          { input: path },
        );
      }
      return vocabularyInline(input, vocabulary);
    });
    out[side] = { ...description, inputs: resolved };
  }
  return out;
}

/**
 * The saved-model contents (kind `two-tower`) of a retrieval export, for `writeModelFolder`:
 * ids as JSON arrays, embeddings as little-endian Float32 binaries, towers as ONNX, and each tower's id
 * vocabulary (from `towerInputs`) as a JSON array of its own that the manifest's `towerInputs` names.
 *
 * @param model - the export
 * @returns the folder's manifest fields and files
 * @throws RarefyError when ids and embeddings disagree, an id repeats, or a vocabulary of `towerInputs`
 *   is not a list of strings
 * @example
 * ```ts
 * const contents = retrievalExportContents({ dimension: 2, temperature: 0.05,
 *   items: { ids: ['a', 'b'], embeddings: Float32Array.of(1, 0, 0, 1) } });
 * ```
 */
export function retrievalExportContents(model: RetrievalExport): SavedModelContents<'two-tower'> {
  const { dimension } = model;
  if (!Number.isInteger(dimension) || dimension < 1) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `dimension: ${dimension} is not a positive integer`,
      'pass the embedding width',
      { input: 'dimension' },
    );
  }
  requireSet(model.items, dimension, 'items');
  if (model.users) requireSet(model.users, dimension, 'users');
  const files: SavedModelFile[] = [
    { path: RETRIEVAL_FILES.itemIds, role: 'ids', format: 'json', data: JSON.stringify(model.items.ids) },
    {
      path: RETRIEVAL_FILES.itemEmbeddings,
      role: 'embeddings',
      format: 'float32-le',
      data: float32ToBytes(model.items.embeddings),
    },
  ];
  if (model.users) {
    files.push(
      { path: RETRIEVAL_FILES.userIds, role: 'ids', format: 'json', data: JSON.stringify(model.users.ids) },
      {
        path: RETRIEVAL_FILES.userEmbeddings,
        role: 'embeddings',
        format: 'float32-le',
        data: float32ToBytes(model.users.embeddings),
      },
    );
  }
  if (model.userTower)
    files.push({ path: RETRIEVAL_FILES.userTower, role: 'onnx', format: 'onnx', data: model.userTower });
  if (model.itemTower)
    files.push({ path: RETRIEVAL_FILES.itemTower, role: 'onnx', format: 'onnx', data: model.itemTower });
  const towerInputs = model.towerInputs ? towerInputsOnDisk(model.towerInputs) : null;
  if (towerInputs) files.push(...towerInputs.files);
  if (model.extraFiles) files.push(...model.extraFiles);
  const payload: JsonObject = {
    dimension,
    temperature: model.temperature,
    normalised: true,
    items: {
      count: model.items.ids.length,
      ids: RETRIEVAL_FILES.itemIds,
      embeddings: RETRIEVAL_FILES.itemEmbeddings,
    },
    users: model.users
      ? {
          count: model.users.ids.length,
          ids: RETRIEVAL_FILES.userIds,
          embeddings: RETRIEVAL_FILES.userEmbeddings,
        }
      : null,
    userTower: model.userTower ? RETRIEVAL_FILES.userTower : null,
    itemTower: model.itemTower ? RETRIEVAL_FILES.itemTower : null,
    towerInputs: towerInputs ? towerInputs.record : null,
  };
  return {
    kind: 'two-tower',
    schema: model.schema ?? { features: [], label: null },
    training: model.training ?? { design: 'unknown', estimator: 'unknown', sizes: {}, seed: null },
    model: payload,
    files,
  };
}

function parseIds(bytes: Uint8Array | undefined, source: string): string[] {
  if (bytes === undefined) {
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `${source}: missing from the export`,
      'export the model again',
      {
        input: source,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: not JSON (${error instanceof Error ? error.message : String(error)})`,
      'export the model again',
      { input: source },
    );
  }
  if (!Array.isArray(parsed) || !parsed.every((id) => typeof id === 'string')) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: not an array of string ids`,
      'export the model again',
      {
        input: source,
      },
    );
  }
  return parsed as string[];
}

function fileName(
  payload: JsonObject,
  side: 'items' | 'users',
  key: 'ids' | 'embeddings',
): string | undefined {
  const entry = payload[side];
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return undefined;
  const name = (entry as JsonObject)[key];
  return typeof name === 'string' ? name : undefined;
}

/**
 * Rebuilds a retrieval export from a read saved-model folder's manifest and files (what
 * `readModelFolder` returns); the browser can call it on files it fetched itself. The towers' id
 * vocabularies are read from their files back into `towerInputs` (exports that hold them inline in
 * the manifest, as written before, are read as they are).
 *
 * @param manifest - the folder's manifest (kind `two-tower`)
 * @param files - file name to bytes
 * @param source - the folder, for error messages
 * @returns the export
 * @throws RarefyIoError `RAREFY_PARSE_ERROR` when the kind is not two-tower or a file is malformed
 *   (a vocabulary file that is not a JSON array of strings, or not of the size the manifest gives),
 *   `RAREFY_IO_ERROR` when a file it names is not among `files`
 */
export function retrievalExportFromFiles(
  manifest: ModelManifest,
  files: ReadonlyMap<string, Uint8Array>,
  source: string,
): RetrievalExport {
  if (manifest.kind !== 'two-tower') {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: a ${manifest.kind} model, not a two-tower retrieval export`,
      'point at a folder written by `rarefy train-retrieval --out`',
      { input: source },
    );
  }
  const payload = manifest.model as JsonObject;
  const dimension = payload.dimension;
  if (typeof dimension !== 'number' || !Number.isInteger(dimension) || dimension < 1) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: model.dimension is missing`,
      'export the model again',
      {
        input: source,
      },
    );
  }
  const side = (name: 'items' | 'users'): EmbeddingSet | undefined => {
    const idsFile = fileName(payload, name, 'ids');
    const embeddingsFile = fileName(payload, name, 'embeddings');
    if (idsFile === undefined || embeddingsFile === undefined) return undefined;
    const ids = parseIds(files.get(idsFile), `${source}/${idsFile}`);
    const bytes = files.get(embeddingsFile);
    if (bytes === undefined) {
      throw new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${source}/${embeddingsFile}: missing`,
        'export the model again',
        {
          input: `${source}/${embeddingsFile}`,
        },
      );
    }
    const embeddings = bytesToFloat32(bytes, `${source}/${embeddingsFile}`);
    if (embeddings.length !== ids.length * dimension) {
      throw new RarefyIoError(
        'RAREFY_PARSE_ERROR',
        `${source}/${embeddingsFile}: ${embeddings.length} values for ${ids.length} ids of dimension ${dimension}`,
        'export the model again: ids and embeddings do not match',
        { input: `${source}/${embeddingsFile}` },
      );
    }
    return { ids, embeddings };
  };
  const items = side('items');
  if (items === undefined) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: the export has no item embeddings`,
      'export the model again',
      {
        input: source,
      },
    );
  }
  const users = side('users');
  const tower = (key: 'userTower' | 'itemTower'): Uint8Array | undefined => {
    const name = payload[key];
    return typeof name === 'string' ? files.get(name) : undefined;
  };
  const userTower = tower('userTower');
  const itemTower = tower('itemTower');
  const towerInputs = isJsonObject(payload.towerInputs)
    ? towerInputsInMemory(payload.towerInputs, files, source)
    : undefined;
  return {
    dimension,
    temperature: typeof payload.temperature === 'number' ? payload.temperature : 1,
    items,
    ...(users ? { users } : {}),
    ...(userTower ? { userTower } : {}),
    ...(itemTower ? { itemTower } : {}),
    ...(towerInputs ? { towerInputs } : {}),
    schema: manifest.schema,
    training: manifest.training,
  };
}
