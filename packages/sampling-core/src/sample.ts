import { DESIGN_NAMES, type DesignName, optANorm2, optANormFactor, unknownDesign } from './designs.js';
import { RarefyError, RarefyInputError } from './errors.js';
import { type DesignMatrix, sigmoid } from './matrix.js';
import { initialCapacity } from './poisson.js';
import type { Rng } from './rng.js';
import { clampKeepProbability, type ScaleSolution } from './scale.js';
import { invalidLabel } from './validate.js';

/**
 * A Poisson sample with the correction columns of ALGORITHMS.md A.5, so any trainer can apply the
 * log-odds correction (`offset`) or inverse-probability weighting (`weight`).
 */
export interface SampleResult {
  /** Kept original row indices, ascending. */
  readonly rows: Int32Array;
  /** Their labels. */
  readonly labels: Uint8Array;
  /** The design's negative-keep probability a0 at the row's x (mixed, floored, capped), positives too. */
  readonly pi: Float64Array;
  /** log(a1 / a0) at the row's x: -log(pi) outside LCC. Add it to the logit when fitting. */
  readonly offset: Float64Array;
  /** 1 / the row's own keep probability (1 for positives outside LCC). */
  readonly weight: Float64Array;
  /** Realised kept positives. */
  readonly positives: number;
  /** Realised kept negatives. */
  readonly negatives: number;
  /** Sum over the negatives offered of their keep probability. */
  readonly expectedNegatives: number;
  /** Positives offered outside LCC; for LCC the sum of their keep probability a1. */
  readonly expectedPositives: number;
  /** Negatives offered whose keep probability was capped at 1. */
  readonly atCap: number;
  /** Negatives offered whose keep probability was floored at piMin. */
  readonly atFloor: number;
}

/**
 * Kept rows with a0 and a1, grown by doubling; the columns are derived after the pass.
 * @internal Not re-exported from index.ts; shared with the `./node` block passes.
 */
export class KeptRows {
  rows: Int32Array;
  negativeKeep: Float64Array;
  positiveKeep: Float64Array;
  length = 0;

  constructor(capacity: number) {
    this.rows = new Int32Array(capacity);
    this.negativeKeep = new Float64Array(capacity);
    this.positiveKeep = new Float64Array(capacity);
  }

  push(row: number, a0: number, a1: number): void {
    if (this.length === this.rows.length) this.grow();
    const k = this.length++;
    this.rows[k] = row;
    this.negativeKeep[k] = a0;
    this.positiveKeep[k] = a1;
  }

  private grow(): void {
    const capacity = this.rows.length * 2;
    const rows = new Int32Array(capacity);
    rows.set(this.rows);
    const a0 = new Float64Array(capacity);
    a0.set(this.negativeKeep);
    const a1 = new Float64Array(capacity);
    a1.set(this.positiveKeep);
    this.rows = rows;
    this.negativeKeep = a0;
    this.positiveKeep = a1;
  }
}

/** Counters accumulated by a sampling pass. @internal */
export interface PassTotals {
  expectedNegatives: number;
  expectedPositives: number;
  atCap: number;
  atFloor: number;
}

/** The SampleResult columns of kept rows (offset, weight, labels) and the pass totals. @internal */
export function finishSample(
  kept: KeptRows,
  labels: Uint8Array,
  lcc: boolean,
  totals: PassTotals,
): SampleResult {
  const m = kept.length;
  const rows = kept.rows.slice(0, m);
  const pi = kept.negativeKeep.slice(0, m);
  const keptLabels = new Uint8Array(m);
  const offset = new Float64Array(m);
  const weight = new Float64Array(m);
  let positives = 0;
  for (let k = 0; k < m; k++) {
    const label = labels[rows[k] as number] as number;
    keptLabels[k] = label;
    positives += label;
    const a0 = pi[k] as number;
    if (lcc) {
      const a1 = kept.positiveKeep[k] as number;
      offset[k] = Math.log(a1 / a0);
      weight[k] = 1 / (label === 1 ? a1 : a0);
    } else {
      offset[k] = 0 - Math.log(a0); // 0 - keeps log(1) = 0 from becoming -0
      weight[k] = label === 1 ? 1 : 1 / a0;
    }
  }
  return {
    rows,
    labels: keptLabels,
    pi,
    offset,
    weight,
    positives,
    negatives: m - positives,
    expectedNegatives: totals.expectedNegatives,
    expectedPositives: totals.expectedPositives,
    atCap: totals.atCap,
    atFloor: totals.atFloor,
  };
}

