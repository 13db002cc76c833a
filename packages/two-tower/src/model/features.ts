import { FEATURE_HASH_FUNCTION, hashFeature, type NeuralFeatureHashing } from '@rarefy/model-kit';
import { RarefyInputError } from '@rarefy/sampling-core';

/** The id embedding of a tower: one trained row per id seen in training, plus a shared unknown row. */
export interface IdFeatureSpec {
  /** Width of the id embedding. */
  readonly dimension: number;
  /**
   * During training, the probability of replacing a row's id by the shared unknown row, so that the
   * unknown row (what an id never seen in training gets: cold start) is trained together with the
   * other features. Default 0.1 when the tower has other features, else 0.
   */
  readonly dropout?: number;
}

/** A categorical column hashed into `buckets` rows of an embedding table (`hashFeature`). */
export interface CategoricalFeatureSpec {
  /** The column of the feature table. */
  readonly column: string;
  /** Rows of the embedding table (hash buckets). */
  readonly buckets: number;
  /** Width of the embedding. */
  readonly dimension: number;
  /** The hash seed, an unsigned 32-bit integer (default 0). */
  readonly hashSeed?: number;
}

/**
 * A multi-valued categorical column (e.g. genres `"Comedy|Drama"`): each value is hashed into the
 * table and the embedding is the mean of the values' rows (zeros when the row has no value).
 */
export interface MultiHotFeatureSpec extends CategoricalFeatureSpec {
  /** What separates the values inside one cell (default `|`). */
  readonly separator?: string;
}

/** A numeric column, standardised with the training table's mean and standard deviation. */
export interface NumericFeatureSpec {
  /** The column of the feature table. */
  readonly column: string;
}

/**
 * How one tower (users or items) is built: the inputs (id embedding, hashed categoricals, multi-hot
 * sets, numeric columns) are concatenated in that order, go through an MLP with `hidden` layers, a
 * linear output layer of `outputDimension` and an L2 normalisation (ALGORITHMS.md B.3).
 */
export interface TowerSpec {
  /** The id embedding (default `{ dimension: 64 }` when the tower has no other feature; else none). */
  readonly id?: IdFeatureSpec;
  /** Hashed categorical columns. */
  readonly categorical?: readonly CategoricalFeatureSpec[];
  /** Multi-hot columns (mean of the values' rows). */
  readonly multiHot?: readonly MultiHotFeatureSpec[];
  /** Numeric columns. */
  readonly numeric?: readonly NumericFeatureSpec[];
  /** Widths of the hidden layers (default `[128]`; `[]` is a linear map to the output). */
  readonly hidden?: readonly number[];
  /** Width of the tower's output embedding (default 64; both towers must agree). */
  readonly outputDimension?: number;
  /** Activation of the hidden layers (default `relu`). */
  readonly activation?: 'relu' | 'tanh';
}

/** A {@link TowerSpec} with every default filled in (what a model stores and exports). */
export interface ResolvedTowerSpec {
  readonly id: { readonly dimension: number; readonly dropout: number } | null;
  readonly categorical: readonly Required<CategoricalFeatureSpec>[];
  readonly multiHot: readonly Required<MultiHotFeatureSpec>[];
  readonly numeric: readonly NumericFeatureSpec[];
  readonly hidden: readonly number[];
  readonly outputDimension: number;
  readonly activation: 'relu' | 'tanh';
}

/** One value of a feature-table cell: a string, a number, or null (missing). */
export type FeatureValue = string | number | null;

/**
 * Optional features of the users or the items of an {@link InteractionData}. Rows are matched to the
 * data by id (`ids[r]` is the id of row r), so the table may list them in any order, miss some (their
 * features are missing: hashed as the empty string, numeric at the training mean, no multi-hot value)
 * or list ids the data lacks (used for cold start).
 */
export interface FeatureTable {
  /** The id of each row, each at most once. */
  readonly ids: readonly string[];
  /** Columns by name, one value per row. */
  readonly columns: Readonly<Record<string, readonly FeatureValue[]>>;
}

/** Multi-hot values of many rows, as compressed sparse rows. */
export interface MultiHotRows {
  /** Row r's buckets are `buckets[offsets[r] .. offsets[r + 1])`; `offsets` has rows + 1 entries. */
  readonly offsets: Int32Array;
  /** The concatenated buckets. */
  readonly buckets: Int32Array;
}

