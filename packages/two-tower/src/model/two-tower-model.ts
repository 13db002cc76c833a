import { RarefyInputError, type Rng } from '@rarefy/sampling-core';
import {
  checkResolvedSpec,
  type EncodedFeatures,
  FeatureEncoder,
  type FeatureTable,
  fitStandardisation,
  type ResolvedTowerSpec,
  resolveTowerSpec,
  type TowerSpec,
} from './features.js';
import { Tower } from './tower.js';
import { type TwoTowerWeights, towerParametersOf, towerWeights } from './weights.js';

/** Default temperature tau of the scores (ALGORITHMS.md B.3). */
export const DEFAULT_TEMPERATURE = 0.05;

/** Options of {@link TwoTowerModel.initialise}. */
export interface TwoTowerModelOptions {
  /** The user dictionary (index -> id) of the training data. */
  readonly userIds: readonly string[];
  /** The item dictionary (the catalogue). */
  readonly itemIds: readonly string[];
  /** Users with their own id row (seen in training); others map to the unknown row. Default: all. */
  readonly userVocabulary?: readonly string[];
  /** Items with their own id row; default all. */
  readonly itemVocabulary?: readonly string[];
  /** The query tower (default: id embedding 64, hidden [128], output 64). */
  readonly userTower?: TowerSpec;
  /** The candidate tower (same default). */
  readonly itemTower?: TowerSpec;
  /** User features, matched to `userIds` by id. */
  readonly userFeatures?: FeatureTable;
  /** Item features, matched to `itemIds` by id. */
  readonly itemFeatures?: FeatureTable;
  /** tau (default 0.05). */
  readonly temperature?: number;
  /** Initialises the tables and layers. */
  readonly rng: Rng;
}

/** Options of {@link TwoTowerModel.fromWeights}. */
export interface FromWeightsOptions {
  /** User features (needed for the same user embeddings when the user tower reads features). */
  readonly userFeatures?: FeatureTable;
  /** Item features (likewise for items). */
  readonly itemFeatures?: FeatureTable;
}