/** Throws unless `solution` is a solved scale with a valid piMin. @internal */
export function requireSolution(solution: ScaleSolution): void {
  const { scale, uniformRate, alpha, piMin } = solution;
  if (!(scale >= 0 && scale < Number.POSITIVE_INFINITY && uniformRate >= 0 && alpha >= 0 && alpha < 1)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `solution: scale ${scale}, uniform rate ${uniformRate}, alpha ${alpha} are not a solved scale`,
      'pass the ScaleSolution returned by solveScale',
      { input: 'solution' },
    );
  }
  if (!(piMin > 0 && piMin < 1)) {
    throw new RarefyError(
      'RAREFY_PI_UNDERFLOW',
      `solution: piMin ${piMin} is not in (0, 1), so offsets -log(pi) could be infinite`,
      'pass the ScaleSolution returned by solveScale (its piMin defaults to 1e-6)',
      { input: 'solution.piMin', value: piMin },
    );
  }
}

/** The expected kept count used to size the output buffers. */
function expectedKept(solution: ScaleSolution, rows: number): number {
  return initialCapacity(solution.expectedNegatives + solution.expectedPositives, rows);
}

/**
 * The Poisson sampling pass over scores, resumable over chunks of rows: the one place where keep
 * probabilities, the keep decision and the cap/floor counts are computed.
 * @internal Not re-exported from index.ts; shared with the `./node` block passes.
 */
export class PoissonPass {
  private readonly lcc: boolean;
  private readonly multiplier: number;
  private readonly base: number;
  private readonly piMin: number;
  /** The rows kept so far, in the order they were offered. */
  readonly kept: KeptRows;
  private readonly totals: PassTotals = { expectedNegatives: 0, expectedPositives: 0, atCap: 0, atFloor: 0 };

  constructor(design: DesignName, solution: ScaleSolution, rows: number) {
    requireSolution(solution);
    this.lcc = design === 'LCC';
    this.multiplier = (1 - solution.alpha) * solution.scale;
    this.base = solution.alpha * solution.uniformRate;
    this.piMin = solution.piMin;
    this.kept = new KeptRows(expectedKept(solution, rows));
  }

  /** Samples rows firstRow .. firstRow + count - 1, whose scores are scores[0 .. count - 1]. */
  run(scores: Float64Array, labels: Uint8Array, firstRow: number, count: number, rng: Rng): void {
    const { lcc, multiplier, base, piMin, kept, totals } = this;
    let { expectedNegatives, expectedPositives, atCap, atFloor } = totals;
    for (let k = 0; k < count; k++) {
      const i = firstRow + k;
      const u = rng.nextFloat64();
      const score = scores[k] as number;
      if (!(score >= 0)) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `scores: row ${i + 1} (index ${i}) is ${score}, not a score >= 0`,
          'compute the scores with designScores from finite pilot probabilities',
          { input: 'scores', row: i, value: score },
        );
      }
      let a0 = multiplier * score + base;
      const label = labels[i];
      if (label === 0) {
        if (a0 <= piMin) {
          a0 = piMin;
          atFloor++;
        } else if (a0 >= 1) {
          a0 = 1;
          atCap++;
        }
        expectedNegatives += a0;
        // Under LCC the offset of every kept row, negatives included, is log(a1(x) / a0(x)).
        if (u <= a0) kept.push(i, a0, lcc ? clampKeepProbability(multiplier * (1 - score) + base, piMin) : 1);
      } else if (label === 1) {
        a0 = clampKeepProbability(a0, piMin);
        if (lcc) {
          const a1 = clampKeepProbability(multiplier * (1 - score) + base, piMin);
          expectedPositives += a1;
          if (u <= a1) kept.push(i, a0, a1);
        } else {
          expectedPositives++;
          kept.push(i, a0, 1);
        }
      } else {
        throw invalidLabel('labels', i, label);
      }
    }
    Object.assign(totals, { expectedNegatives, expectedPositives, atCap, atFloor });
  }

  /** The totals accumulated since the last call (or the start), and resets them to zero. */
  /** The running totals, left as they are. */
  runningTotals(): PassTotals {
    return { ...this.totals };
  }

  takeTotals(): PassTotals {
    const taken = { ...this.totals };
    Object.assign(this.totals, { expectedNegatives: 0, expectedPositives: 0, atCap: 0, atFloor: 0 });
    return taken;
  }

  finish(labels: Uint8Array): SampleResult {
    return finishSample(this.kept, labels, this.lcc, this.totals);
  }
}

