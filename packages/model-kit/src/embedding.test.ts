import { createRng } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { EmbeddingTable } from './embedding.js';

/** Row-wise Adagrad written the plain way: dense per-bucket sums, then the update of every touched row. */
function referenceStep(
  values: Float32Array,
  accumulators: Float32Array,
  dimension: number,
  buckets: Int32Array,
  rows: Int32Array,
  inputGradient: Float32Array,
  stride: number,
  column: number,
  learningRate: number,
): void {
  const sums = new Map<number, Float64Array>();
  for (let i = 0; i < rows.length; i++) {
    const bucket = buckets[rows[i] as number] as number;
    const sum = sums.get(bucket) ?? new Float64Array(dimension);
    for (let j = 0; j < dimension; j++)
      sum[j] = (sum[j] as number) + (inputGradient[i * stride + column + j] as number);
    sums.set(bucket, sum);
  }
  for (const [bucket, sum] of sums) {
    let squares = 0;
    for (const g of sum) squares += g * g;
    const accumulator = (accumulators[bucket] as number) + squares / dimension;
    accumulators[bucket] = accumulator;
    const step = learningRate / (Math.sqrt(accumulator) + 1e-7);
    for (let j = 0; j < dimension; j++) {
      const at = bucket * dimension + j;
      values[at] = (values[at] as number) - step * (sum[j] as number);
    }
  }
}

describe('EmbeddingTable.applyAdagrad', () => {
  it.each([1, 2, 3])(
    'matches a dense reference over 20 steps of random batches with repeated buckets (seed %i)',
    (seed) => {
      const rng = createRng(seed);
      const dimension = 5;
      const stride = 9;
      const column = 2;
      const table = new EmbeddingTable(40, dimension, rng);
      const values = table.values.slice();
      const accumulators = table.accumulators.slice();
      const buckets = Int32Array.from({ length: 100 }, () => rng.nextInt(40));
      for (let step = 0; step < 20; step++) {
        // Batches of 1-60 rows drawn from 100 data rows over 40 buckets: one, two and many repeats.
        const size = 1 + rng.nextInt(60);
        const rows = Int32Array.from({ length: size }, () => rng.nextInt(100));
        const gradient = Float32Array.from({ length: size * stride }, () => rng.normal());
        const distinct = new Set(Array.from(rows, (row) => buckets[row])).size;
        expect(table.applyAdagrad(buckets, rows, gradient, stride, column, 0.1)).toBe(distinct);
        referenceStep(values, accumulators, dimension, buckets, rows, gradient, stride, column, 0.1);
        for (let k = 0; k < values.length; k++) expect(table.values[k]).toBeCloseTo(values[k] as number, 5);
        for (let k = 0; k < accumulators.length; k++)
          expect(table.accumulators[k]).toBeCloseTo(accumulators[k] as number, 4);
      }
    },
  );
});
