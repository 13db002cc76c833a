import { type ColumnType, RarefyIoError } from '@rarefy/sampling-core';

/** The saved-model format version this package writes and reads. */
export const MODEL_FORMAT_VERSION = 1;

/** The kinds of saved models (DESIGN.md "What a saved model is"). */
export type ModelKind = 'logistic' | 'neural' | 'two-tower';

/** Every {@link ModelKind}. */
export const MODEL_KINDS: readonly ModelKind[] = ['logistic', 'neural', 'two-tower'];

/** The name of the manifest file in a saved-model folder. */
export const MANIFEST_FILE = 'manifest.json';

/** A JSON value (what a manifest may hold). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { readonly [key: string]: JsonValue };

/** One input column of a saved model. */
export interface SchemaFeature {
  readonly name: string;
  readonly type: ColumnType;
}

/**
 * How categorical values become the integer ids a model takes. ONNX has no standard string hash, so
 * every reader of a model hashes the same way from this record (ALGORITHMS.md B.10).
 */
export interface FeatureHashing {
  /** The hash function's name and version, e.g. `murmur3-32`. */
  readonly function: string;
  readonly seed: number;
  /** Buckets per column (ids are in [0, buckets)). */
  readonly buckets: number;
  /** The columns hashed. */
  readonly columns: readonly string[];
  readonly [key: string]: JsonValue;
}

/** The columns a saved model reads. */
export interface ModelSchema {
  /** Input columns in the model's order. */
  readonly features: readonly SchemaFeature[];
  /** The label column it was trained on (null when unknown). */
  readonly label: string | null;
  readonly hashing?: FeatureHashing;
}

/**
 * How a saved model was trained. `design`, `estimator`, `sizes` and `seed` are always there; kinds
 * add their own facts (interceptCorrection, epochs, ...).
 */
export interface TrainingRecord {
  /** The sampling design (`balanced` for a pilot, `optA`, `uniform`, ...; `unknown` when not known). */
  readonly design: string;
  /** `case-control` for a pilot, `log-odds` or `ipw` for a corrected model, `unknown` when not known. */
  readonly estimator: string;
  /** Row counts: sample and population sizes by class, pilot sizes. */
  readonly sizes: { readonly [key: string]: number };
  readonly seed: number | string | null;
  readonly [key: string]: JsonValue | undefined;
}

/** What a file in a saved model holds. */
export type ModelFileRole = 'coefficients' | 'onnx' | 'weights' | 'embeddings' | 'ids' | 'config';

/** How a file in a saved model is encoded. */
export type ModelFileFormat = 'json' | 'onnx' | 'float32-le' | 'binary';

/** One file listed in a manifest. */
export interface ManifestFile {
  /** A plain file name inside the folder (no directories). */
  readonly path: string;
  readonly role: ModelFileRole;
  readonly format: ModelFileFormat;
  /** Size in bytes (checked on load). */
  readonly bytes: number;
  /** Hex SHA-256 of the content (checked on load). */
  readonly sha256: string;
}

/** The per-kind payload of a logistic model's manifest. */
export interface LogisticModelPayload {
  /** The file with `{ names, coefficients, intercept }`. */
  readonly coefficients: string;
  /** Whether the first coefficient is an intercept. */
  readonly intercept: boolean;
  /** The exported ONNX model's file, or null when none was written. */
  readonly onnx: string | null;
}

/**
 * The per-kind payload (`model` in the manifest). Kinds other than logistic define their own
 * JSON object (architecture, embedding files, ...), written by the package that owns the kind.
 */
export interface ModelPayloads {
  readonly logistic: LogisticModelPayload;
  readonly neural: JsonObject;
  readonly 'two-tower': JsonObject;
}

/** `manifest.json` of a saved model. */
export interface ModelManifest<K extends ModelKind = ModelKind> {
  readonly kind: K;
  readonly formatVersion: typeof MODEL_FORMAT_VERSION;
  readonly schema: ModelSchema;
  readonly training: TrainingRecord;
  /** Every file of the folder but the manifest. */
  readonly files: readonly ManifestFile[];
  /** The kind's own description. */
  readonly model: ModelPayloads[K];
  /** The package that wrote the folder. */
  readonly producer: { readonly name: string; readonly version: string };
}

const COLUMN_TYPES: readonly ColumnType[] = ['number', 'label', 'integer', 'string'];
const FILE_ROLES: readonly ModelFileRole[] = [
  'coefficients',
  'onnx',
  'weights',
  'embeddings',
  'ids',
  'config',
];
const FILE_FORMATS: readonly ModelFileFormat[] = ['json', 'onnx', 'float32-le', 'binary'];

/**
 * Whether `path` is a plain file name that stays inside the folder (no separators, not `.`/`..`,
 * not the manifest, no control characters).
 *
 * @param path - the candidate name
 * @returns true when it is safe
 * @example
 * ```ts
 * isPlainFileName('model.onnx'); // true
 * isPlainFileName('../x'); // false
 * ```
 */
