/**
 * The block form of the fused score-and-sample pass: the rows are cut into fixed blocks of
 * `blockRows`, and block b draws its uniforms from its own stream, {@link blockRng}(seed, b). The
 * sample therefore depends on (seed, blockRows) only, never on which thread ran which block. Both the
 * worker threads and the single-thread reference run {@link sampleBlocks}; both results go through
 * {@link mergeBlocks}. Scoring and keep decisions are the core's `scoreRows` and `PoissonPass`.
 */
import type { DesignName } from '../designs.js';
import { RarefyError } from '../errors.js';
import type { DesignMatrix } from '../matrix.js';
import { createRng, type Rng } from '../rng.js';
import {
  CHUNK_ROWS,
  finishSample,
  KeptRows,
  logisticScorer,
  type PassTotals,
  PoissonPass,
  requireSolution,
  type SampleResult,
  scoreRows,
} from '../sample.js';
import type { ScaleSolution } from '../scale.js';

/** The default rows per block. */
export const DEFAULT_BLOCK_ROWS = 65_536;

/** Everything a block pass needs; structured-cloneable (large arrays in shared memory). */
export interface BlockJob {
  readonly x: DesignMatrix;
  readonly labels: Uint8Array;
  readonly pilotCoefficients: Float64Array;
  readonly design: DesignName;
  readonly solution: ScaleSolution;
  readonly seed: number | string;
  readonly blockRows: number;
  readonly optAInverse: Float64Array | undefined;
}

/** Options of {@link blockScoreAndSampleLogistic}. */
export interface BlockSampleOptions {
  /**
   * The seed. Block b (rows b * blockRows .. (b + 1) * blockRows - 1) draws one uniform per row, in
   * row order, from `createRng(`${seed}:block:${b}`)`.
   */
  seed: number | string;
  /** Rows per block (default 65536). The sample depends on (seed, blockRows) only. */
  blockRows?: number;
  /** M^-1 for optA. */
  optAInverse?: Float64Array;
}

/** The job of a block pass, from the arguments of the public functions. */
export function blockJob(
  x: DesignMatrix,
  labels: Uint8Array,
  pilotCoefficients: Float64Array,
  design: DesignName,
  solution: ScaleSolution,
  options: BlockSampleOptions,
): BlockJob {
  return {
    x,
    labels,
    pilotCoefficients,
    design,
    solution,
    seed: options.seed,
    blockRows: options.blockRows ?? DEFAULT_BLOCK_ROWS,
    optAInverse: options.optAInverse,
  };
}

/** What one thread's share of the blocks kept, block by block. */
export interface BlockOutput {
  /** The blocks this thread sampled, in the order it sampled them. */
  readonly blocks: Int32Array<ArrayBuffer>;
  /** The kept rows of blocks[j] are entries ends[j - 1] .. ends[j] - 1 (from 0 for j = 0). */
  readonly ends: Int32Array<ArrayBuffer>;
  /** Four per block, as blocks: expectedNegatives, expectedPositives, atCap, atFloor. */
  readonly totals: Float64Array<ArrayBuffer>;
  /** Kept row indices. */
  readonly rows: Int32Array<ArrayBuffer>;
  /** Their a0. */
  readonly negativeKeep: Float64Array<ArrayBuffer>;
  /** Their a1. */
  readonly positiveKeep: Float64Array<ArrayBuffer>;
}

/** The number of blocks of `blockRows` rows that cover `rows` rows (the last may be short). */
export function blockCount(rows: number, blockRows: number): number {
  return Math.ceil(rows / blockRows);
}

/**
 * The uniform stream of block `block`: `createRng(`${seed}:block:${block}`)`. A string seed, so a
 * numeric seed s and the string seed `${s}` give the same block streams.
 */
export function blockRng(seed: number | string, block: number): Rng {
  return createRng(`${seed}:block:${block}`);
}

/**
 * Validates a block pass before any thread starts: the same checks as the fused pass (shapes,
 * design, optA inverse, solution), and the seed and block size.
 */
