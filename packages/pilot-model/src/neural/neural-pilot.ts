import {
  type DenseActivation,
  denseLayer,
  EmbeddingTable,
  FEATURE_HASH_FUNCTION,
  type ModelManifest,
  type NeuralFeatureHashing,
  type SaveableModel,
  type SavedModelContents,
  type TrainingRecord,
} from '@rarefy/model-kit';
import {
  type ColumnBatch,
  countClasses,
  createRng,
  type Pilot,
  RarefyError,
  type Rng,
  requireArgument,
  requireBothClasses,
  shuffleInPlace,
} from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { type EncodedRows, encodeRows, type FeatureLayout, type NeuralRows, rowVector } from './encode.js';
import { offsetBinaryCrossEntropy } from './loss.js';
import { type NeuralSaveOptions, neuralModelContents, neuralWeightsFromSavedFiles } from './saved.js';

/** One categorical feature of a {@link NeuralPilot}: hashed into `buckets` rows of a `dimension`-wide table. */
export interface NeuralCategoricalFeature {
  /** The column's name. */
  readonly name: string;
  /** Rows of the embedding table (hash buckets). */
  readonly buckets: number;
  /** Width of the embedding. */
  readonly dimension: number;
  /** The hash seed (default 0); see {@link hashFeature}. */
  readonly hashSeed?: number;
}

/** The architecture of a {@link NeuralPilot}. */
export interface NeuralPilotSpec {
  /** Numeric columns, standardised with the training data's means and standard deviations. */
  readonly numeric: readonly string[];
  /** Categorical columns, each through a hashed embedding table. */
  readonly categorical: readonly NeuralCategoricalFeature[];
  /** Widths of the hidden layers, e.g. `[64]`; `[]` is a logistic regression on the inputs. */
  readonly hidden: readonly number[];
  /** The hidden layers' activation. */
  readonly activation: 'relu' | 'tanh';
  /** Seeds the initial weights and the shuffling of the training rows. */
  readonly seed: number;
}

/** What {@link NeuralPilot.train} reports as it goes (after every step). */
export interface NeuralTrainProgress {
  /** 0-based epoch. */
  readonly epoch: number;
  /** Steps taken so far, over all epochs of this call. */
  readonly step: number;
  /** The loss of this step's batch (with offsets and weights). */
  readonly loss: number;
  /** Training rows processed per second so far. */
  readonly examplesPerSecond: number;
  /** Seconds since the call began. */
  readonly elapsedSeconds: number;
  /** The validation loss, on the last step of an epoch when there is validation data. */
  readonly validationLoss?: number;
}

/** Held-out rows for early stopping. */
export interface NeuralValidation {
  /** The rows, with labels. */
  readonly batch: ColumnBatch | NeuralRows;
  /** The label column of a ColumnBatch (default: its schema's first `label` column). */
  readonly label?: string;
  /** Offsets of the validation rows (default 0): use the same correction as the training rows. */
  readonly offset?: Float64Array;
  /** Weights of the validation rows (default 1). */
  readonly weight?: Float64Array;
  /** Epochs without improvement before stopping (default 3). */
  readonly patience?: number;
  /** The smallest decrease of the validation loss that counts as improvement (default 0). */
  readonly minDelta?: number;
  /** Restore the weights of the best epoch at the end (default true). */
  readonly restoreBest?: boolean;
}

/** Options of {@link NeuralPilot.train}. */
export interface NeuralTrainOptions {
  /** The training rows, with labels. */
  readonly batch: ColumnBatch | NeuralRows;
  /** The label column of a ColumnBatch (default: its schema's first `label` column). */
  readonly label?: string;
  /**
   * Per-row offsets added to the logit inside the loss, never at prediction: `-log pi_i` for the
   * log-odds correction (ALGORITHMS.md A.4). Default 0.
   */
  readonly offset?: Float64Array;
  /** Per-row weights of the loss: `1/pi_i` for IPW (A.5). Default 1. */
  readonly weight?: Float64Array;
  /** Passes over the training rows. */
  readonly epochs: number;
  /** Rows per step (the last batch of an epoch may be smaller). */
  readonly batchSize: number;
  /** Adam's step size for the dense layers. */
  readonly learningRate: number;
  /**
   * The step size at the last step (default `learningRate`: constant). The step size follows a cosine
   * from `learningRate` down to it over the `epochs x steps` of the call, for the dense layers and
   * (in proportion) the embeddings. Decaying it matters for calibration: at a constant step size the
   * final iterate's intercept wanders by several percent of the event rate.
   */
  readonly finalLearningRate?: number;
  /** Row-wise Adagrad's step size for the embedding tables (default 0.05). */
  readonly embeddingLearningRate?: number;
  /** Called after every step. */
  readonly onProgress?: (progress: NeuralTrainProgress) => void;
  /** Held-out rows for early stopping. */
  readonly validation?: NeuralValidation;
}