/**
 * Poisson-samples rows given their design scores and a solved scale (ALGORITHMS.md A.2, A.5, A.7).
 * Exactly one uniform `u = rng.nextFloat64()` is drawn per row, for every row in row order (positives
 * too, even when surely kept), so in-memory and streaming runs give the same sample for the same
 * seed. A row is kept when u <= its keep probability: a0 = min(1, max(piMin, (1 - alpha) c s + alpha
 * c0)) for a negative, 1 for a positive, except under LCC, where a positive keeps with a1 = the same
 * expression at s = 1 - p~ (the LCC scores are p~).
 *
 * @param design - the design the scores and solution belong to
 * @param scores - s per row (from `designScores`)
 * @param labels - 0/1 per row
 * @param solution - from `solveScale`
 * @param rng - the generator
 * @returns the kept rows with pi, offset and weight, and the realised and expected sizes
 * @example
 * ```ts
 * const sample = sampleWithScores('optL', scores, y, solution, createRng(1));
 * // fit on selectRows(x, sample.rows) with offsets sample.offset
 * ```
 */
export function sampleWithScores(
  design: DesignName,
  scores: Float64Array,
  labels: Uint8Array,
  solution: ScaleSolution,
  rng: Rng,
): SampleResult {
  if (!DESIGN_NAMES.includes(design)) throw unknownDesign(design);
  const n = labels.length;
  if (scores.length !== n) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `scores: ${scores.length} scores for ${n} labels`,
      'pass one score and one label per row',
      { input: 'scores', scores: scores.length, labels: n },
    );
  }
  const pass = new PoissonPass(design, solution, n);
  pass.run(scores, labels, 0, n, rng);
  return pass.finish(labels);
}

/** Running totals of a {@link PoissonStreamSampler}. */
export interface PoissonStreamTotals {
  readonly positives: number;
  readonly negatives: number;
  readonly expectedNegatives: number;
  readonly expectedPositives: number;
  readonly atCap: number;
  readonly atFloor: number;
}

/**
 * Poisson sampling over a stream of batches (ALGORITHMS.md A.2, A.5): each call samples the next
 * batch and returns its kept rows (indices within the batch) with pi, offset and weight. One uniform
 * is drawn per row in row order, and the expected sizes and cap/floor counts are running sums over
 * the whole stream, so the sample and its totals are those of `sampleWithScores` over all the rows
 * at once, whatever the batch sizes.
 *
 * @example
 * ```ts
 * const sampler = new PoissonStreamSampler('optL', solution, createRng(1));
 * for (const { scores, labels } of batches) write(sampler.next(scores, labels));
 * console.log(sampler.totals());
 * ```
 */
export class PoissonStreamSampler {
  private readonly pass: PoissonPass;
  private readonly lcc: boolean;
  private positives = 0;
  private negatives = 0;

  /**
   * @param design - the design the scores and solution belong to
   * @param solution - the solved scale (its expected sizes are not used)
   * @param rng - the generator: one uniform per row, in row order
   */
  constructor(
    design: DesignName,
    solution: ScaleSolution,
    private readonly rng: Rng,
  ) {
    if (!DESIGN_NAMES.includes(design)) throw unknownDesign(design);
    this.pass = new PoissonPass(design, solution, 0);
    this.lcc = design === 'LCC';
  }

