import { type DenseActivation, denseLayer, EmbeddingTable } from '@rarefy/model-kit';
import { RarefyInputError, type Rng } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { type EncodedFeatures, type ResolvedTowerSpec, towerInputSize } from './features.js';

/** Added under the square root of the L2 norm, so that a zero vector maps to zero instead of NaN. */
const NORM_EPSILON = 1e-12;

/**
 * Row-wise L2 normalisation `y = x / sqrt(|x|^2 + eps)` with a hand-written gradient
 * `dx = (dy - y <dy, y>) / |x|`, so that no built-in gradient is needed (tfjs-core registers none)
 * and the backward pass is three elementwise passes over the [n, d] matrix.
 *
 * @param x - shape [n, d]
 * @returns the normalised rows, shape [n, d]
 * @example
 * ```ts
 * const unit = l2Normalize(tf.tensor2d([[3, 4]])); // [[0.6, 0.8]]
 * ```
 */
export const l2Normalize: (x: tf.Tensor2D) => tf.Tensor2D = tf.customGrad<tf.Tensor2D>(
  (...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const inverse = tf.rsqrt(tf.add(tf.sum(tf.square(x), 1, true), NORM_EPSILON));
    const y = tf.mul(x, inverse) as tf.Tensor2D;
    save([y, inverse]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [out, inv] = saved as [tf.Tensor2D, tf.Tensor2D];
        const along = tf.sum(tf.mul(dy, out), 1, true);
        return [tf.mul(tf.sub(dy, tf.mul(out, along)), inv)];
      },
    };
  },
);

/** The trained values of a tower, in the layout {@link Tower} computes with. */
export interface TowerParameters {
  /** Embedding tables, row-major: the id table (when the spec has one), then categorical, then multi-hot. */
  readonly tables: readonly Float32Array[];
  /** Dense layers, input first; the last is the linear output layer. */
  readonly layers: ReadonlyArray<{ readonly weights: Float32Array; readonly bias: Float32Array }>;
}

/**
 * Scratch buffers for one batch of a tower's rows: the input matrix and, per embedding table, the
 * buckets each row used (after id dropout), which the sparse update needs. Reused between steps.
 */
export class TowerBatch {
  /** The rows this batch can hold. */
  readonly capacity: number;
  /** Rows filled by the last {@link Tower.fill}. */
  size = 0;
  /** The input matrix, capacity x inputSize, row-major (only the first `size` rows are valid). */
  readonly input: Float32Array;
  /** Per id/categorical table: each row's bucket. */
  readonly buckets: Int32Array[];
  /** Per multi-hot table: offsets (capacity + 1) of each row's values in `multiHotValues`. */
  readonly multiHotOffsets: Int32Array[];
  /** Per multi-hot table: the concatenated buckets of the rows' values (grown as needed). */
  multiHotValues: Int32Array[];

  /**
   * @param capacity - the most rows a batch holds
   * @param inputSize - the tower's input width
   * @param singleTables - id + categorical tables
   * @param multiHotTables - multi-hot tables
   */
  constructor(capacity: number, inputSize: number, singleTables: number, multiHotTables: number) {
    this.capacity = capacity;
    this.input = new Float32Array(capacity * inputSize);
    this.buckets = Array.from({ length: singleTables }, () => new Int32Array(capacity));
    this.multiHotOffsets = Array.from({ length: multiHotTables }, () => new Int32Array(capacity + 1));
    this.multiHotValues = Array.from({ length: multiHotTables }, () => new Int32Array(capacity));
  }
}

/** The activation tfjs computes for a hidden layer of the spec. */
function hiddenActivation(spec: ResolvedTowerSpec): DenseActivation {
  return spec.activation;
}

let identityRows = new Int32Array(0);

/** [0, 1, ..., n - 1], shared and grown on demand (read-only for callers). */
function identity(n: number): Int32Array {
  if (identityRows.length < n) {
    identityRows = new Int32Array(Math.max(n, identityRows.length * 2));
    for (let k = 0; k < identityRows.length; k++) identityRows[k] = k;
  }
  return identityRows.subarray(0, n);
}

/**
 * One tower of a two-tower model (ALGORITHMS.md B.3): embeddings of the id, hashed categoricals and
 * multi-hot sets are gathered in JavaScript from typed-array tables (model-kit's `EmbeddingTable`)
 * into the input matrix, numeric features are appended, and the MLP runs in TensorFlow.js through
 * model-kit's `denseLayer` (fast-layout custom gradients), followed by an L2 normalisation. The
 * tables are trained by sparse row-wise Adagrad on the gradient with respect to the input matrix;
 * the dense layers are tfjs variables (trained by the caller's optimizer).
 */
