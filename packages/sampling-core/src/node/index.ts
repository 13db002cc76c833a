/**
 * @packageDocumentation
 * The Node-only part of `@rarefy/sampling-core`: the fused logistic score-and-sample pass on worker
 * threads over shared memory (ALGORITHMS.md A.11), its single-thread block reference, and the helpers
 * that put data in shared memory.
 */
import { availableParallelism } from 'node:os';
import type { DesignName } from '../designs.js';
import type { DesignMatrix } from '../matrix.js';
import type { SampleResult } from '../sample.js';
import type { ScaleSolution } from '../scale.js';
import {
  type BlockSampleOptions,
  blockCount,
  blockJob,
  mergeBlocks,
  sampleBlocks,
  validateBlockJob,
} from './blocks.js';
import { requireWorkerCount, ScoreWorkerPool } from './pool.js';
import { requireShared } from './shared-memory.js';

export type { BlockSampleOptions } from './blocks.js';
export type { ScoreWorkerPoolOptions } from './pool.js';
export { ScoreWorkerPool } from './pool.js';
export { sharedDesignMatrix, sharedLabels } from './shared-memory.js';

/** Options of {@link parallelScoreAndSampleLogistic}. */
export interface ParallelSampleOptions extends BlockSampleOptions {
  /**
   * Worker threads of the pool started for this call (default `os.availableParallelism()`, at most
   * one per block). Ignored when `pool` is given. The sample does not depend on it.
   */
  workers?: number;
  /** A running pool to use instead of starting (and terminating) one for this call. */
  pool?: ScoreWorkerPool;
}

/**
 * The fused logistic score-and-sample pass of `scoreAndSampleLogistic`, cut into fixed blocks of
 * `blockRows` rows, each sampled from its own stream `createRng(`${seed}:block:${b}`)`, on one
 * thread. It is the reference {@link parallelScoreAndSampleLogistic} equals exactly; scores, keep
 * probabilities, pi, offset and weight are computed by the same code as `scoreAndSampleLogistic`.
 * The totals (expected sizes, cap and floor counts) are summed block by block in block order.
 *
 * @param x - the design matrix (ordinary or shared memory)
 * @param labels - 0/1 per row
 * @param pilotCoefficients - the population-scale pilot coefficients (intercept already corrected)
 * @param design - the design
 * @param solution - the solved scale
 * @param options - `seed`, `blockRows` (default 65536), `optAInverse` for optA
 * @returns the sample, rows ascending, as `scoreAndSampleLogistic` returns it
 * @example
 * ```ts
 * const reference = blockScoreAndSampleLogistic(x, y, beta, 'optL', solution, { seed: 1 });
 * ```
 */
export function blockScoreAndSampleLogistic(
  x: DesignMatrix,
  labels: Uint8Array,
  pilotCoefficients: Float64Array,
  design: DesignName,
  solution: ScaleSolution,
  options: BlockSampleOptions,
): SampleResult {
  const job = blockJob(x, labels, pilotCoefficients, design, solution, options);
  validateBlockJob(job);
  const count = blockCount(x.rows, job.blockRows);
  let next = 0;
  const output = sampleBlocks(job, () => next++);
  return mergeBlocks([output], labels, design, count);
}

/**
 * The fused logistic score-and-sample pass (`scoreAndSampleLogistic`, ALGORITHMS.md A.11) on worker
 * threads: the rows are cut into blocks of `blockRows`, the threads take blocks from a shared counter,
 * and block b draws its uniforms from `createRng(`${seed}:block:${b}`)`, so the sample depends on
 * (seed, blockRows) only, not on the number of threads, and equals
 * {@link blockScoreAndSampleLogistic} exactly. `x.data` and `labels` must live in shared memory
 * ({@link sharedDesignMatrix}, {@link sharedLabels}), so nothing large is copied. Errors raised in a
 * thread (a non-finite row: RAREFY_NON_FINITE naming it) reject with the same typed error; when
 * several blocks fail, the error of the first of them is reported.
 *
 * @param x - the design matrix, its data in a SharedArrayBuffer
 * @param labels - 0/1 per row, in a SharedArrayBuffer
 * @param pilotCoefficients - the population-scale pilot coefficients (intercept already corrected)
 * @param design - the design
 * @param solution - the solved scale
 * @param options - `seed`; `workers` (default `os.availableParallelism()`) or a running `pool`;
 *   `blockRows` (default 65536); `optAInverse` for optA
 * @returns the sample, rows ascending, as `scoreAndSampleLogistic` returns it
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` when x.data or labels are not in shared memory
 * @example
 * ```ts
 * const xs = sharedDesignMatrix(x);
 * const ys = sharedLabels(y);
 * const solution = solveScale('optL', logisticDesignScores(xs, beta, 'optL'), ys, { method: 'rate', rate: 0.01 });
 * const sample = await parallelScoreAndSampleLogistic(xs, ys, beta, 'optL', solution, { seed: 1 });
 * ```
 */
export async function parallelScoreAndSampleLogistic(
  x: DesignMatrix,
  labels: Uint8Array,
  pilotCoefficients: Float64Array,
  design: DesignName,
  solution: ScaleSolution,
  options: ParallelSampleOptions,
): Promise<SampleResult> {
  const job = blockJob(x, labels, pilotCoefficients, design, solution, options);
  validateBlockJob(job);
  requireShared(x.data, 'x.data', 'sharedDesignMatrix');
  requireShared(labels, 'labels', 'sharedLabels');
  if (options.pool !== undefined)
    return options.pool.scoreAndSampleLogistic(x, labels, pilotCoefficients, design, solution, options);
  const count = blockCount(x.rows, job.blockRows);
  if (count === 0) return mergeBlocks([], labels, design, 0);
  const workers = options.workers ?? availableParallelism();
  requireWorkerCount(workers, 'options.workers');
  const pool = new ScoreWorkerPool({ workers: Math.min(workers, count) });
  try {
    return await pool.scoreAndSampleLogistic(x, labels, pilotCoefficients, design, solution, options);
  } finally {
    await pool.close();
  }
}
