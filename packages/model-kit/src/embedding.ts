import type { Rng } from '@rarefy/sampling-core';

/**
 * One embedding table in a Float32Array (buckets x dimension, row-major), kept outside autograd
 * (ALGORITHMS.md B.10): a batch's rows are gathered into the network's input in JavaScript, and the
 * gradient with respect to those gathered values is applied back with a sparse row-wise Adagrad
 * update that touches only the rows the batch used. Row-wise Adagrad keeps one accumulator per row
 * (the running sum of the mean squared gradient of that row), so its memory is one float per bucket.
 */
export class EmbeddingTable {
  /** Rows of the table. */
  readonly buckets: number;
  /** Columns of the table. */
  readonly dimension: number;
  /** The table, row-major: row r is `values[r * dimension .. (r + 1) * dimension)`. */
  readonly values: Float32Array;
  /** Row-wise Adagrad accumulators, one per row. */
  readonly accumulators: Float32Array;
  /** For each bucket, its slot in the current batch's gradient buffer, or -1. */
  private readonly slots: Int32Array;
  private gradient = new Float32Array(0);
  private touched = new Int32Array(0);
  private firstRow = new Int32Array(0);

  /**
   * @param buckets - rows
   * @param dimension - columns
   * @param rng - initialises the rows from N(0, scale^2)
   * @param scale - the initial standard deviation (default 1/sqrt(dimension))
   */
  constructor(buckets: number, dimension: number, rng: Rng | Float32Array, scale = 1 / Math.sqrt(dimension)) {
    this.buckets = buckets;
    this.dimension = dimension;
    if (rng instanceof Float32Array) {
      this.values = rng;
    } else {
      this.values = new Float32Array(buckets * dimension);
      for (let k = 0; k < this.values.length; k++) this.values[k] = rng.normal() * scale;
    }
    this.accumulators = new Float32Array(buckets);
    this.slots = new Int32Array(buckets).fill(-1);
  }

  /**
   * Copies the rows `buckets[rows[i]]` into `target` at row i, columns `column .. column + dimension`
   * of a row-major matrix with `stride` columns.
   *
   * @param buckets - the bucket of every data row
   * @param rows - which data rows form the batch, in order
   * @param target - the batch's input matrix
   * @param stride - its number of columns
   * @param column - the first column this table fills
   */
  gather(buckets: Int32Array, rows: Int32Array, target: Float32Array, stride: number, column: number): void {
    const { dimension, values } = this;
    // A plain loop: for embedding widths of a few dozen, subarray + set costs more than the copy.
    for (let i = 0; i < rows.length; i++) {
      const from = (buckets[rows[i] as number] as number) * dimension;
      const to = i * stride + column;
      for (let j = 0; j < dimension; j++) target[to + j] = values[from + j] as number;
    }
  }

  /**
   * Applies one sparse row-wise Adagrad step. The gradient of each touched row is the sum of the
   * gradients of the batch rows that used it (what the gradient of a gather is); every other row of
   * the table, and its accumulator, is left exactly as it was.
   *
   * @param buckets - the bucket of every data row
   * @param rows - the batch's data rows, in the order they were gathered
   * @param inputGradient - the gradient of the loss with respect to the batch's input matrix
   * @param stride - that matrix's number of columns
   * @param column - the first column of this table's block
   * @param learningRate - the Adagrad step size
   * @param epsilon - added to the root of the accumulator
   * @returns the number of distinct rows updated
   */
  applyAdagrad(
    buckets: Int32Array,
    rows: Int32Array,
    inputGradient: Float32Array,
    stride: number,
    column: number,
    learningRate: number,
    epsilon = 1e-7,
  ): number {
    const { dimension, values, accumulators, slots } = this;
    if (this.touched.length < rows.length) {
      this.touched = new Int32Array(rows.length);
      this.firstRow = new Int32Array(rows.length);
      this.gradient = new Float32Array(rows.length * dimension);
    }
    const { touched, firstRow, gradient } = this;
    // Pass 1: a slot per distinct bucket. A bucket used by one batch row reads that row's gradient
    // in place (firstRow >= 0); only a repeated bucket sums its rows into the gradient buffer
    // (firstRow = -1, the sum at the slot), so the common case copies nothing.
    let count = 0;
    for (let i = 0; i < rows.length; i++) {
      const bucket = buckets[rows[i] as number] as number;
      const slot = slots[bucket] as number;
      const from = i * stride + column;
      if (slot < 0) {
        slots[bucket] = count;
        touched[count] = bucket;
        firstRow[count] = from;
        count++;
        continue;
      }
      const first = firstRow[slot] as number;
      const to = slot * dimension;
      if (first >= 0) {
        for (let j = 0; j < dimension; j++) gradient[to + j] = inputGradient[first + j] as number;
        firstRow[slot] = -1;
      }
      for (let j = 0; j < dimension; j++) {
        gradient[to + j] = (gradient[to + j] as number) + (inputGradient[from + j] as number);
      }
    }
    // Pass 2: the row-wise Adagrad step of every touched bucket.
    for (let slot = 0; slot < count; slot++) {
      const bucket = touched[slot] as number;
      slots[bucket] = -1;
      const first = firstRow[slot] as number;
      const source = first >= 0 ? inputGradient : gradient;
      const at = first >= 0 ? first : slot * dimension;
      let squares = 0;
      for (let j = 0; j < dimension; j++) {
        const g = source[at + j] as number;
        squares += g * g;
      }
      const accumulator = (accumulators[bucket] as number) + squares / dimension;
      accumulators[bucket] = accumulator;
      const step = learningRate / (Math.sqrt(accumulator) + epsilon);
      const row = bucket * dimension;
      for (let j = 0; j < dimension; j++) {
        values[row + j] = (values[row + j] as number) - step * (source[at + j] as number);
      }
    }
    return count;
  }
}