export class Tower {
  /** The architecture. */
  readonly spec: ResolvedTowerSpec;
  /** The width of the input row. */
  readonly inputSize: number;
  /** The width of the output embedding. */
  readonly outputDimension: number;
  /** Id table (when the spec has one) then categorical tables, one bucket per row. */
  readonly singleTables: readonly EmbeddingTable[];
  /** Multi-hot tables (mean of the values' rows). */
  readonly multiHotTables: readonly EmbeddingTable[];
  /** Dense weights, input first, each [in, out]. */
  readonly weights: readonly tf.Variable<tf.Rank.R2>[];
  /** Dense biases, each [out]. */
  readonly biases: readonly tf.Variable<tf.Rank.R1>[];
  /** First input column of each single table, then of each multi-hot table. */
  private readonly columns: readonly number[];
  private tokenGradient = new Float32Array(0);
  private disposed = false;

  /**
   * @param spec - the resolved spec
   * @param idRows - rows of the id table (vocabulary + 1; ignored without an id embedding)
   * @param init - a generator (random initialisation) or trained parameters to load
   * @throws RarefyInputError `RAREFY_DIMENSION_MISMATCH` when loaded parameters do not fit the spec
   */
  constructor(spec: ResolvedTowerSpec, idRows: number, init: Rng | TowerParameters) {
    this.spec = spec;
    this.inputSize = towerInputSize(spec);
    this.outputDimension = spec.outputDimension;
    const shapes: Array<[number, number]> = [];
    if (spec.id !== null) shapes.push([idRows, spec.id.dimension]);
    for (const feature of spec.categorical) shapes.push([feature.buckets, feature.dimension]);
    for (const feature of spec.multiHot) shapes.push([feature.buckets, feature.dimension]);
    const widths = [this.inputSize, ...spec.hidden, spec.outputDimension];
    const loaded = 'tables' in init ? init : undefined;
    if (loaded !== undefined) {
      const fits =
        loaded.tables.length === shapes.length &&
        loaded.tables.every(
          (table, k) =>
            table.length === (shapes[k] as [number, number])[0] * (shapes[k] as [number, number])[1],
        ) &&
        loaded.layers.length === widths.length - 1 &&
        loaded.layers.every(
          (layer, k) =>
            layer.weights.length === (widths[k] as number) * (widths[k + 1] as number) &&
            layer.bias.length === widths[k + 1],
        );
      if (!fits) {
        throw new RarefyInputError(
          'RAREFY_DIMENSION_MISMATCH',
          'weights: the tables or layers of a tower do not match its spec',
          'pass the unmodified output of TwoTowerModel.weights()',
          { input: 'weights' },
        );
      }
    }
    const rng = loaded === undefined ? (init as Rng) : undefined;
    const tables = shapes.map(([rows, dimension], k) => {
      if (loaded !== undefined)
        return new EmbeddingTable(rows, dimension, (loaded.tables[k] as Float32Array).slice());
      const table = new EmbeddingTable(rows, dimension, rng as Rng);
      // The id table's unknown row starts at zero: only id dropout (or nothing) trains it.
      if (k === 0 && spec.id !== null) table.values.fill(0, 0, dimension);
      return table;
    });
    const singleCount = (spec.id === null ? 0 : 1) + spec.categorical.length;
    this.singleTables = tables.slice(0, singleCount);
    this.multiHotTables = tables.slice(singleCount);
    const columns: number[] = [];
    let column = 0;
    for (const table of tables) {
      columns.push(column);
      column += table.dimension;
    }
    this.columns = columns;
    const weights: tf.Variable<tf.Rank.R2>[] = [];
    const biases: tf.Variable<tf.Rank.R1>[] = [];
    for (let layer = 0; layer + 1 < widths.length; layer++) {
      const fanIn = widths[layer] as number;
      const fanOut = widths[layer + 1] as number;
      let w: Float32Array;
      let b: Float32Array;
      if (loaded !== undefined) {
        const source = loaded.layers[layer] as { weights: Float32Array; bias: Float32Array };
        w = source.weights;
        b = source.bias;
      } else {
        // Glorot uniform, seeded; biases start at zero.
        const limit = Math.sqrt(6 / (fanIn + fanOut));
        w = new Float32Array(fanIn * fanOut);
        for (let k = 0; k < w.length; k++) w[k] = (2 * (rng as Rng).nextFloat64() - 1) * limit;
        b = new Float32Array(fanOut);
      }
      // tf.variable copies its initial value, so the temporary tensors are released at once.
      weights.push(tf.tidy(() => tf.variable(tf.tensor2d(w, [fanIn, fanOut]), true)));
      biases.push(tf.tidy(() => tf.variable(tf.tensor1d(b), true)));
    }
    this.weights = weights;
    this.biases = biases;
  }

