import { registerTrainingKernels } from '@rarefy/model-kit';
import { createRng, RarefyError, requireArgument, shuffleInPlace } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { offsetBinaryCrossEntropy } from './loss.js';

/** Any tfjs model with one logit per row: what {@link trainWithOffset} trains. */
export interface LogitModel {
  /**
   * The logits of a batch of rows (no offset).
   *
   * @param inputs - rows of the inputs tensor (rows first)
   * @returns shape [rows] or [rows, 1]
   */
  logits(inputs: tf.Tensor): tf.Tensor;
  /** The trainable variables. */
  readonly variables: readonly tf.Variable[];
}

/** Options of {@link trainWithOffset}. */
export interface TrainWithOffsetOptions {
  /** The training rows, rows first (e.g. [n, d]). */
  readonly inputs: tf.Tensor;
  /** 0/1 labels, one per row. */
  readonly labels: ArrayLike<number>;
  /** Per-row offsets added to the logit in the loss (`-log pi`; default 0). */
  readonly offset?: ArrayLike<number>;
  /** Per-row loss weights (`1/pi` for IPW; default 1). */
  readonly weight?: ArrayLike<number>;
  /** Passes over the rows. */
  readonly epochs: number;
  /** Rows per step. */
  readonly batchSize: number;
  /** Seeds the shuffling of the rows. */
  readonly seed: number;
  /** The optimizer (default Adam at `learningRate`). */
  readonly optimizer?: tf.Optimizer;
  /** The step size of the default optimizer (default 1e-3). */
  readonly learningRate?: number;
  /** Called after every epoch with its mean loss. */
  readonly onEpoch?: (epoch: number, loss: number) => void;
}

/**
 * Trains any tfjs logit model with the log-odds correction (offsets) or IPW weights: every step
 * minimises the mean of `weight_i * BCE(y_i, logit_i + offset_i)` (with the hand-written gradient of
 * {@link offsetBinaryCrossEntropy}); predict with the model's logits alone.
 *
 * The model's own ops are differentiated by autograd, which needs their gradients registered:
 * `@tensorflow/tfjs-core` alone registers none (the `@tensorflow/tfjs` bundle does), and the wasm
 * backend lacks `UnsortedSegmentSum`, the gradient of `tf.gather` (embedding lookups). So the first
 * call awaits `registerTrainingKernels()` of `@rarefy/model-kit`, which registers tfjs-core's
 * gradients and that kernel (once per process; about a second in Node). Models built only on custom
 * gradients, such as {@link denseLayer}, would not need it.
 *
 * @param model - the model: its logits and variables
 * @param options - rows, labels, correction and schedule
 * @returns the mean loss of every epoch
 * @example
 * ```ts
 * const table = tf.variable(tf.randomNormal([buckets, 8])); const w = tf.variable(tf.zeros([8, 1]));
 * const model = { logits: (ids: tf.Tensor) => tf.matMul(tf.gather(table, ids), w), variables: [table, w] };
 * await trainWithOffset(model, { inputs: ids, labels, offset, epochs: 5, batchSize: 256, seed: 1, learningRate: 0.01 });
 * ```
 */
export async function trainWithOffset(
  model: LogitModel,
  options: TrainWithOffsetOptions,
): Promise<{ losses: number[] }> {
  const n = options.inputs.shape[0] ?? 0;
  requireArgument(n >= 1, 'inputs', 'has no rows', 'pass a tensor whose first dimension counts the rows');
  for (const [name, values] of [
    ['labels', options.labels],
    ['offset', options.offset],
    ['weight', options.weight],
  ] as const) {
    if (values !== undefined && values.length !== n) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `${name}: has ${values.length} entries for ${n} rows`,
        'pass one per row',
        {
          input: name,
        },
      );
    }
  }
  requireArgument(
    Number.isInteger(options.epochs) && options.epochs >= 1,
    'epochs',
    `${options.epochs} is not an epoch count`,
    'pass an integer >= 1',
  );
  requireArgument(
    Number.isInteger(options.batchSize) && options.batchSize >= 1,
    'batchSize',
    `${options.batchSize} is not a batch size`,
    'pass an integer >= 1',
  );
  await registerTrainingKernels();
  const optimizer = options.optimizer ?? tf.train.adam(options.learningRate ?? 1e-3);
  const rng = createRng(options.seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const losses: number[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    shuffleInPlace(order, rng);
    let total = 0;
    for (let start = 0; start < n; start += options.batchSize) {
      const rows = order.slice(start, Math.min(n, start + options.batchSize));
      const pick = (values: ArrayLike<number> | undefined, fallback: number): Float32Array =>
        Float32Array.from(rows, (row) => (values === undefined ? fallback : (values[row] as number)));
      const loss = tf.tidy(() => {
        const inputs = tf.gather(options.inputs, tf.tensor1d(rows, 'int32'));
        const labels = tf.tensor1d(pick(options.labels, 0));
        const offset = tf.tensor1d(pick(options.offset, 0));
        const weight = tf.tensor1d(pick(options.weight, 1));
        const value = optimizer.minimize(
          () =>
            offsetBinaryCrossEntropy(
              model.logits(inputs) as tf.Tensor1D | tf.Tensor2D,
              labels,
              offset,
              weight,
            ),
          true,
          [...model.variables],
        );
        return (value as tf.Scalar).dataSync()[0] as number;
      });
      total += loss * rows.length;
    }
    losses.push(total / n);
    options.onEpoch?.(epoch, total / n);
  }
  if (options.optimizer === undefined) optimizer.dispose();
  return { losses };
}