  /**
   * Samples the next batch.
   *
   * @param scores - the batch's design scores
   * @param labels - the batch's 0/1 labels
   * @returns the batch's kept rows (indices within the batch); its expected sizes and counts are the
   *   batch's share of the running totals
   */
  next(scores: Float64Array, labels: Uint8Array): SampleResult {
    if (scores.length !== labels.length) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `scores: ${scores.length} scores for ${labels.length} labels`,
        'pass one score and one label per row of the batch',
        { input: 'scores', scores: scores.length, labels: labels.length },
      );
    }
    const before = this.pass.runningTotals();
    this.pass.run(scores, labels, 0, labels.length, this.rng);
    const after = this.pass.runningTotals();
    const batch = finishSample(this.pass.kept, labels, this.lcc, {
      expectedNegatives: after.expectedNegatives - before.expectedNegatives,
      expectedPositives: after.expectedPositives - before.expectedPositives,
      atCap: after.atCap - before.atCap,
      atFloor: after.atFloor - before.atFloor,
    });
    this.pass.kept.length = 0;
    this.positives += batch.positives;
    this.negatives += batch.negatives;
    return batch;
  }

  /** Kept rows by class and the running expected sizes and cap/floor counts over every batch so far. */
  totals(): PoissonStreamTotals {
    return { positives: this.positives, negatives: this.negatives, ...this.pass.runningTotals() };
  }
}

const UNIFORM = 0;
const PROPORTIONAL = 1; // also LCC: s = p~
const OPT_L = 2;
const OPT_A = 3;

/** What the logistic scoring kernel needs, prepared once per pass. @internal */
export interface LogisticScorer {
  readonly code: number;
  readonly x: DesignMatrix;
  readonly coefficients: Float64Array;
  /** R with R'R = M^-2 for optA (empty otherwise). */
  readonly optAFactor: Float64Array;
}

/** Validates the inputs of a logistic scoring pass and prepares its kernel. @internal */
export function logisticScorer(
  x: DesignMatrix,
  pilotCoefficients: Float64Array,
  design: DesignName,
  options: { optAInverse?: Float64Array },
  labels?: Uint8Array,
): LogisticScorer {
  const n = x.rows;
  const d = x.columns;
  if (
    x.data.length !== n * d ||
    (labels !== undefined && labels.length !== n) ||
    pilotCoefficients.length !== d
  ) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `x is ${n} x ${d} with ${x.data.length} values, with ${labels?.length ?? n} labels and ${pilotCoefficients.length} pilot coefficients`,
      'pass one label per row and one coefficient per column (intercept first)',
      { input: 'x', rows: n, columns: d },
    );
  }
  let code: number;
  switch (design) {
    case 'uniform':
      code = UNIFORM;
      break;
    case 'proportional':
    case 'LCC':
      code = PROPORTIONAL;
      break;
    case 'optL':
      code = OPT_L;
      break;
    case 'optA':
      code = OPT_A;
      break;
    default:
      throw unknownDesign(design);
  }
  const optAFactor = code === OPT_A ? optANormFactor(options.optAInverse, d) : new Float64Array(0);
  return { code, x, coefficients: pilotCoefficients, optAFactor };
}

/**
 * The scoring kernel (ALGORITHMS.md A.11): for rows start .. end - 1, eta = x'beta, p~ = sigma(eta)
 * and the design score, written to out[outOffset ..]; no per-row allocation, the 7-column case
 * unrolled. A non-finite row raises RAREFY_NON_FINITE naming the row and column.
 * @internal Not re-exported from index.ts; shared with the `./node` block passes.
 */