  /** The dense parameters in [W1, b1, W2, b2, ...] order (what {@link forward} takes). */
  parameters(): tf.Variable[] {
    return this.weights.flatMap((w, k): tf.Variable[] => [w, this.biases[k] as tf.Variable]);
  }

  /**
   * The tower's L2-normalised output for a batch's input matrix.
   *
   * @param input - shape [n, inputSize]
   * @param parameters - tensors of the dense parameters in [W1, b1, ...] order (default: the variables)
   * @returns shape [n, outputDimension], unit rows
   */
  forward(input: tf.Tensor2D, parameters: readonly tf.Tensor[] = this.parameters()): tf.Tensor2D {
    let hidden = input;
    const layers = this.weights.length;
    for (let layer = 0; layer < layers; layer++) {
      hidden = denseLayer(
        hidden,
        parameters[2 * layer] as tf.Tensor2D,
        parameters[2 * layer + 1] as tf.Tensor1D,
        layer + 1 < layers ? hiddenActivation(this.spec) : 'linear',
      );
    }
    return l2Normalize(hidden);
  }

  /**
   * Scratch buffers for batches of up to `capacity` rows.
   *
   * @param capacity - rows
   */
  createBatch(capacity: number): TowerBatch {
    return new TowerBatch(capacity, this.inputSize, this.singleTables.length, this.multiHotTables.length);
  }

