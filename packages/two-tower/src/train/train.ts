import { ensureBackend } from '@rarefy/model-kit';
import { createRng, RarefyInputError, type Rng, shuffleInPlace } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { validateInteractions } from '../eval/validate.js';
import { StreamingFrequencyEstimator, type StreamingFrequencyOptions } from '../frequency-estimator.js';
import { type InteractionData, itemCounts } from '../interactions.js';
import { ExactFrequency } from '../logq.js';
import { UserItemSet } from '../masking.js';
import type { FeatureTable, TowerSpec } from '../model/features.js';
import type { TowerBatch, TowerParameters } from '../model/tower.js';
import { TwoTowerModel } from '../model/two-tower-model.js';
import { downsamplePositives } from '../positive-downsampling.js';
import { inBatchSoftmaxLoss, SoftmaxWorkspace } from './loss.js';
import { BatchPlanner, type NegativeOptions, validateNegativeOptions } from './negatives.js';

/** How the log Q correction gets q: exact item counts, the streaming estimator of B.6, or no correction. */
export type LogQMode = 'exact' | 'streaming' | 'none';

/** What {@link trainTwoTower} reports after every step. */
export interface TwoTowerProgress {
  /** 0-based epoch. */
  readonly epoch: number;
  /** Steps taken so far (1 after the first). */
  readonly step: number;
  /** This step's loss. */
  readonly loss: number;
  /** Training rows per second so far. */
  readonly examplesPerSecond: number;
  /** Seconds since training began. */
  readonly elapsedSeconds: number;
}

/** Early stopping on a held-out metric. */
export interface TwoTowerValidation {
  /** Scores the model after every epoch; higher is better (e.g. recall@100 on held-out pairs). */
  readonly evaluate: (model: TwoTowerModel) => number | Promise<number>;
  /** Epochs without improvement before stopping (default 3). */
  readonly patience?: number;
  /** Restore the best epoch's weights at the end (default true). */
  readonly restoreBest?: boolean;
}

/** Options of {@link trainTwoTower}. */
export interface TrainTwoTowerOptions {
  /** The training interactions (positives). */
  readonly train: InteractionData;
  /** User features, matched to `train.userIds` by id. */
  readonly userFeatures?: FeatureTable;
  /** Item features, matched to `train.itemIds` by id. */
  readonly itemFeatures?: FeatureTable;
  /** The query tower (default: id embedding 64, hidden [128], output 64). */
  readonly userTower?: TowerSpec;
  /** The candidate tower (same default). */
  readonly itemTower?: TowerSpec;
  /** Negative sources (default in-batch only). */
  readonly negatives?: NegativeOptions;
  /** The log Q correction (default `exact`). */
  readonly logQ?: LogQMode;
  /** Options of the streaming estimator (`logQ: 'streaming'`): buckets H, arrays m, alpha, hash seed, debias. */
  readonly frequency?: Pick<StreamingFrequencyOptions, 'buckets' | 'arrays' | 'alpha' | 'seed' | 'debias'>;
  /** Positive downsampling of popular items (B.1) before batching; off unless given. */
  readonly downsampling?: { readonly a: number };
  /** Mask every known training positive of the row's user, not only accidental hits (default false). */
  readonly maskKnownPositives?: boolean;
  /** B (default 1024). */
  readonly batchSize?: number;
  /** Passes over the training rows (default 1). */
  readonly epochs?: number;
  /** Adam's step size for the dense layers (default 0.003). */
  readonly learningRate?: number;
  /** The step size at the last step: a cosine decay from `learningRate` (default: constant). */
  readonly finalLearningRate?: number;
  /** Row-wise Adagrad's step size for the embedding tables (default 0.05), decayed like the dense one. */
  readonly embeddingLearningRate?: number;
  /** tau (default 0.05). */
  readonly temperature?: number;
  /** Seeds initialisation, shuffling, dropout, sampled negatives and downsampling (default 0). */
  readonly seed?: number | string;
  /** Called after every step. */
  readonly onProgress?: (progress: TwoTowerProgress) => void;
  /** Early stopping on a held-out metric, checked after every epoch. */
  readonly validation?: TwoTowerValidation;
  /** Called after every epoch (after validation), e.g. to save the model. */
  readonly checkpoint?: (model: TwoTowerModel, epoch: number) => void | Promise<void>;
  /**
   * Warm start: training begins from a copy of this model's embedding tables, their row-wise Adagrad
   * accumulators and its dense layers instead of a fresh initialisation (Adam's moment estimates
   * start afresh; shuffling, dropout and negatives still follow `seed`). It must be the model these
   * options would build: the same resolved tower specs, temperature, id vocabularies (the ids that
   * occur in `train`) and numeric standardisation (the same feature tables), e.g. the model of an
   * earlier run on the same data; else RarefyInputError. It is only read (never modified) and the
   * result is a new model, so dispose both when done.
   */
  readonly initialModel?: TwoTowerModel;
}