export function scoreRows(
  scorer: LogisticScorer,
  start: number,
  end: number,
  out: Float64Array,
  outOffset: number,
): void {
  const { code, x, coefficients, optAFactor } = scorer;
  const data = x.data;
  const d = x.columns;
  if (code === UNIFORM) {
    out.fill(1, outOffset, outOffset + end - start);
    return;
  }
  const seven = d === 7;
  const b0 = coefficients[0] ?? 0;
  const b1 = coefficients[1] ?? 0;
  const b2 = coefficients[2] ?? 0;
  const b3 = coefficients[3] ?? 0;
  const b4 = coefficients[4] ?? 0;
  const b5 = coefficients[5] ?? 0;
  const b6 = coefficients[6] ?? 0;
  // optA with 7 columns: R (upper triangular, R'R = M^-2) held in locals, ||R x||^2 unrolled.
  const r00 = optAFactor[0] ?? 0;
  const r01 = optAFactor[1] ?? 0;
  const r02 = optAFactor[2] ?? 0;
  const r03 = optAFactor[3] ?? 0;
  const r04 = optAFactor[4] ?? 0;
  const r05 = optAFactor[5] ?? 0;
  const r06 = optAFactor[6] ?? 0;
  const r11 = optAFactor[8] ?? 0;
  const r12 = optAFactor[9] ?? 0;
  const r13 = optAFactor[10] ?? 0;
  const r14 = optAFactor[11] ?? 0;
  const r15 = optAFactor[12] ?? 0;
  const r16 = optAFactor[13] ?? 0;
  const r22 = optAFactor[16] ?? 0;
  const r23 = optAFactor[17] ?? 0;
  const r24 = optAFactor[18] ?? 0;
  const r25 = optAFactor[19] ?? 0;
  const r26 = optAFactor[20] ?? 0;
  const r33 = optAFactor[24] ?? 0;
  const r34 = optAFactor[25] ?? 0;
  const r35 = optAFactor[26] ?? 0;
  const r36 = optAFactor[27] ?? 0;
  const r44 = optAFactor[32] ?? 0;
  const r45 = optAFactor[33] ?? 0;
  const r46 = optAFactor[34] ?? 0;
  const r55 = optAFactor[40] ?? 0;
  const r56 = optAFactor[41] ?? 0;
  const r66 = optAFactor[48] ?? 0;
  for (let i = start, o = start * d, k = outOffset; i < end; i++, o += d, k++) {
    let eta: number;
    let norm2 = 0;
    if (seven) {
      const x0 = data[o] as number;
      const x1 = data[o + 1] as number;
      const x2 = data[o + 2] as number;
      const x3 = data[o + 3] as number;
      const x4 = data[o + 4] as number;
      const x5 = data[o + 5] as number;
      const x6 = data[o + 6] as number;
      // value - value is 0 for a finite value and NaN otherwise: one check per row.
      if (x0 - x0 + (x1 - x1) + (x2 - x2) + (x3 - x3) + (x4 - x4) + (x5 - x5) + (x6 - x6) !== 0) {
        throw nonFiniteRow(x, i);
      }
      eta = x0 * b0 + x1 * b1 + x2 * b2 + x3 * b3 + x4 * b4 + x5 * b5 + x6 * b6;
      if (code === OPT_L) norm2 = x0 * x0 + x1 * x1 + x2 * x2 + x3 * x3 + x4 * x4 + x5 * x5 + x6 * x6;
      else if (code === OPT_A) {
        const z0 = r00 * x0 + r01 * x1 + r02 * x2 + r03 * x3 + r04 * x4 + r05 * x5 + r06 * x6;
        const z1 = r11 * x1 + r12 * x2 + r13 * x3 + r14 * x4 + r15 * x5 + r16 * x6;
        const z2 = r22 * x2 + r23 * x3 + r24 * x4 + r25 * x5 + r26 * x6;
        const z3 = r33 * x3 + r34 * x4 + r35 * x5 + r36 * x6;
        const z4 = r44 * x4 + r45 * x5 + r46 * x6;
        const z5 = r55 * x5 + r56 * x6;
        const z6 = r66 * x6;
        norm2 = z0 * z0 + z1 * z1 + z2 * z2 + z3 * z3 + z4 * z4 + z5 * z5 + z6 * z6;
      }
    } else {
      eta = 0;
      let finite = 0;
      for (let j = 0; j < d; j++) {
        const value = data[o + j] as number;
        finite += value - value;
        eta += value * (coefficients[j] as number);
      }
      if (finite !== 0) throw nonFiniteRow(x, i);
      if (code === OPT_L) {
        for (let j = 0; j < d; j++) {
          const value = data[o + j] as number;
          norm2 += value * value;
        }
      } else if (code === OPT_A) {
        norm2 = optANorm2(optAFactor, data, o, d);
      }
    }
    const p = sigmoid(eta);
    let score: number;
    if (code === PROPORTIONAL) score = p;
    else if (code === OPT_L) score = p * Math.sqrt((1 - p) * norm2);
    else score = p * Math.sqrt((1 - p) * norm2);
    if (!(score >= 0)) throw nonFiniteRow(x, i);
    out[k] = score;
  }
}