function checkIndices(indices: ArrayLike<number>, size: number, input: string, fix: string): Int32Array {
  const rows = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const value = indices[k] as number;
    if (!(Number.isInteger(value) && value >= 0 && value < size)) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${input}: entry ${k} is ${value}, outside [0, ${size})`,
        fix,
        { input, index: k, value },
      );
    }
    rows[k] = value;
  }
  return rows;
}

function checkTemperature(temperature: number): void {
  if (!(Number.isFinite(temperature) && temperature > 0)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `temperature: ${temperature} is not a positive number`,
      'pass tau > 0 (0.05 is the default; Yi et al. found 0.05-0.07 best)',
      { input: 'temperature' },
    );
  }
}

function checkDimensions(user: ResolvedTowerSpec, item: ResolvedTowerSpec): void {
  if (user.outputDimension !== item.outputDimension) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `userTower.outputDimension: ${user.outputDimension}, but itemTower.outputDimension is ${item.outputDimension}`,
      'give both towers the same output dimension (default 64)',
      { input: 'userTower.outputDimension' },
    );
  }
}

/**
 * A two-tower retrieval model (ALGORITHMS.md B.3): a query tower u(user) and a candidate tower
 * v(item), each an MLP over id, hashed categorical, multi-hot and numeric features with an
 * L2-normalised output. The training score is `<u, v> / temperature`; retrieval ranks by `<u, v>`.
 * Users and items are addressed by their index in the training data's `userIds` / `itemIds`; a user
 * or item never seen in training is embedded from its features alone (its id maps to the shared
 * unknown row) with {@link embedNewUsers} / {@link embedNewItems}.
 *
 * Built by `trainTwoTower` or {@link fromWeights}. A tfjs backend must be ready; call
 * {@link dispose} to free the tfjs variables.
 */
export class TwoTowerModel {
  /** The query tower. */
  readonly userTower: Tower;
  /** The candidate tower. */
  readonly itemTower: Tower;
  /** Encodes user features (vocabulary, standardisation, hashing). */
  readonly userEncoder: FeatureEncoder;
  /** Encodes item features. */
  readonly itemEncoder: FeatureEncoder;
  /** Encoded features of `userIds`. */
  readonly userFeatures: EncodedFeatures;
  /** Encoded features of `itemIds`. */
  readonly itemFeatures: EncodedFeatures;
  /** The user dictionary of the training data. */
  readonly userIds: readonly string[];
  /** The item dictionary (the catalogue). */
  readonly itemIds: readonly string[];
  /** tau. */
  readonly temperature: number;
  /** Width of the embeddings. */
  readonly dimension: number;
  private disposed = false;

  private constructor(parts: {
    userTower: Tower;
    itemTower: Tower;
    userEncoder: FeatureEncoder;
    itemEncoder: FeatureEncoder;
    userFeatures: EncodedFeatures;
    itemFeatures: EncodedFeatures;
    userIds: readonly string[];
    itemIds: readonly string[];
    temperature: number;
  }) {
    this.userTower = parts.userTower;
    this.itemTower = parts.itemTower;
    this.userEncoder = parts.userEncoder;
    this.itemEncoder = parts.itemEncoder;
    this.userFeatures = parts.userFeatures;
    this.itemFeatures = parts.itemFeatures;
    this.userIds = parts.userIds;
    this.itemIds = parts.itemIds;
    this.temperature = parts.temperature;
    this.dimension = parts.userTower.outputDimension;
  }

  /**
   * A freshly initialised model (what `trainTwoTower` starts from): specs resolved, features encoded
   * once, numeric columns standardised with the feature tables' statistics, tables and layers drawn
   * from `rng`.
   *
   * @param options - dictionaries, vocabularies, specs, feature tables, tau and the generator
   * @returns the model
   * @throws RarefyInputError for a bad spec, feature table or temperature
   * @example
   * ```ts
   * const model = TwoTowerModel.initialise({ userIds, itemIds, rng: createRng(1) });
   * ```
   */
  static initialise(options: TwoTowerModelOptions): TwoTowerModel {
    const temperature = options.temperature ?? DEFAULT_TEMPERATURE;
    checkTemperature(temperature);
    const userSpec = resolveTowerSpec(options.userTower, 'userTower');
    const itemSpec = resolveTowerSpec(options.itemTower, 'itemTower');
    checkDimensions(userSpec, itemSpec);
    const userEncoder = new FeatureEncoder(
      userSpec,
      userSpec.id === null ? [] : (options.userVocabulary ?? options.userIds),
      fitStandardisation(userSpec, options.userFeatures),
    );
    const itemEncoder = new FeatureEncoder(
      itemSpec,
      itemSpec.id === null ? [] : (options.itemVocabulary ?? options.itemIds),
      fitStandardisation(itemSpec, options.itemFeatures),
    );
    const userFeatures = userEncoder.encode(options.userIds, options.userFeatures, 'userFeatures');
    const itemFeatures = itemEncoder.encode(options.itemIds, options.itemFeatures, 'itemFeatures');
    const userTower = new Tower(userSpec, userEncoder.idRows, options.rng);
    const itemTower = new Tower(itemSpec, itemEncoder.idRows, options.rng);
    return new TwoTowerModel({
      userTower,
      itemTower,
      userEncoder,
      itemEncoder,
      userFeatures,
      itemFeatures,
      userIds: options.userIds,
      itemIds: options.itemIds,
      temperature,
    });
  }

  /**
   * Rebuilds a model from {@link weights}. Pass the feature tables again when the towers read
   * features (without them every feature of the dictionaries' users and items is missing).
   *
   * @param weights - the output of {@link weights}
   * @param options - the user and item feature tables
   * @returns the model
   * @throws RarefyInputError `RAREFY_DIMENSION_MISMATCH` when the weights do not fit their specs
   * @example
   * ```ts
   * const copy = TwoTowerModel.fromWeights(model.weights(), { itemFeatures });
   * ```
   */
  static fromWeights(weights: TwoTowerWeights, options: FromWeightsOptions = {}): TwoTowerModel {
    if (weights.format !== 'rarefy-two-tower' || weights.version !== 1) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `weights: format ${JSON.stringify(weights.format)} version ${JSON.stringify(weights.version)} is not rarefy-two-tower 1`,
        'pass the output of TwoTowerModel.weights()',
        { input: 'weights' },
      );
    }
    checkTemperature(weights.temperature);
    const userParameters = towerParametersOf(weights.user, 'weights.user');
    const itemParameters = towerParametersOf(weights.item, 'weights.item');
    const userSpec = checkResolvedSpec(weights.user.spec, 'weights.user.spec');
    const itemSpec = checkResolvedSpec(weights.item.spec, 'weights.item.spec');
    checkDimensions(userSpec, itemSpec);
    const userEncoder = new FeatureEncoder(userSpec, weights.user.idVocabulary, {
      means: weights.user.numeric.means.slice(),
      sds: weights.user.numeric.sds.slice(),
    });
    const itemEncoder = new FeatureEncoder(itemSpec, weights.item.idVocabulary, {
      means: weights.item.numeric.means.slice(),
      sds: weights.item.numeric.sds.slice(),
    });
    const userTower = new Tower(userSpec, userEncoder.idRows, userParameters);
    let itemTower: Tower;
    try {
      itemTower = new Tower(itemSpec, itemEncoder.idRows, itemParameters);
    } catch (error) {
      userTower.dispose();
      throw error;
    }
    return new TwoTowerModel({
      userTower,
      itemTower,
      userEncoder,
      itemEncoder,
      userFeatures: userEncoder.encode(weights.userIds, options.userFeatures, 'userFeatures'),
      itemFeatures: itemEncoder.encode(weights.itemIds, options.itemFeatures, 'itemFeatures'),
      userIds: [...weights.userIds],
      itemIds: [...weights.itemIds],
      temperature: weights.temperature,
    });
  }

  /**
   * Embeddings of users of the training dictionary (by index into `userIds`).
   *
   * @param indices - user indices
   * @returns indices.length x dimension unit vectors, row-major
   * @throws RarefyInputError for an index outside the dictionary
   */
  embedUsers(indices: ArrayLike<number>): Float32Array {
    const rows = checkIndices(indices, this.userIds.length, 'indices', 'pass indices into userIds');
    return this.userTower.embed(this.userFeatures, rows);
  }

  /**
   * Embeddings of catalogue items (by index into `itemIds`).
   *
   * @param indices - item indices
   * @returns indices.length x dimension unit vectors, row-major
   * @throws RarefyInputError for an index outside the catalogue
   */
  embedItems(indices: ArrayLike<number>): Float32Array {
    const rows = checkIndices(indices, this.itemIds.length, 'indices', 'pass indices into itemIds');
    return this.itemTower.embed(this.itemFeatures, rows);
  }

  /**
   * Embeddings of the whole catalogue, in `itemIds` order (computed in batches).
   *
   * @returns itemIds.length x dimension, row-major
   */
  embedAllItems(): Float32Array {
    return this.itemTower.embed(this.itemFeatures, identityRows(this.itemIds.length));
  }

  /**
   * Embeddings of every user of the dictionary, in `userIds` order.
   *
   * @returns userIds.length x dimension, row-major
   */
  embedAllUsers(): Float32Array {
    return this.userTower.embed(this.userFeatures, identityRows(this.userIds.length));
  }

  /**
   * Embeddings of users given by id with their features: an id seen in training uses its id row, any
   * other id the shared unknown row, so a new user is embedded from its features alone (cold start).
   *
   * @param ids - user ids
   * @param features - their features, matched by id (optional for an id-only tower)
   * @returns ids.length x dimension, row-major
   */
  embedNewUsers(ids: readonly string[], features?: FeatureTable): Float32Array {
    const encoded = this.userEncoder.encode(ids, features, 'features');
    return this.userTower.embed(encoded, identityRows(ids.length));
  }

  /**
   * Embeddings of items given by id with their features (cold start: see {@link embedNewUsers}).
   *
   * @param ids - item ids
   * @param features - their features, matched by id
   * @returns ids.length x dimension, row-major
   */
  embedNewItems(ids: readonly string[], features?: FeatureTable): Float32Array {
    const encoded = this.itemEncoder.encode(ids, features, 'features');
    return this.itemTower.embed(encoded, identityRows(ids.length));
  }

  /**
   * Training scores `<u, v> / temperature` of (user, item) pairs.
   *
   * @param users - user indices
   * @param items - item indices, one per user
   * @returns one score per pair
   * @throws RarefyInputError when the arrays differ in length or hold an index out of range
   */
  scores(users: ArrayLike<number>, items: ArrayLike<number>): Float32Array {
    if (users.length !== items.length) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `items: ${items.length} entries for ${users.length} users`,
        'pass one item per user',
        { input: 'items' },
      );
    }
    const u = this.embedUsers(users);
    const v = this.embedItems(items);
    const d = this.dimension;
    const out = new Float32Array(users.length);
    for (let k = 0; k < users.length; k++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += (u[k * d + j] as number) * (v[k * d + j] as number);
      out[k] = dot / this.temperature;
    }
    return out;
  }

  /**
   * Every weight of the model (copies) with the specs, hashing, vocabularies and standardisation: the
   * input to ONNX export and to saved-model folders, and to {@link fromWeights}.
   *
   * @returns the weights
   */
  weights(): TwoTowerWeights {
    this.requireAlive();
    return {
      format: 'rarefy-two-tower',
      version: 1,
      temperature: this.temperature,
      dimension: this.dimension,
      userIds: [...this.userIds],
      itemIds: [...this.itemIds],
      user: towerWeights(this.userTower, this.userEncoder),
      item: towerWeights(this.itemTower, this.itemEncoder),
    };
  }

  /** Whether {@link dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Frees the tfjs variables of both towers; the model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.userTower.dispose();
    this.itemTower.dispose();
  }

  private requireAlive(): void {
    if (this.disposed) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        'model: this two-tower model was disposed',
        'train a new model or load one with TwoTowerModel.fromWeights before using it again',
        { input: 'model' },
      );
    }
  }
}

function identityRows(n: number): Int32Array {
  const rows = new Int32Array(n);
  for (let k = 0; k < n; k++) rows[k] = k;
  return rows;
}