export function isPlainFileName(path: string): boolean {
  return (
    path.length > 0 &&
    path.length <= 255 &&
    path !== '.' &&
    path !== '..' &&
    path !== MANIFEST_FILE &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is rejected
    !/[/\\:\u0000-\u001f]/.test(path)
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a parsed `manifest.json` and returns it typed. Every problem is a `RAREFY_PARSE_ERROR`
 * naming the file, the field and what to do.
 *
 * @param value - the parsed JSON
 * @param source - the manifest's path, for messages
 * @returns the manifest
 * @throws RarefyIoError `RAREFY_PARSE_ERROR`
 * @example
 * ```ts
 * const manifest = validateManifest(JSON.parse(text), 'model/manifest.json');
 * ```
 */
export function validateManifest(value: unknown, source: string): ModelManifest {
  const fail = (problem: string, fix: string): never => {
    throw new RarefyIoError('RAREFY_PARSE_ERROR', `${source}: ${problem}`, fix, { input: source });
  };
  const resave = 'save the model again with `rarefy fit --save` (or saveModel)';
  if (!isObject(value)) return fail('is not a JSON object', resave);
  const kind = value.kind;
  if (typeof kind !== 'string' || !(MODEL_KINDS as readonly string[]).includes(kind)) {
    return fail(
      `unknown model kind ${JSON.stringify(kind)} (known: ${MODEL_KINDS.join(', ')})`,
      'point at a folder written by @rarefy/pilot-model or @rarefy/two-tower, or upgrade Rarefy if a newer version wrote it',
    );
  }
  const version = value.formatVersion;
  if (version !== MODEL_FORMAT_VERSION) {
    return fail(
      `formatVersion ${JSON.stringify(version)} is not supported (this version reads ${MODEL_FORMAT_VERSION})`,
      typeof version === 'number' && version > MODEL_FORMAT_VERSION
        ? 'upgrade @rarefy/pilot-model to read it'
        : resave,
    );
  }
  const schema = value.schema;
  if (!isObject(schema) || !Array.isArray(schema.features)) {
    return fail('schema.features is missing', resave);
  }
  schema.features.forEach((feature: unknown, k: number) => {
    if (
      !isObject(feature) ||
      typeof feature.name !== 'string' ||
      feature.name.length === 0 ||
      !(COLUMN_TYPES as readonly unknown[]).includes(feature.type)
    ) {
      fail(`schema.features[${k}] is not { name, type } with type one of ${COLUMN_TYPES.join(', ')}`, resave);
    }
  });
  if (schema.label !== null && typeof schema.label !== 'string')
    fail('schema.label is not a string or null', resave);
  if (schema.hashing !== undefined) {
    const hashing = schema.hashing;
    if (
      !isObject(hashing) ||
      typeof hashing.function !== 'string' ||
      typeof hashing.seed !== 'number' ||
      typeof hashing.buckets !== 'number' ||
      !Array.isArray(hashing.columns)
    ) {
      fail('schema.hashing is not { function, seed, buckets, columns }', resave);
    }
  }
  const training = value.training;
  if (
    !isObject(training) ||
    typeof training.design !== 'string' ||
    typeof training.estimator !== 'string' ||
    !isObject(training.sizes) ||
    !Object.values(training.sizes).every((size) => typeof size === 'number') ||
    !(training.seed === null || typeof training.seed === 'number' || typeof training.seed === 'string')
  ) {
    fail('training is not { design, estimator, sizes, seed }', resave);
  }
  if (!Array.isArray(value.files)) return fail('files is missing', resave);
  const paths = new Set<string>();
  value.files.forEach((file: unknown, k: number) => {
    if (
      !isObject(file) ||
      typeof file.path !== 'string' ||
      !(FILE_ROLES as readonly unknown[]).includes(file.role) ||
      !(FILE_FORMATS as readonly unknown[]).includes(file.format) ||
      typeof file.bytes !== 'number' ||
      typeof file.sha256 !== 'string'
    ) {
      fail(`files[${k}] is not { path, role, format, bytes, sha256 }`, resave);
      return;
    }
    if (!isPlainFileName(file.path)) {
      fail(
        `files[${k}].path ${JSON.stringify(file.path)} is not a plain file name inside the folder`,
        resave,
      );
    }
    if (paths.has(file.path)) fail(`files lists ${JSON.stringify(file.path)} twice`, resave);
    paths.add(file.path);
  });
  if (!isObject(value.model)) return fail('model (the kind’s description) is missing', resave);
  if (!isObject(value.producer)) return fail('producer is missing', resave);
  if (kind === 'logistic') {
    const model = value.model;
    if (typeof model.coefficients !== 'string' || !paths.has(model.coefficients)) {
      fail('model.coefficients does not name a file listed in files', resave);
    }
    if (typeof model.intercept !== 'boolean') fail('model.intercept is not a boolean', resave);
    if (model.onnx !== null && (typeof model.onnx !== 'string' || !paths.has(model.onnx))) {
      fail('model.onnx is neither null nor a file listed in files', resave);
    }
  }
  return value as unknown as ModelManifest;
}