/**
 * Design scores for a logistic pilot in one fused pass: eta = x'beta, p~ = sigma(eta) and the
 * design's score per row (ALGORITHMS.md A.7), without materialising p~. Equal to
 * `designScores(design, sigma(x beta), x, options)`; a non-finite feature value is reported as
 * RAREFY_NON_FINITE with its row and column, so this pass doubles as the data's finiteness check.
 *
 * @param x - the design matrix
 * @param pilotCoefficients - population-scale pilot coefficients (intercept already corrected)
 * @param design - the design
 * @param options - `optAInverse` = M^-1 for optA
 * @param out - optional output array of length x.rows
 * @returns the scores
 * @example
 * ```ts
 * const scores = logisticDesignScores(x, pilot.coefficients, 'optL');
 * const solution = solveScale('optL', scores, y, { method: 'exact', sampleSize: 10_000 });
 * ```
 */
export function logisticDesignScores(
  x: DesignMatrix,
  pilotCoefficients: Float64Array,
  design: DesignName,
  options: { optAInverse?: Float64Array } = {},
  out?: Float64Array,
): Float64Array {
  const scorer = logisticScorer(x, pilotCoefficients, design, options);
  const scores = out ?? new Float64Array(x.rows);
  scoreRows(scorer, 0, x.rows, scores, 0);
  return scores;
}

/** Rows scored per chunk of the fused pass: the scratch scores stay in cache. @internal */
export const CHUNK_ROWS = 4096;

/**
 * The fused score-and-sample pass for a logistic pilot at a known scale (ALGORITHMS.md A.11): it
 * scores a cache-sized chunk of rows with the same kernel as {@link logisticDesignScores}, samples
 * it, and moves on, so scores are never materialised for the whole data. It gives exactly the same
 * result as `designScores(design, sigmoid(x beta), x)` followed by `sampleWithScores` with the same
 * generator state, one uniform per row in row order.
 *
 * @param x - the design matrix
 * @param labels - 0/1 per row
 * @param pilotCoefficients - the population-scale pilot coefficients (intercept already corrected)
 * @param design - the design
 * @param solution - the solved scale (e.g. `solveScale` on scores of the same data, or a rate)
 * @param rng - the generator
 * @param options - `optAInverse` = M^-1 for optA
 * @returns the sample, as {@link sampleWithScores} returns it
 * @example
 * ```ts
 * const solution = solveScale('proportional', scores, y, { method: 'rate', rate: 0.05 });
 * const sample = scoreAndSampleLogistic(x, y, beta, 'proportional', solution, createRng(1));
 * ```
 */
export function scoreAndSampleLogistic(
  x: DesignMatrix,
  labels: Uint8Array,
  pilotCoefficients: Float64Array,
  design: DesignName,
  solution: ScaleSolution,
  rng: Rng,
  options: { optAInverse?: Float64Array } = {},
): SampleResult {
  const scorer = logisticScorer(x, pilotCoefficients, design, options, labels);
  const pass = new PoissonPass(design, solution, x.rows);
  const scratch = new Float64Array(Math.min(CHUNK_ROWS, x.rows));
  for (let start = 0; start < x.rows; start += CHUNK_ROWS) {
    const end = Math.min(x.rows, start + CHUNK_ROWS);
    scoreRows(scorer, start, end, scratch, 0);
    pass.run(scratch, labels, start, end - start, rng);
  }
  return pass.finish(labels);
}

function nonFiniteRow(x: DesignMatrix, row: number): RarefyInputError {
  let column = '';
  for (let j = 0; j < x.columns; j++) {
    const value = x.data[row * x.columns + j] as number;
    if (value - value !== 0) column = x.names[j] ?? `column ${j}`;
  }
  return new RarefyInputError(
    'RAREFY_NON_FINITE',
    `x: row ${row + 1} (index ${row}) gives a NaN pilot probability${column ? ` (column "${column}" is not finite)` : ' (check the pilot coefficients)'}`,
    'remove or impute rows with missing or infinite values, and check the pilot coefficients are finite',
    { input: 'x', row, column },
  );
}