/** The features of a list of users or items, encoded once into typed arrays for training and embedding. */
export interface EncodedFeatures {
  /** The number of encoded rows (users or items). */
  readonly rows: number;
  /** Per row: its row of the id table (0 = the unknown row); all 0 when the tower has no id embedding. */
  readonly idRows: Int32Array;
  /** Per categorical feature (spec order): the bucket of every row. */
  readonly categorical: readonly Int32Array[];
  /** Per multi-hot feature (spec order): the buckets of every row. */
  readonly multiHot: readonly MultiHotRows[];
  /** Standardised numeric features, rows x numeric.length, row-major (missing values are 0). */
  readonly numeric: Float32Array;
}

/** Means and standard deviations of a tower's numeric columns (spec order). */
export interface NumericStandardisation {
  readonly means: Float64Array;
  readonly sds: Float64Array;
}

const DEFAULT_ID_DIMENSION = 64;
const DEFAULT_HIDDEN: readonly number[] = [128];
const DEFAULT_OUTPUT = 64;
const DEFAULT_DROPOUT = 0.1;

function invalid(input: string, problem: string, fix: string): RarefyInputError {
  return new RarefyInputError('RAREFY_INVALID_ARGUMENT', `${input}: ${problem}`, fix, { input });
}

function requirePositiveInteger(value: number, input: string, fix: string): void {
  if (!(Number.isInteger(value) && value >= 1))
    throw invalid(input, `${value} is not a positive integer`, fix);
}

function checkTable(
  feature: CategoricalFeatureSpec,
  input: string,
): { buckets: number; dimension: number; hashSeed: number } {
  if (typeof feature.column !== 'string' || feature.column.length === 0) {
    throw invalid(
      `${input}.column`,
      `${JSON.stringify(feature.column)} is not a column name`,
      'name a column',
    );
  }
  const buckets = feature.buckets;
  if (!(Number.isInteger(buckets) && buckets >= 1 && buckets < 2 ** 31)) {
    throw invalid(`${input}.buckets`, `${buckets} is not a bucket count`, 'pass an integer in [1, 2^31)');
  }
  requirePositiveInteger(feature.dimension, `${input}.dimension`, 'pass the embedding width, e.g. 16');
  const hashSeed = feature.hashSeed ?? 0;
  if (!(Number.isInteger(hashSeed) && hashSeed >= 0 && hashSeed < 2 ** 32)) {
    throw invalid(
      `${input}.hashSeed`,
      `${hashSeed} is not an unsigned 32-bit seed`,
      'pass an integer in [0, 2^32)',
    );
  }
  return { buckets, dimension: feature.dimension, hashSeed };
}

/**
 * Fills in a tower spec's defaults and checks it.
 *
 * @param spec - the spec (undefined: an id embedding of 64, hidden [128], output 64)
 * @param input - the option's name, for errors (`userTower`, `itemTower`)
 * @returns the resolved spec
 * @throws RarefyInputError `RAREFY_INVALID_ARGUMENT` naming the field at fault
 * @example
 * ```ts
 * const spec = resolveTowerSpec({ id: { dimension: 32 }, multiHot: [{ column: 'genres', buckets: 64, dimension: 16 }] }, 'itemTower');
 * spec.id?.dropout; // 0.1: the tower has another feature
 * ```
 */