/** How a {@link NeuralPilot} was trained: the last call of `train`. */
export interface NeuralTrainResult {
  /** Rows trained on. */
  readonly rows: number;
  /** Positive rows among them. */
  readonly positives: number;
  /** Epochs run (fewer than asked when early stopping fired). */
  readonly epochs: number;
  /** Steps taken. */
  readonly steps: number;
  /** The mean training loss of every epoch. */
  readonly losses: number[];
  /** The validation loss after every epoch (empty without validation). */
  readonly validationLosses: number[];
  /** The 0-based epoch whose weights the model holds (the last, or the best with validation). */
  readonly bestEpoch: number;
  /** Whether early stopping ended training. */
  readonly stoppedEarly: boolean;
  /** Whether offsets were used (the log-odds correction). */
  readonly offset: boolean;
  /** Whether weights were used. */
  readonly weighted: boolean;
  /** Training rows per second. */
  readonly examplesPerSecond: number;
  /** Wall-clock seconds. */
  readonly seconds: number;
  /** The tfjs backend that trained it. */
  readonly backend: string;
}

/** One dense layer of {@link NeuralPilotWeights}: `activation(x W + b)`. */
export interface NeuralLayerWeights {
  /** Inputs of the layer. */
  readonly inputSize: number;
  /** Outputs of the layer. */
  readonly outputSize: number;
  /** W, row-major inputSize x outputSize. */
  readonly weights: Float32Array;
  /** b, outputSize values. */
  readonly bias: Float32Array;
  /** The layer's activation (the last layer is `linear`: it outputs the logit). */
  readonly activation: DenseActivation;
}

/** One embedding table of {@link NeuralPilotWeights}. */
export interface NeuralEmbeddingWeights {
  /** The column's name. */
  readonly name: string;
  /** How its values become rows of the table. */
  readonly hashing: NeuralFeatureHashing;
  /** Rows of the table (= hashing.buckets). */
  readonly buckets: number;
  /** Width of the embedding. */
  readonly dimension: number;
  /** The table, row-major buckets x dimension. */
  readonly table: Float32Array;
}

/**
 * Everything a {@link NeuralPilot} computes with, for export (ONNX) and for saving. The network's
 * input row is `[(x_j - mean_j) / sd_j for the numeric features] ++ [table_k[bucket_k] for the
 * categorical features]`, in the spec's order; `layers` map it to one logit; the population
 * probability is sigmoid(logit) (no offset: offsets exist only in the training loss).
 */
export interface NeuralPilotWeights {
  /** Identifies the layout. */
  readonly format: 'rarefy-neural-mlp';
  /** Layout version. */
  readonly version: 1;
  /** The spec the pilot was built with. */
  readonly spec: NeuralPilotSpec;
  /** Numeric standardisation: `(x - means[j]) / sds[j]`. */
  readonly numeric: { readonly names: string[]; readonly means: Float64Array; readonly sds: Float64Array };
  /** Embedding tables, in the spec's order. */
  readonly embeddings: NeuralEmbeddingWeights[];
  /** Dense layers, input first; the last has one output (the logit) and a linear activation. */
  readonly layers: NeuralLayerWeights[];
  /** The length of the network's input row: numeric count + sum of the embedding dimensions. */
  readonly inputSize: number;
  /** The output: the logit; the probability is its sigmoid. */
  readonly output: 'logit';
}

const PREDICT_CHUNK = 16_384;

function validateSpec(spec: NeuralPilotSpec): void {
  requireArgument(
    Number.isSafeInteger(spec.seed),
    'spec.seed',
    `${spec.seed} is not an integer`,
    'pass an integer seed',
  );
  requireArgument(
    spec.activation === 'relu' || spec.activation === 'tanh',
    'spec.activation',
    `"${String(spec.activation)}" is not an activation`,
    "use 'relu' or 'tanh'",
  );
  for (const width of spec.hidden) {
    requireArgument(
      Number.isInteger(width) && width >= 1,
      'spec.hidden',
      `${width} is not a layer width`,
      'give every hidden layer a positive integer width',
    );
  }
  for (const feature of spec.categorical) {
    requireArgument(
      Number.isInteger(feature.buckets) && feature.buckets >= 1 && feature.buckets < 2 ** 31,
      `spec.categorical.${feature.name}.buckets`,
      `${feature.buckets} is not a bucket count`,
      'pass an integer in [1, 2^31)',
    );
    requireArgument(
      Number.isInteger(feature.dimension) && feature.dimension >= 1,
      `spec.categorical.${feature.name}.dimension`,
      `${feature.dimension} is not an embedding width`,
      'pass a positive integer',
    );
  }
  const names = [...spec.numeric, ...spec.categorical.map((feature) => feature.name)];
  requireArgument(
    names.length > 0,
    'spec',
    'has no features',
    'list at least one numeric or categorical column',
  );
  requireArgument(
    new Set(names).size === names.length,
    'spec',
    `lists a column twice (${names.join(', ')})`,
    'list every column once',
  );
}