  /**
   * Fills `batch` with the input rows of `rows` (indices into `features`): id row (replaced by the
   * unknown row 0 with probability `dropout`), categorical and mean multi-hot embeddings, numeric values.
   *
   * @param batch - scratch buffers with capacity >= rows.length
   * @param features - the encoded users or items
   * @param rows - which of them, in batch order
   * @param dropout - id dropout probability and its generator (training only)
   */
  fill(
    batch: TowerBatch,
    features: EncodedFeatures,
    rows: Int32Array,
    dropout?: { readonly probability: number; readonly rng: Rng },
  ): void {
    const n = rows.length;
    const stride = this.inputSize;
    const spec = this.spec;
    batch.size = n;
    let single = 0;
    if (spec.id !== null) {
      const ids = batch.buckets[0] as Int32Array;
      const source = features.idRows;
      for (let i = 0; i < n; i++) ids[i] = source[rows[i] as number] as number;
      if (dropout !== undefined && dropout.probability > 0) {
        for (let i = 0; i < n; i++) if (dropout.rng.nextFloat64() < dropout.probability) ids[i] = 0;
      }
      single = 1;
    }
    for (let k = 0; k < spec.categorical.length; k++) {
      const target = batch.buckets[single + k] as Int32Array;
      const source = features.categorical[k] as Int32Array;
      for (let i = 0; i < n; i++) target[i] = source[rows[i] as number] as number;
    }
    const all = identity(n);
    this.singleTables.forEach((table, k) => {
      table.gather(batch.buckets[k] as Int32Array, all, batch.input, stride, this.columns[k] as number);
    });
    this.multiHotTables.forEach((table, k) => {
      const { offsets, buckets } = features.multiHot[k] as EncodedFeatures['multiHot'][number];
      const batchOffsets = batch.multiHotOffsets[k] as Int32Array;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const row = rows[i] as number;
        total += (offsets[row + 1] as number) - (offsets[row] as number);
      }
      if ((batch.multiHotValues[k] as Int32Array).length < total) {
        batch.multiHotValues[k] = new Int32Array(
          Math.max(total, 2 * (batch.multiHotValues[k] as Int32Array).length),
        );
      }
      const values = batch.multiHotValues[k] as Int32Array;
      const dimension = table.dimension;
      const column = this.columns[this.singleTables.length + k] as number;
      const tableValues = table.values;
      const input = batch.input;
      let at = 0;
      for (let i = 0; i < n; i++) {
        const row = rows[i] as number;
        const start = offsets[row] as number;
        const end = offsets[row + 1] as number;
        batchOffsets[i] = at;
        const to = i * stride + column;
        input.fill(0, to, to + dimension);
        const count = end - start;
        if (count === 0) continue;
        const scale = 1 / count;
        for (let v = start; v < end; v++) {
          const bucket = buckets[v] as number;
          values[at++] = bucket;
          const from = bucket * dimension;
          for (let j = 0; j < dimension; j++) {
            input[to + j] = (input[to + j] as number) + (tableValues[from + j] as number) * scale;
          }
        }
      }
      batchOffsets[n] = at;
    });
    const p = spec.numeric.length;
    if (p > 0) {
      const first = stride - p;
      const numeric = features.numeric;
      const input = batch.input;
      for (let i = 0; i < n; i++) {
        const from = (rows[i] as number) * p;
        const to = i * stride + first;
        for (let j = 0; j < p; j++) input[to + j] = numeric[from + j] as number;
      }
    }
  }

  /**
   * One sparse row-wise Adagrad step on every embedding table, from the gradient of the loss with
   * respect to the batch's input matrix (the rows the batch used, after dropout; a multi-hot row's
   * gradient is shared equally by its values, the gradient of a mean).
   *
   * @param batch - the batch as {@link fill} left it
   * @param gradient - d loss / d input, batch.size x inputSize, row-major
   * @param learningRate - Adagrad's step size
   */
  applyEmbeddingGradient(batch: TowerBatch, gradient: Float32Array, learningRate: number): void {
    const n = batch.size;
    const stride = this.inputSize;
    const all = identity(n);
    this.singleTables.forEach((table, k) => {
      table.applyAdagrad(
        batch.buckets[k] as Int32Array,
        all,
        gradient,
        stride,
        this.columns[k] as number,
        learningRate,
      );
    });
    this.multiHotTables.forEach((table, k) => {
      const offsets = batch.multiHotOffsets[k] as Int32Array;
      const total = offsets[n] as number;
      if (total === 0) return;
      const dimension = table.dimension;
      if (this.tokenGradient.length < total * dimension)
        this.tokenGradient = new Float32Array(total * dimension);
      const tokens = this.tokenGradient;
      const column = this.columns[this.singleTables.length + k] as number;
      for (let i = 0; i < n; i++) {
        const start = offsets[i] as number;
        const end = offsets[i + 1] as number;
        if (end === start) continue;
        const scale = 1 / (end - start);
        const from = i * stride + column;
        for (let v = start; v < end; v++) {
          const to = v * dimension;
          for (let j = 0; j < dimension; j++) tokens[to + j] = (gradient[from + j] as number) * scale;
        }
      }
      table.applyAdagrad(
        batch.multiHotValues[k] as Int32Array,
        identity(total),
        tokens,
        dimension,
        0,
        learningRate,
      );
    });
  }

  /**
   * The L2-normalised embeddings of `rows` of `features`, computed in chunks (no dropout).
   *
   * @param features - encoded users or items
   * @param rows - which rows, in output order
   * @param chunk - rows per forward pass (default 4096)
   * @returns rows.length x outputDimension, row-major
   */
  embed(features: EncodedFeatures, rows: Int32Array, chunk = 4096): Float32Array {
    this.requireAlive();
    const n = rows.length;
    const d = this.outputDimension;
    const out = new Float32Array(n * d);
    const batch = this.createBatch(Math.max(1, Math.min(chunk, n)));
    const parameters = this.parameters();
    for (let start = 0; start < n; start += batch.capacity) {
      const part = rows.subarray(start, Math.min(n, start + batch.capacity));
      this.fill(batch, features, part);
      tf.tidy(() => {
        const input = tf.tensor2d(batch.input.subarray(0, part.length * this.inputSize), [
          part.length,
          this.inputSize,
        ]);
        out.set(this.forward(input, parameters).dataSync(), start * d);
      });
    }
    return out;
  }

  /** Copies of the tables and dense layers. */
  snapshot(): TowerParameters {
    return {
      tables: [...this.singleTables, ...this.multiHotTables].map((table) => table.values.slice()),
      layers: this.weights.map((w, k) => ({
        weights: Float32Array.from(w.dataSync()),
        bias: Float32Array.from((this.biases[k] as tf.Variable).dataSync()),
      })),
    };
  }

  /**
   * Loads values taken by {@link snapshot} (tables, their Adagrad accumulators when given, layers).
   *
   * @param parameters - the values
   * @param accumulators - Adagrad accumulators per table (optional)
   */
  restore(parameters: TowerParameters, accumulators?: readonly Float32Array[]): void {
    [...this.singleTables, ...this.multiHotTables].forEach((table, k) => {
      table.values.set(parameters.tables[k] as Float32Array);
      if (accumulators !== undefined) table.accumulators.set(accumulators[k] as Float32Array);
    });
    this.weights.forEach((w, k) => {
      const layer = parameters.layers[k] as TowerParameters['layers'][number];
      tf.tidy(() => {
        w.assign(tf.tensor2d(layer.weights, w.shape));
        (this.biases[k] as tf.Variable).assign(tf.tensor1d(layer.bias));
      });
    });
  }

  /** The Adagrad accumulators of every table (copies). */
  accumulators(): Float32Array[] {
    return [...this.singleTables, ...this.multiHotTables].map((table) => table.accumulators.slice());
  }

  /** Frees the dense variables. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const variable of [...this.weights, ...this.biases]) variable.dispose();
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