export function resolveTowerSpec(spec: TowerSpec | undefined, input: string): ResolvedTowerSpec {
  const source = spec ?? {};
  const categorical = (source.categorical ?? []).map((feature, k) => ({
    column: feature.column,
    ...checkTable(feature, `${input}.categorical[${k}]`),
  }));
  const multiHot = (source.multiHot ?? []).map((feature, k) => {
    const separator = feature.separator ?? '|';
    if (typeof separator !== 'string' || separator.length === 0) {
      throw invalid(`${input}.multiHot[${k}].separator`, 'is empty', "pass a non-empty separator, e.g. '|'");
    }
    return { column: feature.column, ...checkTable(feature, `${input}.multiHot[${k}]`), separator };
  });
  const numeric = (source.numeric ?? []).map((feature, k) => {
    if (typeof feature.column !== 'string' || feature.column.length === 0) {
      throw invalid(
        `${input}.numeric[${k}].column`,
        `${JSON.stringify(feature.column)} is not a column name`,
        'name a column',
      );
    }
    return { column: feature.column };
  });
  const hasOthers = categorical.length + multiHot.length + numeric.length > 0;
  let id: ResolvedTowerSpec['id'] = null;
  const idSpec = source.id ?? (hasOthers ? undefined : { dimension: DEFAULT_ID_DIMENSION });
  if (idSpec !== undefined) {
    requirePositiveInteger(idSpec.dimension, `${input}.id.dimension`, 'pass the id embedding width, e.g. 64');
    const dropout = idSpec.dropout ?? (hasOthers ? DEFAULT_DROPOUT : 0);
    if (!(Number.isFinite(dropout) && dropout >= 0 && dropout < 1)) {
      throw invalid(
        `${input}.id.dropout`,
        `${dropout} is not a probability in [0, 1)`,
        'pass e.g. 0.1 (or 0 for none)',
      );
    }
    id = { dimension: idSpec.dimension, dropout };
  }
  const columns = [
    ...categorical.map((f) => f.column),
    ...multiHot.map((f) => f.column),
    ...numeric.map((f) => f.column),
  ];
  const repeated = columns.find((column, k) => columns.indexOf(column) !== k);
  if (repeated !== undefined) {
    throw invalid(
      input,
      `uses the column ${JSON.stringify(repeated)} twice`,
      'list every column in one feature only',
    );
  }
  const hidden = [...(source.hidden ?? DEFAULT_HIDDEN)];
  hidden.forEach((width, k) => {
    requirePositiveInteger(
      width,
      `${input}.hidden[${k}]`,
      'give every hidden layer a positive width, e.g. 128',
    );
  });
  const outputDimension = source.outputDimension ?? DEFAULT_OUTPUT;
  requirePositiveInteger(outputDimension, `${input}.outputDimension`, 'pass the embedding width, e.g. 64');
  const activation = source.activation ?? 'relu';
  if (activation !== 'relu' && activation !== 'tanh') {
    throw invalid(
      `${input}.activation`,
      `${JSON.stringify(activation)} is not an activation`,
      "use 'relu' or 'tanh'",
    );
  }
  return { id, categorical, multiHot, numeric, hidden, outputDimension, activation };
}

/**
 * Checks a resolved spec (e.g. one read back from saved weights) and returns it re-resolved.
 *
 * @param spec - a spec with every default filled in
 * @param input - its name, for errors
 * @returns the spec, checked
 * @throws RarefyInputError naming the field at fault
 */
export function checkResolvedSpec(spec: ResolvedTowerSpec, input: string): ResolvedTowerSpec {
  const { id, ...rest } = spec;
  const resolved = resolveTowerSpec(id === null ? rest : { ...rest, id }, input);
  if (id === null && resolved.id !== null) {
    throw invalid(input, 'has no feature at all', 'give the tower an id embedding or a feature');
  }
  return resolved;
}

/**
 * The width of a tower's input row: id dimension + categorical and multi-hot dimensions + numeric columns.
 *
 * @param spec - a resolved spec
 * @returns the number of input columns
 */
export function towerInputSize(spec: ResolvedTowerSpec): number {
  let size = spec.id?.dimension ?? 0;
  for (const feature of spec.categorical) size += feature.dimension;
  for (const feature of spec.multiHot) size += feature.dimension;
  return size + spec.numeric.length;
}

/**
 * The hashing record of a categorical or multi-hot feature (what an export writes so that every
 * runtime hashes the same way).
 *
 * @param feature - a resolved categorical or multi-hot feature
 * @returns function, seed, buckets and the missing-value convention
 */
export function featureHashing(feature: Required<CategoricalFeatureSpec>): NeuralFeatureHashing {
  return { function: FEATURE_HASH_FUNCTION, seed: feature.hashSeed, buckets: feature.buckets, missing: '' };
}

/**
 * Checks a feature table against a spec: ids are distinct strings, every column the spec reads exists
 * and has one value per id, numeric columns hold finite numbers or null.
 *
 * @param table - the table
 * @param spec - the tower it feeds
 * @param input - the option's name (`userFeatures`, `itemFeatures`)
 * @throws RarefyInputError naming the table, the column and the row at fault
 */