/** tfjs' Adam with a step size that can change between steps (its moment estimates carry over). */
class ScheduledAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999, 1e-7);
  }

  setLearningRate(learningRate: number): void {
    this.learningRate = learningRate;
  }
}

function uniformValues(rng: Rng, count: number, limit: number): Float32Array {
  const values = new Float32Array(count);
  for (let k = 0; k < count; k++) values[k] = (2 * rng.nextFloat64() - 1) * limit;
  return values;
}

/**
 * A pilot network in TensorFlow.js: numeric features (standardised) and hashed embeddings of
 * categorical features, concatenated into an MLP with one logit. Trains with the log-odds correction
 * (a per-row offset `-log pi` added to the logit inside the loss, ALGORITHMS.md A.4) or IPW weights
 * (A.5), and predicts population probabilities sigmoid(logit) without the offset.
 *
 * The embedding tables live in Float32Arrays outside autograd, updated by sparse row-wise Adagrad on
 * the rows a batch touched; the dense layers are tfjs variables trained by Adam with hand-written
 * gradients (ALGORITHMS.md B.10). A tfjs backend must be ready before construction (await
 * `selectBackend()`); call `dispose()` to free the variables.
 *
 * @example
 * ```ts
 * await selectBackend();
 * const pilot = new NeuralPilot({ numeric: ['x1', 'x2'], categorical: [{ name: 'site', buckets: 1024, dimension: 8 }],
 *   hidden: [64], activation: 'relu', seed: 1 });
 * await pilot.train({ batch: sample, offset: sample.offset, epochs: 10, batchSize: 256, learningRate: 1e-3 });
 * const p = pilot.predictProbability(population);
 * ```
 */
export class NeuralPilot implements Pilot, SaveableModel {
  /** The architecture. */
  readonly spec: NeuralPilotSpec;
  /** The columns the pilot reads: numeric first, then categorical. */
  readonly features: readonly string[];
  /** The length of the network's input row. */
  readonly inputSize: number;

  private readonly layout: FeatureLayout;
  private readonly tables: EmbeddingTable[];
  private readonly weights: tf.Variable<tf.Rank.R2>[] = [];
  private readonly biases: tf.Variable<tf.Rank.R1>[] = [];
  private readonly activations: DenseActivation[] = [];
  private readonly shuffleRng: Rng;
  private means: Float64Array;
  private sds: Float64Array;
  private standardised = false;
  private optimizer: ScheduledAdam | undefined;
  private disposed = false;
  private lastTraining: NeuralTrainResult | undefined;
  /** The training record of the folder this pilot was loaded from (kept when it is saved again untrained). */
  private loadedTraining: TrainingRecord | undefined;

  /**
   * @param spec - the architecture and seed
   * @param initial - weights to start from (as from {@link NeuralPilot.exportWeights}); internal, use
   *   {@link NeuralPilot.fromWeights}
   */
  constructor(spec: NeuralPilotSpec, initial?: NeuralPilotWeights) {
    validateSpec(spec);
    this.spec = {
      numeric: [...spec.numeric],
      categorical: spec.categorical.map((feature) => ({ ...feature, hashSeed: feature.hashSeed ?? 0 })),
      hidden: [...spec.hidden],
      activation: spec.activation,
      seed: spec.seed,
    };
    this.features = [...spec.numeric, ...spec.categorical.map((feature) => feature.name)];
    this.layout = {
      numeric: this.spec.numeric,
      categorical: this.spec.categorical.map((feature) => ({
        name: feature.name,
        hashing: {
          function: FEATURE_HASH_FUNCTION,
          seed: feature.hashSeed ?? 0,
          buckets: feature.buckets,
          missing: '',
        },
      })),
    };
    const rng = createRng(spec.seed);
    this.tables = this.spec.categorical.map(
      (feature, k) =>
        new EmbeddingTable(
          feature.buckets,
          feature.dimension,
          initial?.embeddings[k]?.table.slice() ?? rng.split(),
        ),
    );
    this.inputSize =
      spec.numeric.length + spec.categorical.reduce((sum, feature) => sum + feature.dimension, 0);
    const p = spec.numeric.length;
    this.means = initial ? Float64Array.from(initial.numeric.means) : new Float64Array(p);
    this.sds = initial ? Float64Array.from(initial.numeric.sds) : new Float64Array(p).fill(1);
    this.standardised = initial !== undefined;
    const widths = [this.inputSize, ...spec.hidden, 1];
    const denseRng = rng.split();
    for (let layer = 0; layer + 1 < widths.length; layer++) {
      const fanIn = widths[layer] as number;
      const fanOut = widths[layer + 1] as number;
      const activation: DenseActivation = layer + 2 === widths.length ? 'linear' : spec.activation;
      // He-uniform for relu, Glorot-uniform otherwise.
      const limit = activation === 'relu' ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
      const given = initial?.layers[layer];
      const w = given ? given.weights.slice() : uniformValues(denseRng, fanIn * fanOut, limit);
      const b = given ? given.bias.slice() : new Float32Array(fanOut);
      this.weights.push(tf.variable(tf.tensor2d(w, [fanIn, fanOut]), true));
      this.biases.push(tf.variable(tf.tensor1d(b), true));
      this.activations.push(activation);
    }
    this.shuffleRng = rng.split();
  }