/** How training went. */
export interface TwoTowerHistory {
  /** Epochs run (fewer than asked when early stopping fired). */
  readonly epochs: number;
  /** Steps taken. */
  readonly steps: number;
  /** Training rows per epoch (after positive downsampling). */
  readonly rows: number;
  /** Mean loss of each epoch (weighted by batch rows). */
  readonly losses: number[];
  /** The loss of every step, in order. */
  readonly stepLosses: number[];
  /** The validation metric after each epoch (empty without validation). */
  readonly validation: number[];
  /** The 0-based epoch whose weights the model holds. */
  readonly bestEpoch: number;
  /** Whether early stopping ended training. */
  readonly stoppedEarly: boolean;
  /** The log Q mode used. */
  readonly logQ: LogQMode;
  /** The tfjs backend that trained the model. */
  readonly backend: string;
}

/** What {@link trainTwoTower} returns. */
export interface TrainTwoTowerResult {
  /** The trained model (dispose it when done). */
  readonly model: TwoTowerModel;
  /** Losses, validation, early stopping. */
  readonly history: TwoTowerHistory;
  /** Wall-clock seconds of training (validation and checkpoints included). */
  readonly seconds: number;
  /** Training rows per second over the whole call (validation and checkpoints included). */
  readonly examplesPerSecond: number;
}

const EMPTY = new Float32Array(0);

/** tfjs' Adam with a step size that can change between steps (moment estimates carry over). */
class ScheduledAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999, 1e-7);
  }

  setLearningRate(learningRate: number): void {
    this.learningRate = learningRate;
  }
}

function invalid(input: string, problem: string, fix: string): RarefyInputError {
  return new RarefyInputError('RAREFY_INVALID_ARGUMENT', `${input}: ${problem}`, fix, { input });
}

function requireInteger(value: number, input: string, low: number, fix: string): void {
  if (!(Number.isInteger(value) && value >= low))
    throw invalid(input, `${value} is not an integer >= ${low}`, fix);
}

function requirePositive(value: number, input: string, fix: string): void {
  if (!(Number.isFinite(value) && value > 0)) throw invalid(input, `${value} is not a positive number`, fix);
}

/** Ids of the dictionary that occur in `indices` (those get their own id row), in dictionary order. */
function seenIds(ids: readonly string[], indices: Int32Array): string[] {
  const seen = new Uint8Array(ids.length);
  for (let k = 0; k < indices.length; k++) seen[indices[k] as number] = 1;
  return ids.filter((_, k) => seen[k] === 1);
}

interface Snapshot {
  user: TowerParameters;
  item: TowerParameters;
  userAccumulators: Float32Array[];
  itemAccumulators: Float32Array[];
}

function snapshot(model: TwoTowerModel): Snapshot {
  return {
    user: model.userTower.snapshot(),
    item: model.itemTower.snapshot(),
    userAccumulators: model.userTower.accumulators(),
    itemAccumulators: model.itemTower.accumulators(),
  };
}

function restore(model: TwoTowerModel, from: Snapshot): void {
  model.userTower.restore(from.user, from.userAccumulators);
  model.itemTower.restore(from.item, from.itemAccumulators);
}