export function validateFeatureTable(table: FeatureTable, spec: ResolvedTowerSpec, input: string): void {
  if (!Array.isArray(table.ids)) {
    throw invalid(`${input}.ids`, 'is not an array', 'pass one id string per row');
  }
  const seen = new Set<string>();
  table.ids.forEach((id, row) => {
    if (typeof id !== 'string') {
      throw invalid(
        `${input}.ids`,
        `row ${row} is ${JSON.stringify(id)}, not a string`,
        'pass ids as strings',
      );
    }
    if (seen.has(id)) {
      throw invalid(
        `${input}.ids`,
        `the id ${JSON.stringify(id)} appears twice (row ${row})`,
        'give each id one row',
      );
    }
    seen.add(id);
  });
  const columns = [
    ...spec.categorical.map((f) => f.column),
    ...spec.multiHot.map((f) => f.column),
    ...spec.numeric.map((f) => f.column),
  ];
  for (const column of columns) {
    const values = table.columns[column];
    if (values === undefined) {
      throw invalid(
        `${input}.columns`,
        `has no column ${JSON.stringify(column)} (it has ${Object.keys(table.columns).join(', ') || 'none'})`,
        'add the column to the table, or remove the feature from the tower spec',
      );
    }
    if (values.length !== table.ids.length) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `${input}.columns.${column}: ${values.length} values for ${table.ids.length} ids`,
        'give every column one value per id (null for missing)',
        { input: `${input}.columns.${column}` },
      );
    }
  }
  for (const { column } of spec.numeric) {
    const values = table.columns[column] as readonly FeatureValue[];
    for (let row = 0; row < values.length; row++) {
      const value = values[row];
      if (value !== null && value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) {
        throw new RarefyInputError(
          typeof value === 'number' ? 'RAREFY_NON_FINITE' : 'RAREFY_INVALID_ARGUMENT',
          `${input}.columns.${column}: row ${row} is ${JSON.stringify(value)}, not a finite number`,
          'pass numbers (null for missing) in numeric columns, or declare the column categorical',
          { input: `${input}.columns.${column}`, row },
        );
      }
    }
  }
}

/**
 * Means and standard deviations of the spec's numeric columns over the table's non-missing values
 * (the training statistics; a column with no value or no spread gets mean 0 / sd 1 as needed).
 *
 * @param spec - the tower spec
 * @param table - the feature table (undefined: no numeric column can be read, all means 0, sds 1)
 * @returns the standardisation
 */
export function fitStandardisation(
  spec: ResolvedTowerSpec,
  table: FeatureTable | undefined,
): NumericStandardisation {
  const p = spec.numeric.length;
  const means = new Float64Array(p);
  const sds = new Float64Array(p).fill(1);
  if (table === undefined) return { means, sds };
  spec.numeric.forEach(({ column }, j) => {
    const values = table.columns[column] ?? [];
    let count = 0;
    let sum = 0;
    for (const value of values) {
      if (typeof value === 'number') {
        count++;
        sum += value;
      }
    }
    if (count === 0) return;
    const mean = sum / count;
    let squares = 0;
    for (const value of values) if (typeof value === 'number') squares += (value - mean) ** 2;
    const sd = Math.sqrt(squares / count);
    means[j] = mean;
    sds[j] = sd > 0 && Number.isFinite(sd) ? sd : 1;
  });
  return { means, sds };
}

/** Hashes one categorical cell (missing: the empty string), caching per distinct value. */
function bucketOf(
  value: FeatureValue | undefined,
  feature: Required<CategoricalFeatureSpec>,
  cache: Map<string, number>,
): number {
  const text = value === null || value === undefined ? '' : String(value);
  let bucket = cache.get(text);
  if (bucket === undefined) {
    bucket = hashFeature(text, feature.hashSeed, feature.buckets);
    cache.set(text, bucket);
  }
  return bucket;
}

/**
 * Turns the raw features of a tower into what it computes with: the id vocabulary (which ids have a
 * trained row), the numeric standardisation, and the spec's hashing. Encodes lists of ids with their
 * feature table into {@link EncodedFeatures}: an id outside the vocabulary (never seen in training)
 * gets the unknown row 0, so a new user or item is embedded from its features alone (cold start).
 */
export class FeatureEncoder {
  /** The tower's spec. */
  readonly spec: ResolvedTowerSpec;
  /** Ids with their own row of the id table: `vocabulary[k]` owns row k + 1 (row 0 is the unknown row). */
  readonly vocabulary: readonly string[];
  /** Numeric standardisation (training means and sds). */
  readonly standardisation: NumericStandardisation;
  private readonly rowOfId: Map<string, number>;