  /**
   * Rebuilds a pilot from {@link NeuralPilot.exportWeights}' output.
   *
   * @param weights - exported weights
   * @returns a pilot that predicts exactly as the exported one
   * @example
   * ```ts
   * const copy = NeuralPilot.fromWeights(pilot.exportWeights());
   * ```
   */
  static fromWeights(weights: NeuralPilotWeights): NeuralPilot {
    const expected = [weights.inputSize, ...weights.spec.hidden, 1];
    const matches =
      weights.format === 'rarefy-neural-mlp' &&
      weights.layers.length + 1 === expected.length &&
      weights.layers.every(
        (layer, k) =>
          layer.inputSize === expected[k] &&
          layer.outputSize === expected[k + 1] &&
          layer.weights.length === layer.inputSize * layer.outputSize &&
          layer.bias.length === layer.outputSize,
      ) &&
      weights.embeddings.length === weights.spec.categorical.length &&
      weights.embeddings.every((table) => table.table.length === table.buckets * table.dimension);
    if (!matches) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        'weights: the layers or tables do not match the spec they carry',
        'pass the unmodified output of NeuralPilot.exportWeights()',
        { input: 'weights' },
      );
    }
    return new NeuralPilot(weights.spec, weights);
  }

  /**
   * Rebuilds a pilot from a saved `neural` folder (written by {@link NeuralPilot.toSavedModel} through
   * `saveModel`): the spec, standardisation, hashing, embedding tables and dense layers are read back
   * exactly, so it predicts what the saved pilot predicted. A tfjs backend must be ready (in Node,
   * `loadModel` from `@rarefy/pilot-model/node` selects one and calls this). Browser-safe: pass the
   * folder's manifest and files however they were fetched.
   *
   * @param folder - the manifest and every listed file's bytes (e.g. `readModelFolder(dir)`), and
   *   optionally its path for messages
   * @returns the pilot
   * @throws RarefyIoError `RAREFY_PARSE_ERROR` when the folder has no weights (an ONNX-only export)
   *   or a file disagrees with the spec; RarefyError when the weights do not fit the spec
   * @example
   * ```ts
   * await saveModel('models/net', pilot);
   * const again = NeuralPilot.fromSavedModel(await readModelFolder('models/net'));
   * ```
   */
  static fromSavedModel(folder: {
    readonly manifest: ModelManifest;
    readonly files: ReadonlyMap<string, Uint8Array>;
    readonly dir?: string;
  }): NeuralPilot {
    const weights = neuralWeightsFromSavedFiles(folder.manifest, folder.files, folder.dir ?? 'model');
    const pilot = NeuralPilot.fromWeights(weights);
    pilot.loadedTraining = folder.manifest.training;
    return pilot;
  }

  /**
   * The pilot as a saved-model folder's contents (kind `neural`; `saveModel` writes them): the
   * network description (`network.json`), the dense weights (`weights.bin`) and embedding tables
   * (`embeddings.bin`) as float32 little-endian, and `model.onnx` (unless `onnx: false`). The schema
   * lists the numeric columns as `number` and the categorical ones as `string`, with their hashing;
   * the training record has the last training's sizes, epochs and correction, merged with
   * `options.training`. {@link NeuralPilot.fromSavedModel} reads it back exactly.
   *
   * @param options - `label` column, `onnx` (default true), `training` record additions
   * @returns the contents
   * @example
   * ```ts
   * await saveModel('models/net', pilot, { label: 'clicked', training: { design: 'optA', estimator: 'log-odds' } });
   * ```
   */
  toSavedModel(options: NeuralSaveOptions = {}): SavedModelContents<'neural'> {
    return neuralModelContents(this.exportWeights(), this.lastTraining, this.loadedTraining, options);
  }

  /**
   * Trains the network on labelled rows, with per-row offsets (log-odds correction) or weights (IPW)
   * in the loss: the mean over rows of `weight_i * BCE(y_i, logit_i + offset_i)`. Numeric features are
   * standardised with the means and standard deviations of the first call's rows (kept afterwards).
   * Rows are shuffled every epoch with the pilot's seeded generator, so the same seed and the same
   * calls give the same model.
   *
   * @param options - the rows, correction and schedule
   * @returns how training went (also kept in `training`)
   * @example
   * ```ts
   * const result = await pilot.train({ batch, offset, epochs: 20, batchSize: 256, learningRate: 3e-3,
   *   validation: { batch: held, offset: heldOffset, patience: 3 } });
   * ```
   */
  async train(options: NeuralTrainOptions): Promise<NeuralTrainResult> {
    this.requireAlive();
    const { epochs, batchSize, learningRate } = options;
    requireArgument(
      Number.isInteger(epochs) && epochs >= 1,
      'epochs',
      `${epochs} is not an epoch count`,
      'pass an integer >= 1',
    );
    requireArgument(
      Number.isInteger(batchSize) && batchSize >= 1,
      'batchSize',
      `${batchSize} is not a batch size`,
      'pass an integer >= 1',
    );
    requireArgument(
      Number.isFinite(learningRate) && learningRate > 0,
      'learningRate',
      `${learningRate} is not a step size`,
      'pass a positive number, e.g. 1e-3',
    );
    const finalLearningRate = options.finalLearningRate ?? learningRate;
    requireArgument(
      Number.isFinite(finalLearningRate) && finalLearningRate > 0 && finalLearningRate <= learningRate,
      'finalLearningRate',
      `${finalLearningRate} is not a step size in (0, learningRate = ${learningRate}]`,
      'pass a positive number no larger than learningRate, e.g. learningRate / 100',
    );
    const embeddingLearningRate = options.embeddingLearningRate ?? 0.05;
    requireArgument(
      Number.isFinite(embeddingLearningRate) && embeddingLearningRate > 0,
      'embeddingLearningRate',
      `${embeddingLearningRate} is not a step size`,
      'pass a positive number, e.g. 0.05',
    );
    await tf.ready();
    const data = encodeRows(options.batch, this.layout, { label: options.label, requireLabels: true });
    const labels = data.labels as Uint8Array;
    const counts = countClasses(labels);
    requireBothClasses(counts);
    const offset = rowVector(options.offset, data.rows, 0, 'offset');
    const weight = rowVector(options.weight, data.rows, 1, 'weight');
    if (!this.standardised) {
      this.fitStandardisation(data);
      this.initialiseOutputBias(labels, offset, weight);
    }
    const inputs = this.standardise(data);
    const labelValues = Float32Array.from(labels);

    const validation = options.validation;
    const validationData =
      validation === undefined
        ? undefined
        : (() => {
            const rows = encodeRows(validation.batch, this.layout, {
              label: validation.label,
              requireLabels: true,
            });
            return {
              rows,
              inputs: this.standardise(rows),
              offset: rowVector(validation.offset, rows.rows, 0, 'validation.offset'),
              weight: rowVector(validation.weight, rows.rows, 1, 'validation.weight'),
            };
          })();
    const patience = validation?.patience ?? 3;
    const minDelta = validation?.minDelta ?? 0;

    this.optimizer ??= new ScheduledAdam(learningRate);
    const optimizer = this.optimizer;

    const n = data.rows;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const stride = this.inputSize;
    const batchInputs = new Float32Array(Math.min(batchSize, n) * stride);
    const started = performance.now();
    const losses: number[] = [];
    const validationLosses: number[] = [];
    let steps = 0;
    let examples = 0;
    let bestEpoch = -1;
    let bestLoss = Number.POSITIVE_INFINITY;
    let best: { dense: Float32Array[]; tables: Float32Array[]; accumulators: Float32Array[] } | undefined;
    let sinceBest = 0;
    let stoppedEarly = false;
    const plannedSteps = epochs * Math.ceil(n / batchSize);
    let epoch = 0;
    for (; epoch < epochs; epoch++) {
      shuffleInPlace(order, this.shuffleRng);
      let epochLoss = 0;
      for (let start = 0; start < n; start += batchSize) {
        const rows = order.subarray(start, Math.min(n, start + batchSize));
        const size = rows.length;
        const x = batchInputs.subarray(0, size * stride);
        this.fillInputs(inputs, data.buckets, rows, x);
        const y = new Float32Array(size);
        const o = new Float32Array(size);
        const w = new Float32Array(size);
        for (let i = 0; i < size; i++) {
          const row = rows[i] as number;
          y[i] = labelValues[row] as number;
          o[i] = offset[row] as number;
          w[i] = weight[row] as number;
        }
        // Cosine from learningRate (first step) to finalLearningRate (last planned step).
        const progress = plannedSteps > 1 ? steps / (plannedSteps - 1) : 1;
        const rate =
          finalLearningRate + ((learningRate - finalLearningRate) * (1 + Math.cos(Math.PI * progress))) / 2;
        optimizer.setLearningRate(rate);
        const loss = this.step(
          x,
          size,
          y,
          o,
          w,
          data.buckets,
          rows,
          (embeddingLearningRate * rate) / learningRate,
        );
        steps++;
        examples += size;
        epochLoss += loss * size;
        const isLast = start + batchSize >= n;
        let validationLoss: number | undefined;
        if (isLast && validationData) {
          validationLoss = this.lossOf(
            validationData.inputs,
            validationData.rows,
            validationData.offset,
            validationData.weight,
          );
          validationLosses.push(validationLoss);
        }
        if (options.onProgress) {
          const elapsedSeconds = (performance.now() - started) / 1000;
          options.onProgress({
            epoch,
            step: steps,
            loss,
            examplesPerSecond: examples / Math.max(elapsedSeconds, 1e-9),
            elapsedSeconds,
            ...(validationLoss === undefined ? {} : { validationLoss }),
          });
        }
      }
      losses.push(epochLoss / n);
      if (validationData) {
        const current = validationLosses[validationLosses.length - 1] as number;
        if (current < bestLoss - minDelta) {
          bestLoss = current;
          bestEpoch = epoch;
          sinceBest = 0;
          if (validation?.restoreBest ?? true) best = this.snapshot();
        } else if (++sinceBest >= patience) {
          stoppedEarly = true;
          epoch++;
          break;
        }
      } else {
        bestEpoch = epoch;
      }
    }
    if (best !== undefined && bestEpoch !== epoch - 1) this.restore(best);
    if (!(validation?.restoreBest ?? true)) bestEpoch = epoch - 1;
    const seconds = (performance.now() - started) / 1000;
    this.lastTraining = {
      rows: n,
      positives: counts.positives,
      epochs: epoch,
      steps,
      losses,
      validationLosses,
      bestEpoch,
      stoppedEarly,
      offset: options.offset !== undefined,
      weighted: options.weight !== undefined,
      examplesPerSecond: examples / Math.max(seconds, 1e-9),
      seconds,
      backend: tf.getBackend(),
    };
    return this.lastTraining;
  }

  /** How the last `train` call went (sizes, epochs, losses, correction, speed); undefined before training. */
  get training(): NeuralTrainResult | undefined {
    return this.lastTraining;
  }

  /**
   * The network's logits (log odds on the population scale: no offset) for every row.
   *
   * @param batch - the rows (a ColumnBatch, or {@link NeuralRows})
   * @returns one logit per row
   * @example
   * ```ts
   * const logits = pilot.predictLogits(batch);
   * ```
   */
  predictLogits(batch: ColumnBatch | NeuralRows): Float64Array {
    this.requireAlive();
    const data = encodeRows(batch, this.layout, { requireLabels: false });
    return this.logitsOf(this.standardise(data), data);
  }

  /**
   * Population-scale probabilities sigmoid(logit), one per row: the offset used in training is left
   * out. Categorical columns may be DictionaryColumns (their values are hashed) or Int32Arrays of
   * buckets already hashed.
   *
   * @param batch - rows to score (must contain `features`)
   * @returns one probability per row
   * @example
   * ```ts
   * const p = pilot.predictProbability(batch);
   * ```
   */
  predictProbability(batch: ColumnBatch | NeuralRows): Float64Array {
    const logits = this.predictLogits(batch);
    const probabilities = new Float64Array(logits.length);
    for (let i = 0; i < logits.length; i++) probabilities[i] = 1 / (1 + Math.exp(-(logits[i] as number)));
    return probabilities;
  }

  /**
   * Everything the pilot computes with, copied: standardisation, hashing and embedding tables, and the
   * dense layers (row-major weights, biases, activations). The input to ONNX export and to saving.
   *
   * @returns the weights
   * @example
   * ```ts
   * const { layers, embeddings, numeric } = pilot.exportWeights();
   * ```
   */
  exportWeights(): NeuralPilotWeights {
    this.requireAlive();
    const layers: NeuralLayerWeights[] = this.weights.map((w, k) => ({
      inputSize: w.shape[0],
      outputSize: w.shape[1],
      weights: Float32Array.from(w.dataSync()),
      bias: Float32Array.from((this.biases[k] as tf.Variable<tf.Rank.R1>).dataSync()),
      activation: this.activations[k] as DenseActivation,
    }));
    return {
      format: 'rarefy-neural-mlp',
      version: 1,
      spec: {
        ...this.spec,
        numeric: [...this.spec.numeric],
        categorical: this.spec.categorical.map((f) => ({ ...f })),
        hidden: [...this.spec.hidden],
      },
      numeric: { names: [...this.spec.numeric], means: this.means.slice(), sds: this.sds.slice() },
      embeddings: this.layout.categorical.map(({ name, hashing }, k) => {
        const table = this.tables[k] as EmbeddingTable;
        return {
          name,
          hashing: { ...hashing },
          buckets: table.buckets,
          dimension: table.dimension,
          table: table.values.slice(),
        };
      }),
      layers,
      inputSize: this.inputSize,
      output: 'logit',
    };
  }

  /**
   * Frees the tfjs variables and optimizer state. The pilot cannot be used afterwards.
   *
   * @example
   * ```ts
   * pilot.dispose();
   * ```
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const variable of [...this.weights, ...this.biases]) variable.dispose();
    this.optimizer?.dispose();
  }

  private requireAlive(): void {
    if (this.disposed) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        'pilot: this NeuralPilot was disposed',
        'build a new NeuralPilot (or NeuralPilot.fromWeights) before using it again',
        { input: 'pilot' },
      );
    }
  }

  /** One training step: forward, loss, hand-written backward, Adam on the dense part, Adagrad on the tables. */
  private step(
    x: Float32Array,
    size: number,
    y: Float32Array,
    o: Float32Array,
    w: Float32Array,
    buckets: Int32Array[],
    rows: Int32Array,
    embeddingLearningRate: number,
  ): number {
    const optimizer = this.optimizer as ScheduledAdam;
    const needsInputGradient = this.tables.length > 0;
    const parameters = this.parameters();
    let inputGradient: Float32Array | undefined;
    const loss = tf.tidy(() => {
      const input = tf.tensor2d(x, [size, this.inputSize]);
      const labels = tf.tensor1d(y);
      const offset = tf.tensor1d(o);
      const weight = tf.tensor1d(w);
      const lossOf = (...args: tf.Tensor[]): tf.Scalar => {
        const values = needsInputGradient ? args.slice(1) : args;
        const features = (needsInputGradient ? args[0] : input) as tf.Tensor2D;
        return offsetBinaryCrossEntropy(this.forward(features, values), labels, offset, weight);
      };
      const { value, grads } = tf.valueAndGrads(lossOf)(
        needsInputGradient ? [input, ...parameters] : parameters,
      );
      const first = needsInputGradient ? 1 : 0;
      const named: Array<{ name: string; tensor: tf.Tensor }> = parameters.map((parameter, k) => ({
        name: parameter.name,
        tensor: grads[first + k] as tf.Tensor,
      }));
      if (needsInputGradient) inputGradient = (grads[0] as tf.Tensor).dataSync() as Float32Array;
      optimizer.applyGradients(named);
      return value.dataSync()[0] as number;
    });
    if (inputGradient !== undefined) {
      let column = this.spec.numeric.length;
      this.tables.forEach((table, k) => {
        table.applyAdagrad(
          buckets[k] as Int32Array,
          rows,
          inputGradient as Float32Array,
          this.inputSize,
          column,
          embeddingLearningRate,
        );
        column += table.dimension;
      });
    }
    return loss;
  }

  /** The dense parameters in [W1, b1, W2, b2, ...] order. */
  private parameters(): tf.Variable[] {
    return this.weights.flatMap((weights, k): tf.Variable[] => [weights, this.biases[k] as tf.Variable]);
  }

  /** The logits of a batch's input rows, from tensors of the parameters in [W1, b1, W2, b2, ...] order. */
  private forward(input: tf.Tensor2D, parameters: readonly tf.Tensor[]): tf.Tensor2D {
    let hidden = input;
    for (let layer = 0; layer < this.activations.length; layer++) {
      hidden = denseLayer(
        hidden,
        parameters[2 * layer] as tf.Tensor2D,
        parameters[2 * layer + 1] as tf.Tensor1D,
        this.activations[layer] as DenseActivation,
      );
    }
    return hidden;
  }

  private logitsOf(inputs: Float32Array, data: EncodedRows): Float64Array {
    const logits = new Float64Array(data.rows);
    const parameters = this.parameters();
    const chunk = Math.min(PREDICT_CHUNK, Math.max(1, data.rows));
    const rows = new Int32Array(chunk);
    const x = new Float32Array(chunk * this.inputSize);
    for (let start = 0; start < data.rows; start += chunk) {
      const size = Math.min(chunk, data.rows - start);
      const slice = rows.subarray(0, size);
      for (let i = 0; i < size; i++) slice[i] = start + i;
      const batch = x.subarray(0, size * this.inputSize);
      this.fillInputs(inputs, data.buckets, slice, batch);
      // Copy out inside the scope: returning the typed array from tidy would make tfjs walk every element.
      tf.tidy(() => {
        logits.set(this.forward(tf.tensor2d(batch, [size, this.inputSize]), parameters).dataSync(), start);
      });
    }
    return logits;
  }

  /** The mean weighted, offset BCE of rows (in float64 from the network's float32 logits). */
  private lossOf(
    inputs: Float32Array,
    data: EncodedRows,
    offset: Float32Array,
    weight: Float32Array,
  ): number {
    const logits = this.logitsOf(inputs, data);
    const labels = data.labels as Uint8Array;
    let total = 0;
    for (let i = 0; i < data.rows; i++) {
      const z = (logits[i] as number) + (offset[i] as number);
      total +=
        (weight[i] as number) *
        (Math.max(z, 0) - z * (labels[i] as number) + Math.log1p(Math.exp(-Math.abs(z))));
    }
    return total / Math.max(1, data.rows);
  }

  /** Fills row i of `target` with the standardised numeric features and embeddings of data row rows[i]. */
  private fillInputs(
    standardised: Float32Array,
    buckets: Int32Array[],
    rows: Int32Array,
    target: Float32Array,
  ): void {
    const p = this.spec.numeric.length;
    const stride = this.inputSize;
    if (p > 0) {
      for (let i = 0; i < rows.length; i++) {
        const from = (rows[i] as number) * p;
        const to = i * stride;
        for (let j = 0; j < p; j++) target[to + j] = standardised[from + j] as number;
      }
    }
    let column = p;
    this.tables.forEach((table, k) => {
      table.gather(buckets[k] as Int32Array, rows, target, stride, column);
      column += table.dimension;
    });
  }

  private fitStandardisation(data: EncodedRows): void {
    const p = this.spec.numeric.length;
    const n = data.rows;
    for (let j = 0; j < p; j++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += data.numeric[i * p + j] as number;
      mean /= n;
      let squares = 0;
      for (let i = 0; i < n; i++) {
        const d = (data.numeric[i * p + j] as number) - mean;
        squares += d * d;
      }
      const sd = Math.sqrt(squares / n);
      this.means[j] = mean;
      this.sds[j] = sd > 0 && Number.isFinite(sd) ? sd : 1;
    }
    this.standardised = true;
  }

  /**
   * Starts the output bias at the population log odds the data implies, log(sum w y / sum w (1 - y))
   * less the weighted mean offset, so that training does not spend its first epochs moving it.
   */
  private initialiseOutputBias(labels: Uint8Array, offset: Float32Array, weight: Float32Array): void {
    let positive = 0;
    let negative = 0;
    let shift = 0;
    for (let i = 0; i < labels.length; i++) {
      const w = weight[i] as number;
      if (labels[i] === 1) positive += w;
      else negative += w;
      shift += w * (offset[i] as number);
    }
    if (!(positive > 0 && negative > 0)) return;
    const bias = Math.log(positive / negative) - shift / (positive + negative);
    const output = this.biases[this.biases.length - 1] as tf.Variable;
    tf.tidy(() => output.assign(tf.tensor1d([bias])));
  }

  private standardise(data: EncodedRows): Float32Array {
    const p = this.spec.numeric.length;
    const values = new Float32Array(data.rows * p);
    for (let i = 0, at = 0; i < data.rows; i++) {
      for (let j = 0; j < p; j++, at++) {
        values[at] = ((data.numeric[at] as number) - (this.means[j] as number)) / (this.sds[j] as number);
      }
    }
    return values;
  }

  private snapshot(): { dense: Float32Array[]; tables: Float32Array[]; accumulators: Float32Array[] } {
    return {
      dense: [...this.weights, ...this.biases].map((variable) => Float32Array.from(variable.dataSync())),
      tables: this.tables.map((table) => table.values.slice()),
      accumulators: this.tables.map((table) => table.accumulators.slice()),
    };
  }

  private restore(state: {
    dense: Float32Array[];
    tables: Float32Array[];
    accumulators: Float32Array[];
  }): void {
    const variables: tf.Variable[] = [...this.weights, ...this.biases];
    variables.forEach((variable, k) => {
      tf.tidy(() => variable.assign(tf.tensor(state.dense[k] as Float32Array, variable.shape)));
    });
    this.tables.forEach((table, k) => {
      table.values.set(state.tables[k] as Float32Array);
      table.accumulators.set(state.accumulators[k] as Float32Array);
    });
  }
}