/** The first place where two plain values (resolved specs) differ: its path and both values. */
function firstDifference(
  given: unknown,
  built: unknown,
  path: string,
): { path: string; given: unknown; built: unknown } | undefined {
  if (Object.is(given, built)) return undefined;
  const bothArrays = Array.isArray(given) && Array.isArray(built);
  const bothObjects =
    typeof given === 'object' &&
    given !== null &&
    typeof built === 'object' &&
    built !== null &&
    !Array.isArray(given) &&
    !Array.isArray(built);
  if (bothArrays) {
    const a = given as readonly unknown[];
    const b = built as readonly unknown[];
    if (a.length !== b.length) return { path, given, built };
    for (let k = 0; k < a.length; k++) {
      const found = firstDifference(a[k], b[k], `${path}[${k}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (bothObjects) {
    const a = given as Readonly<Record<string, unknown>>;
    const b = built as Readonly<Record<string, unknown>>;
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const found = firstDifference(a[key], b[key], `${path}.${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return { path, given, built };
}

function initialModelMismatch(problem: string, fix: string): RarefyInputError {
  return new RarefyInputError('RAREFY_DIMENSION_MISMATCH', `initialModel: ${problem}`, fix, {
    input: 'initialModel',
  });
}

const WARM_START_FIX =
  'pass a model trained with the same userTower, itemTower, temperature, feature tables and training users and items, or leave initialModel out';

/**
 * Checks that `initial` is the model the options would build (`fresh`: specs, temperature, id
 * vocabularies, numeric standardisation), so that its weights fit.
 */
function checkInitialModel(initial: TwoTowerModel, fresh: TwoTowerModel): void {
  if (!(initial instanceof TwoTowerModel)) {
    throw invalid('initialModel', 'is not a TwoTowerModel', 'pass the model of an earlier trainTwoTower run');
  }
  if (initial.isDisposed) {
    throw invalid(
      'initialModel',
      'was disposed',
      'pass a live model (dispose it only after training), or reload it with TwoTowerModel.fromWeights',
    );
  }
  if (initial.temperature !== fresh.temperature) {
    throw initialModelMismatch(
      `its temperature is ${initial.temperature}, but the options give ${fresh.temperature}`,
      WARM_START_FIX,
    );
  }
  for (const side of ['user', 'item'] as const) {
    const tower = `${side}Tower`;
    const given = side === 'user' ? initial.userEncoder : initial.itemEncoder;
    const built = side === 'user' ? fresh.userEncoder : fresh.itemEncoder;
    const difference = firstDifference(given.spec, built.spec, tower);
    if (difference !== undefined) {
      throw initialModelMismatch(
        `its ${difference.path} is ${JSON.stringify(difference.given)}, but the options build ${JSON.stringify(difference.built)}`,
        WARM_START_FIX,
      );
    }
    const a = given.vocabulary;
    const b = built.vocabulary;
    let row = 0;
    while (row < a.length && row < b.length && a[row] === b[row]) row++;
    if (row < a.length || row < b.length) {
      throw initialModelMismatch(
        `its ${tower} id vocabulary (${a.length} ids) differs from the ${b.length} ${side}s of train, first at id row ${row + 1} (${JSON.stringify(a[row] ?? null)} vs ${JSON.stringify(b[row] ?? null)})`,
        WARM_START_FIX,
      );
    }
    const columns = built.spec.numeric;
    for (let k = 0; k < columns.length; k++) {
      if (
        given.standardisation.means[k] !== built.standardisation.means[k] ||
        given.standardisation.sds[k] !== built.standardisation.sds[k]
      ) {
        throw initialModelMismatch(
          `its ${tower} standardises the numeric column ${JSON.stringify(columns[k]?.column)} with mean ${given.standardisation.means[k]} and sd ${given.standardisation.sds[k]}, but ${side}Features give ${built.standardisation.means[k]} and ${built.standardisation.sds[k]}`,
          WARM_START_FIX,
        );
      }
    }
  }
}

/**
 * Trains a two-tower retrieval model (ALGORITHMS.md B.3-B.7) with the corrected in-batch softmax:
 * per step, B (user, positive item) rows; shared candidate columns from the batch's positives, uniform
 * and popularity negatives and (after a warm-up) a cross-batch cache; per-row extra negatives; logits
 * `<u, v> / tau - log Q_j` with Q on the expected-count scale of every source in use; accidental hits
 * (and optionally every known positive of the user) masked; reward weights from `train.weights`.
 * Dense layers are trained by Adam, embedding tables by sparse row-wise Adagrad in typed arrays.
 * Repeated items among a step's candidates are merged into one column counted with its multiplicity
 * (exactly the same loss; fewer columns, no accidental hit to mask, one item-tower row per distinct
 * item, so an item's id dropout is drawn once per step). Everything random is seeded: the same seed
 * on the same backend gives the same loss sequence. Training starts from a seeded initialisation, or
 * with `initialModel` from a copy of an earlier model's weights (warm start; that model is not modified).
 *
 * Uses the active tfjs backend, or selects one (wasm, else cpu) when none is (`ensureBackend`).
 *
 * @param options - data, features, towers, negatives, correction, schedule, callbacks
 * @returns the model, its history, seconds and examples per second
 * @throws RarefyInputError naming the option at fault, the problem and the fix (`initialModel` when
 *   it is not the model these options build)
 * @example
 * ```ts
 * await selectBackend();
 * const { model, history } = await trainTwoTower({
 *   train, itemFeatures, itemTower: { id: { dimension: 32 }, multiHot: [{ column: 'genres', buckets: 64, dimension: 16 }] },
 *   negatives: { inBatch: true, uniform: 256 }, logQ: 'exact', epochs: 5, seed: 1,
 * });
 * const items = model.embedAllItems();
 * ```
 */
export async function trainTwoTower(options: TrainTwoTowerOptions): Promise<TrainTwoTowerResult> {
  await ensureBackend();
  const train = options.train;
  validateInteractions(train, 'train');
  if (train.users.length === 0) {
    throw new RarefyInputError(
      'RAREFY_NO_POSITIVES',
      'train: has no interactions',
      'pass at least one (user, item) pair',
      {
        input: 'train',
      },
    );
  }
  const batchSize = options.batchSize ?? 1024;
  requireInteger(batchSize, 'batchSize', 2, 'pass the number of rows per step, e.g. 1024');
  const epochs = options.epochs ?? 1;
  requireInteger(epochs, 'epochs', 1, 'pass the number of passes over the data, e.g. 10');
  const learningRate = options.learningRate ?? 0.003;
  requirePositive(learningRate, 'learningRate', "pass Adam's step size, e.g. 0.003");
  const finalLearningRate = options.finalLearningRate ?? learningRate;
  if (!(Number.isFinite(finalLearningRate) && finalLearningRate > 0 && finalLearningRate <= learningRate)) {
    throw invalid(
      'finalLearningRate',
      `${finalLearningRate} is not in (0, learningRate = ${learningRate}]`,
      'pass a step size no larger than learningRate, e.g. learningRate / 10',
    );
  }
  const embeddingLearningRate = options.embeddingLearningRate ?? 0.05;
  requirePositive(embeddingLearningRate, 'embeddingLearningRate', "pass Adagrad's step size, e.g. 0.05");
  const logQMode = options.logQ ?? 'exact';
  if (logQMode !== 'exact' && logQMode !== 'streaming' && logQMode !== 'none') {
    throw invalid(
      'logQ',
      `${JSON.stringify(logQMode)} is not a correction mode`,
      "use 'exact', 'streaming' or 'none'",
    );
  }
  const negatives = options.negatives ?? { inBatch: true };
  validateNegativeOptions(negatives);
  if (options.downsampling !== undefined) {
    requirePositive(
      options.downsampling.a,
      'downsampling.a',
      'pass the subsampling constant a > 0, e.g. 1e-3',
    );
  }
  const validation = options.validation;
  const patience = validation?.patience ?? 3;
  if (validation !== undefined) {
    if (typeof validation.evaluate !== 'function') {
      throw invalid(
        'validation.evaluate',
        'is not a function',
        'pass (model) => a held-out metric, higher is better',
      );
    }
    requireInteger(patience, 'validation.patience', 1, 'pass the epochs to wait for an improvement, e.g. 3');
  }
  const seed = options.seed ?? 0;
  const master = createRng(seed);
  const initRng = master.split();
  const shuffleRng = master.split();
  const dropoutRng = master.split();
  const negativesRng = master.split();
  const downsamplingSeed = master.nextUint32();

  await tf.ready();
  const model = TwoTowerModel.initialise({
    userIds: train.userIds,
    itemIds: train.itemIds,
    userVocabulary: seenIds(train.userIds, train.users),
    itemVocabulary: seenIds(train.itemIds, train.items),
    ...(options.userTower ? { userTower: options.userTower } : {}),
    ...(options.itemTower ? { itemTower: options.itemTower } : {}),
    ...(options.userFeatures ? { userFeatures: options.userFeatures } : {}),
    ...(options.itemFeatures ? { itemFeatures: options.itemFeatures } : {}),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    rng: initRng,
  });
  try {
    if (options.initialModel !== undefined) {
      checkInitialModel(options.initialModel, model);
      // Copies (snapshot) loaded into the new model: the given model is only read.
      restore(model, snapshot(options.initialModel));
    }
    return await runTraining(model, {
      options,
      batchSize,
      epochs,
      learningRate,
      finalLearningRate,
      embeddingLearningRate,
      logQMode,
      negatives,
      patience,
      shuffleRng,
      dropoutRng,
      negativesRng,
      downsamplingSeed,
    });
  } catch (error) {
    model.dispose();
    throw error;
  }
}

interface TrainingSetup {
  options: TrainTwoTowerOptions;
  batchSize: number;
  epochs: number;
  learningRate: number;
  finalLearningRate: number;
  embeddingLearningRate: number;
  logQMode: LogQMode;
  negatives: NegativeOptions;
  patience: number;
  shuffleRng: Rng;
  dropoutRng: Rng;
  negativesRng: Rng;
  downsamplingSeed: number;
}

async function runTraining(model: TwoTowerModel, setup: TrainingSetup): Promise<TrainTwoTowerResult> {
  const { options, batchSize, epochs, learningRate, finalLearningRate, embeddingLearningRate } = setup;
  const train = options.train;
  const started = performance.now();
  let data = train;
  let originalRows: Int32Array | undefined;
  if (options.downsampling !== undefined) {
    const sampled = downsamplePositives(train, { a: options.downsampling.a, seed: setup.downsamplingSeed });
    data = sampled.data;
    originalRows = sampled.kept;
    if (data.users.length === 0) {
      throw new RarefyInputError(
        'RAREFY_NO_POSITIVES',
        `downsampling.a: ${options.downsampling.a} kept none of the ${train.users.length} interactions`,
        'pass a larger a (default 1e-3)',
        { input: 'downsampling.a' },
      );
    }
  }
  const n = data.users.length;
  const frequency =
    setup.logQMode === 'exact'
      ? new ExactFrequency(itemCounts(data), batchSize)
      : setup.logQMode === 'streaming'
        ? new StreamingFrequencyEstimator({
            batchSize,
            corpusSize: train.itemIds.length,
            ...options.frequency,
            seed: options.frequency?.seed ?? 0,
          })
        : undefined;
  const planner = new BatchPlanner({
    data,
    ...(originalRows ? { originalRows } : {}),
    batchSize,
    dimension: model.dimension,
    negatives: setup.negatives,
    ...(setup.negatives.popularity
      ? {
          popularityCounts: itemCounts(train, {
            distinctUsers: setup.negatives.popularity.distinctUsers ?? false,
          }),
        }
      : {}),
    ...(frequency ? { frequency } : {}),
    ...(options.maskKnownPositives ? { knownPositives: UserItemSet.fromInteractions(train) } : {}),
    rng: setup.negativesRng,
  });
  const userTower = model.userTower;
  const itemTower = model.itemTower;
  const userDropout = userTower.spec.id?.dropout ?? 0;
  const itemDropout = itemTower.spec.id?.dropout ?? 0;
  const capacity = Math.min(batchSize, n);
  const userBatch = userTower.createBatch(capacity);
  let itemBatch: TowerBatch = itemTower.createBatch(
    capacity + (setup.negatives.uniform ?? 0) + (setup.negatives.popularity?.count ?? 0),
  );
  const workspace = new SoftmaxWorkspace();
  const optimizer = new ScheduledAdam(learningRate);
  const userParameters = userTower.parameters();
  const itemParameters = itemTower.parameters();
  const parameters = [...userParameters, ...itemParameters];
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const plannedSteps = epochs * stepsPerEpoch;
  const losses: number[] = [];
  const stepLosses: number[] = [];
  const validationScores: number[] = [];
  const validation = options.validation;
  const restoreBest = validation?.restoreBest ?? true;
  let best: Snapshot | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  let bestEpoch = -1;
  let sinceBest = 0;
  let stoppedEarly = false;
  let steps = 0;
  let examples = 0;
  let epoch = 0;
  try {
    for (; epoch < epochs; epoch++) {
      shuffleInPlace(order, setup.shuffleRng);
      let epochLoss = 0;
      for (let start = 0; start < n; start += batchSize) {
        const rows = order.subarray(start, Math.min(n, start + batchSize));
        const progress = plannedSteps > 1 ? steps / (plannedSteps - 1) : 1;
        const rate =
          finalLearningRate + ((learningRate - finalLearningRate) * (1 + Math.cos(Math.PI * progress))) / 2;
        optimizer.setLearningRate(rate);
        const plan = planner.plan(rows, steps);
        const B = plan.rows;
        const sharedColumns = plan.uniqueItems.length;
        const itemRows = new Int32Array(sharedColumns + plan.extraItems.length);
        itemRows.set(plan.uniqueItems);
        itemRows.set(plan.extraItems, sharedColumns);
        if (itemBatch.capacity < itemRows.length) itemBatch = itemTower.createBatch(itemRows.length);
        userTower.fill(userBatch, model.userFeatures, plan.users, {
          probability: userDropout,
          rng: setup.dropoutRng,
        });
        itemTower.fill(itemBatch, model.itemFeatures, itemRows, {
          probability: itemDropout,
          rng: setup.dropoutRng,
        });
        // Filled inside the tidy scope (returning typed arrays from tidy would make tfjs walk them).
        const result: {
          loss: number;
          user: Float32Array;
          item: Float32Array;
          cached: Float32Array | undefined;
        } = {
          loss: 0,
          user: EMPTY,
          item: EMPTY,
          cached: undefined,
        };
        tf.tidy(() => {
          const userInput = tf.tensor2d(userBatch.input.subarray(0, B * userTower.inputSize), [
            B,
            userTower.inputSize,
          ]);
          const itemInput = tf.tensor2d(itemBatch.input.subarray(0, itemRows.length * itemTower.inputSize), [
            itemRows.length,
            itemTower.inputSize,
          ]);
          const cache =
            plan.cacheEmbeddings !== undefined
              ? tf.tensor2d(plan.cacheEmbeddings, [plan.cacheRows, model.dimension])
              : undefined;
          const lossOf = (...args: tf.Tensor[]): tf.Scalar => {
            const [xu, xi, ...values] = args as [tf.Tensor2D, tf.Tensor2D, ...tf.Tensor[]];
            const u = userTower.forward(xu, values.slice(0, userParameters.length));
            const v = itemTower.forward(xi, values.slice(userParameters.length));
            if (planner.usesCache && B === batchSize) {
              // The positives' embeddings, in row order, for the cross-batch cache.
              const values = v.dataSync() as Float32Array;
              const d = model.dimension;
              const cached = new Float32Array(B * d);
              for (let i = 0; i < B; i++) {
                const column = plan.positives === undefined ? i : (plan.positives[i] as number);
                cached.set(values.subarray(column * d, (column + 1) * d), i * d);
              }
              result.cached = cached;
            }
            return inBatchSoftmaxLoss(u, v, {
              temperature: model.temperature,
              sharedColumns,
              ...(plan.positives ? { positives: plan.positives } : {}),
              ...(plan.multiplicity ? { multiplicity: plan.multiplicity } : {}),
              extraColumns: plan.extraColumns,
              ...(cache ? { cache } : {}),
              ...(plan.logQ ? { logQ: plan.logQ } : {}),
              ...(plan.maskedEntries ? { maskedEntries: plan.maskedEntries } : {}),
              ...(plan.extraMask ? { extraMask: plan.extraMask } : {}),
              ...(plan.rewards ? { rewards: plan.rewards } : {}),
              ...(setup.negatives.selection
                ? { selection: setup.negatives.selection, rng: setup.negativesRng }
                : {}),
              workspace,
              onLoss: (value) => {
                result.loss = value;
              },
            });
          };
          const { grads } = tf.valueAndGrads(lossOf)([userInput, itemInput, ...parameters]);
          optimizer.applyGradients(
            parameters.map((parameter, k) => ({ name: parameter.name, tensor: grads[k + 2] as tf.Tensor })),
          );
          result.user = (grads[0] as tf.Tensor).dataSync() as Float32Array;
          result.item = (grads[1] as tf.Tensor).dataSync() as Float32Array;
        });
        const loss = result.loss;
        const embeddingRate = (embeddingLearningRate * rate) / learningRate;
        userTower.applyEmbeddingGradient(userBatch, result.user, embeddingRate);
        itemTower.applyEmbeddingGradient(itemBatch, result.item, embeddingRate);
        if (result.cached !== undefined) planner.pushCache(plan.sharedItems.subarray(0, B), result.cached);
        if (!Number.isFinite(loss)) {
          throw new RarefyInputError(
            'RAREFY_NON_FINITE',
            `learningRate: the loss became ${loss} at step ${steps + 1}`,
            'lower learningRate or embeddingLearningRate, or raise the temperature',
            { input: 'learningRate', step: steps + 1 },
          );
        }
        steps++;
        examples += B;
        epochLoss += loss * B;
        stepLosses.push(loss);
        if (options.onProgress) {
          const elapsedSeconds = (performance.now() - started) / 1000;
          options.onProgress({
            epoch,
            step: steps,
            loss,
            examplesPerSecond: examples / Math.max(elapsedSeconds, 1e-9),
            elapsedSeconds,
          });
        }
      }
      losses.push(epochLoss / n);
      let stop = false;
      if (validation !== undefined) {
        const score = await validation.evaluate(model);
        validationScores.push(score);
        if (score > bestScore) {
          bestScore = score;
          bestEpoch = epoch;
          sinceBest = 0;
          if (restoreBest) best = snapshot(model);
        } else if (++sinceBest >= setup.patience) {
          stoppedEarly = true;
          stop = true;
        }
      } else {
        bestEpoch = epoch;
      }
      if (options.checkpoint) await options.checkpoint(model, epoch);
      if (stop) {
        epoch++;
        break;
      }
    }
  } finally {
    optimizer.dispose();
  }
  if (validation !== undefined && restoreBest && best !== undefined && bestEpoch !== epoch - 1) {
    restore(model, best);
  }
  if (validation !== undefined && !restoreBest) bestEpoch = epoch - 1;
  const seconds = (performance.now() - started) / 1000;
  return {
    model,
    history: {
      epochs: epoch,
      steps,
      rows: n,
      losses,
      stepLosses,
      validation: validationScores,
      bestEpoch,
      stoppedEarly,
      logQ: setup.logQMode,
      backend: tf.getBackend(),
    },
    seconds,
    examplesPerSecond: examples / Math.max(seconds, 1e-9),
  };
}