export function validateBlockJob(job: BlockJob): void {
  logisticScorer(job.x, job.pilotCoefficients, job.design, { optAInverse: job.optAInverse }, job.labels);
  requireSolution(job.solution);
  createRng(job.seed); // throws RAREFY_INVALID_ARGUMENT for a seed that is neither a safe integer nor a string
  const { blockRows } = job;
  if (!(Number.isInteger(blockRows) && blockRows >= 1 && blockRows <= 2 ** 31 - 1)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `options.blockRows: ${blockRows} is not a block size`,
      `pass a whole number of rows >= 1 (default ${DEFAULT_BLOCK_ROWS}); the sample depends on it, so keep it fixed across runs`,
      { input: 'options.blockRows', value: blockRows },
    );
  }
}

/**
 * Scores and samples the blocks handed out by `takeBlock` (it returns a block index, or a value >=
 * the block count when none is left), each from its own stream, with the core's fused kernel and
 * Poisson pass.
 */
export function sampleBlocks(job: BlockJob, takeBlock: () => number): BlockOutput {
  const { x, labels, design, solution, seed, blockRows } = job;
  const scorer = logisticScorer(x, job.pilotCoefficients, design, { optAInverse: job.optAInverse }, labels);
  const pass = new PoissonPass(design, solution, x.rows);
  const count = blockCount(x.rows, blockRows);
  const scratch = new Float64Array(Math.max(1, Math.min(CHUNK_ROWS, blockRows, x.rows)));
  const blocks: number[] = [];
  const ends: number[] = [];
  const totals: number[] = [];
  for (let block = takeBlock(); block < count; block = takeBlock()) {
    const rng = blockRng(seed, block);
    const blockEnd = Math.min(x.rows, (block + 1) * blockRows);
    for (let start = block * blockRows; start < blockEnd; start += scratch.length) {
      const end = Math.min(blockEnd, start + scratch.length);
      scoreRows(scorer, start, end, scratch, 0);
      pass.run(scratch, labels, start, end - start, rng);
    }
    const blockTotals = pass.takeTotals();
    blocks.push(block);
    ends.push(pass.kept.length);
    totals.push(
      blockTotals.expectedNegatives,
      blockTotals.expectedPositives,
      blockTotals.atCap,
      blockTotals.atFloor,
    );
  }
  const { kept } = pass;
  return {
    blocks: Int32Array.from(blocks),
    ends: Int32Array.from(ends),
    totals: Float64Array.from(totals),
    rows: kept.rows.slice(0, kept.length),
    negativeKeep: kept.negativeKeep.slice(0, kept.length),
    positiveKeep: kept.positiveKeep.slice(0, kept.length),
  };
}

/**
 * Joins the threads' outputs in block order (so rows come out ascending), sums the block totals in
 * block order, and builds the SampleResult with the core's `finishSample`.
 */
export function mergeBlocks(
  outputs: readonly BlockOutput[],
  labels: Uint8Array,
  design: DesignName,
  count: number,
): SampleResult {
  const owner = new Int32Array(count).fill(-1);
  const position = new Int32Array(count);
  let keptTotal = 0;
  outputs.forEach((output, o) => {
    keptTotal += output.rows.length;
    output.blocks.forEach((block, j) => {
      if (block < 0 || block >= count || owner[block] !== -1) {
        throw new Error(`score-and-sample blocks: block ${block} was returned twice or is out of range`);
      }
      owner[block] = o;
      position[block] = j;
    });
  });
  const kept = new KeptRows(Math.max(1, keptTotal));
  const totals: PassTotals = { expectedNegatives: 0, expectedPositives: 0, atCap: 0, atFloor: 0 };
  let at = 0;
  for (let block = 0; block < count; block++) {
    const output = outputs[owner[block] as number];
    if (output === undefined) throw new Error(`score-and-sample blocks: block ${block} was never sampled`);
    const j = position[block] as number;
    const start = j === 0 ? 0 : (output.ends[j - 1] as number);
    const end = output.ends[j] as number;
    kept.rows.set(output.rows.subarray(start, end), at);
    kept.negativeKeep.set(output.negativeKeep.subarray(start, end), at);
    kept.positiveKeep.set(output.positiveKeep.subarray(start, end), at);
    at += end - start;
    totals.expectedNegatives += output.totals[4 * j] as number;
    totals.expectedPositives += output.totals[4 * j + 1] as number;
    totals.atCap += output.totals[4 * j + 2] as number;
    totals.atFloor += output.totals[4 * j + 3] as number;
  }
  kept.length = at;
  return finishSample(kept, labels, design === 'LCC', totals);
}