  /**
   * @param spec - the resolved spec
   * @param vocabulary - ids with a trained id row, in row order (row k + 1)
   * @param standardisation - numeric means and sds, one per numeric column
   */
  constructor(
    spec: ResolvedTowerSpec,
    vocabulary: readonly string[],
    standardisation: NumericStandardisation,
  ) {
    this.spec = spec;
    this.vocabulary = vocabulary;
    this.standardisation = standardisation;
    this.rowOfId = new Map(vocabulary.map((id, k) => [id, k + 1]));
    if (this.rowOfId.size !== vocabulary.length) {
      throw invalid('vocabulary', 'lists an id twice', 'pass distinct ids');
    }
    if (
      standardisation.means.length !== spec.numeric.length ||
      standardisation.sds.length !== spec.numeric.length
    ) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `standardisation: ${standardisation.means.length} means and ${standardisation.sds.length} sds for ${spec.numeric.length} numeric columns`,
        'pass one mean and one sd per numeric column',
        { input: 'standardisation' },
      );
    }
  }

  /** Rows of the id table: the vocabulary plus the unknown row. */
  get idRows(): number {
    return this.vocabulary.length + 1;
  }

  /**
   * The id-table row of an id: its own row when it was seen in training, else 0 (unknown).
   *
   * @param id - a user or item id
   */
  idRow(id: string): number {
    return this.rowOfId.get(id) ?? 0;
  }

  /**
   * Encodes the features of `ids`, read from `table` by id (ids missing from the table get missing
   * features).
   *
   * @param ids - the users or items to encode, in the order wanted
   * @param table - their feature table (optional when the spec has only an id embedding)
   * @param input - the table's option name, for errors
   * @returns the encoded rows
   * @throws RarefyInputError when the table does not fit the spec
   */
  encode(ids: readonly string[], table: FeatureTable | undefined, input = 'features'): EncodedFeatures {
    const spec = this.spec;
    const n = ids.length;
    if (table !== undefined) validateFeatureTable(table, spec, input);
    let tableRow: Int32Array | undefined;
    if (table !== undefined) {
      const rowOf = new Map<string, number>();
      table.ids.forEach((id, row) => {
        rowOf.set(id, row);
      });
      tableRow = new Int32Array(n);
      for (let i = 0; i < n; i++) tableRow[i] = rowOf.get(ids[i] as string) ?? -1;
    }
    const cell = (column: string, i: number): FeatureValue | undefined => {
      if (table === undefined || tableRow === undefined) return undefined;
      const row = tableRow[i] as number;
      return row < 0 ? undefined : table.columns[column]?.[row];
    };
    const idRows = new Int32Array(n);
    if (spec.id !== null) for (let i = 0; i < n; i++) idRows[i] = this.idRow(ids[i] as string);
    const categorical = spec.categorical.map((feature) => {
      const cache = new Map<string, number>();
      const buckets = new Int32Array(n);
      for (let i = 0; i < n; i++) buckets[i] = bucketOf(cell(feature.column, i), feature, cache);
      return buckets;
    });
    const multiHot = spec.multiHot.map((feature): MultiHotRows => {
      const cache = new Map<string, number>();
      const offsets = new Int32Array(n + 1);
      const values: number[] = [];
      for (let i = 0; i < n; i++) {
        const value = cell(feature.column, i);
        if (value !== null && value !== undefined) {
          for (const token of String(value).split(feature.separator)) {
            if (token.length > 0) values.push(bucketOf(token, feature, cache));
          }
        }
        offsets[i + 1] = values.length;
      }
      return { offsets, buckets: Int32Array.from(values) };
    });
    const p = spec.numeric.length;
    const numeric = new Float32Array(n * p);
    spec.numeric.forEach(({ column }, j) => {
      const mean = this.standardisation.means[j] as number;
      const sd = this.standardisation.sds[j] as number;
      for (let i = 0; i < n; i++) {
        const value = cell(column, i);
        numeric[i * p + j] = typeof value === 'number' ? (value - mean) / sd : 0;
      }
    });
    return { rows: n, idRows, categorical, multiHot, numeric };
  }
}
