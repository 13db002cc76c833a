import { DESIGN_NAMES, type DesignName, unknownDesign } from './designs.js';
import { RarefyError, RarefySamplingError } from './errors.js';
import { invalidLabel } from './validate.js';

/** How to choose the scale c of a design (ALGORITHMS.md A.7, "The scale c, two ways"). */
export interface ScaleOptions {
  /**
   * `exact`: solve for the c that makes the expected number of kept negatives equal `sampleSize`.
   * `rate`: c = rate / (mean of s over all rows), one pass; the realised size drifts with the data.
   */
  method: 'exact' | 'rate';
  /**
   * exact: the expected number of NEGATIVES to keep (n, the R package's n.ssp). For LCC the expected
   * total kept is sampleSize + N1, both classes thinned.
   */
  sampleSize?: number;
  /** rate: r in (0, 1]; c = r / mean of s over ALL rows; the uniform rate c0 = r. */
  rate?: number;
  /** Defensive mixing weight alpha in [0, 1) (default 0). */
  alpha?: number;
  /** Floor of every keep probability, in (0, 1) (default 1e-6): keeps offsets -log(pi) finite. */
  piMin?: number;
}

/** A solved scale and what it implies for the data it was solved on. */
export interface ScaleSolution {
  readonly method: 'exact' | 'rate';
  /** c. */
  readonly scale: number;
  /**
   * c0, the uniform rate with the same budget: exact `sampleSize / N0` ((sampleSize + N1) / N for
   * LCC, which thins both classes); rate: r.
   */
  readonly uniformRate: number;
  readonly alpha: number;
  readonly piMin: number;
  /** Sum over negatives of pi_i at the solution. */
  readonly expectedNegatives: number;
  /** N1 outside LCC; for LCC the sum over positives of a1. */
  readonly expectedPositives: number;
  /** Negatives whose keep probability is capped at 1. */
  readonly atCap: number;
  /** Negatives whose keep probability is floored at piMin. */
  readonly atFloor: number;
  /** Passes over the rows the solver made after its validating pass (1 for `rate`). */
  readonly iterations: number;
}

/** Relative tolerance on the expected size for the exact scale. */
const RELATIVE_TOLERANCE = 1e-10;
const MAX_ITERATIONS = 200;

/**
 * The keep probability of a row with score s at a solved scale:
 * pi = min(1, max(piMin, (1 - alpha) c s + alpha c0)) (mixing, then floor, then cap). For a positive
 * under LCC pass s = 1 - p~.
 *
 * @param score - the row's design score s >= 0
 * @param solution - the solved scale
 * @returns the keep probability
 * @example
 * ```ts
 * const pi = keepProbability(scores[i], solution);
 * ```
 */
export function keepProbability(score: number, solution: ScaleSolution): number {
  const value = (1 - solution.alpha) * solution.scale * score + solution.alpha * solution.uniformRate;
  if (value <= solution.piMin) return solution.piMin;
  if (value >= 1) return 1;
  return value;
}

/** Sums of one pass at a trial scale (reused across iterations). */
class Evaluation {
  expectedNegatives = 0;
  expectedPositives = 0;
  atCap = 0;
  atFloor = 0;
  /** d(sum)/dc: (1 - alpha) times the sum of s over rows strictly between floor and cap. */
  slope = 0;

  /**
   * One pass at the scale whose per-score multiplier is `multiplier` = (1 - alpha) c. Outside LCC
   * only the negatives count; under LCC a positive's score is 1 - p~.
   */
  run(
    scores: Float64Array,
    labels: Uint8Array,
    lcc: boolean,
    multiplier: number,
    slopeFactor: number,
    base: number,
    piMin: number,
  ): number {
    let negatives = 0;
    let positives = 0;
    let atCap = 0;
    let atFloor = 0;
    let free = 0;
    const n = scores.length;
    for (let i = 0; i < n; i++) {
      const label = labels[i];
      if (label === 0) {
        const score = scores[i] as number;
        const value = multiplier * score + base;
        if (value <= piMin) {
          negatives += piMin;
          atFloor++;
        } else if (value >= 1) {
          negatives += 1;
          atCap++;
        } else {
          negatives += value;
          free += score;
        }
      } else if (lcc) {
        const score = 1 - (scores[i] as number);
        const value = multiplier * score + base;
        if (value <= piMin) positives += piMin;
        else if (value >= 1) positives += 1;
        else {
          positives += value;
          free += score;
        }
      }
    }
    this.expectedNegatives = negatives;
    this.expectedPositives = positives;
    this.atCap = atCap;
    this.atFloor = atFloor;
    this.slope = slopeFactor * free;
    return negatives + positives;
  }
}

/** Floor at piMin, then cap at 1 (the order of A.7); shared by the solver and the samplers. */
export function clampKeepProbability(value: number, piMin: number): number {
  return value <= piMin ? piMin : Math.min(value, 1);
}

/**
 * Solves the scale c of a design (ALGORITHMS.md A.7) with defensive mixing and floor:
 * pi_i = min(1, max(piMin, (1 - alpha) c s_i + alpha c0)).
 *
 * - `rate`: c = r / (mean of s over all rows), c0 = r.
 * - `exact`: c solves sum over negatives of pi_i(c) = sampleSize, with c0 = sampleSize / N0. The sum
 *   is piecewise linear and non-decreasing in c, with slope (1 - alpha) times the sum of s over the
 *   negatives strictly between floor and cap; a safeguarded Newton iteration (bisection inside a
 *   shrinking bracket whenever a Newton step leaves the bracket or fails to halve the residual)
 *   reaches a relative tolerance of 1e-10 in a handful of passes, without sorting.
 * - `LCC` thins both classes: a negative keeps with min(1, max(piMin, (1 - alpha) c p~ + alpha c0)),
 *   a positive with min(1, max(piMin, (1 - alpha) c (1 - p~) + alpha c0)); `exact` solves the sum
 *   over ALL rows = sampleSize + N1 (like the R package's n.ssp + N1), with c0 = (sampleSize + N1) / N.
 *
 * @param design - the design the scores come from (LCC changes what is solved)
 * @param scores - s per row, from `designScores` (p~ for LCC)
 * @param labels - 0/1 per row
 * @param options - method, sampleSize or rate, alpha, piMin
 * @returns the scale and the expected sizes, cap and floor counts at it
 * @throws RarefySamplingError `RAREFY_SAMPLE_TOO_LARGE` (sampleSize > N0), `RAREFY_PI_UNDERFLOW`
 *   (piMin <= 0); RarefyError `RAREFY_INVALID_ARGUMENT` for out-of-range options, negative or NaN
 *   scores, all-zero scores, or a size the scores cannot reach
 * @example
 * ```ts
 * const scores = designScores('optL', p, x);
 * const solution = solveScale('optL', scores, y, { method: 'exact', sampleSize: 1000 });
 * const sample = sampleWithScores('optL', scores, y, solution, createRng(1));
 * ```
 */
export function solveScale(
  design: DesignName,
  scores: Float64Array,
  labels: Uint8Array,
  options: ScaleOptions,
): ScaleSolution {
  if (!DESIGN_NAMES.includes(design)) throw unknownDesign(design);
  if (scores.length !== labels.length) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `scores: ${scores.length} scores for ${labels.length} labels`,
      'pass one score and one label per row',
      { input: 'scores', scores: scores.length, labels: labels.length },
    );
  }
  const method = options.method;
  if (method !== 'exact' && method !== 'rate') {
    throw invalidOption(
      'method',
      String(method),
      "pass method 'exact' (with sampleSize) or 'rate' (with rate)",
    );
  }
  const alpha = options.alpha ?? 0;
  if (!(alpha >= 0 && alpha < 1)) {
    throw invalidOption(
      'alpha',
      String(alpha),
      'pass a mixing weight alpha in [0, 1), e.g. 0.1, or 0 for none',
    );
  }
  const piMin = options.piMin ?? 1e-6;
  if (Number.isNaN(piMin) || piMin >= 1) {
    throw invalidOption('piMin', String(piMin), 'pass a probability floor in (0, 1); the default is 1e-6');
  }
  if (!(piMin > 0)) {
    throw new RarefySamplingError(
      'RAREFY_PI_UNDERFLOW',
      `piMin: ${piMin} lets keep probabilities reach 0, where the offsets -log(pi) and weights 1/pi are infinite`,
      'pass piMin > 0 (the default 1e-6 keeps every offset below 14)',
      { input: 'piMin', value: piMin },
    );
  }
  const lcc = design === 'LCC';

  const n = scores.length;
  const { populationPositives, sumAll, sumConsidered, minPositiveScore, zeroScores } = scanScores(
    scores,
    labels,
    lcc,
  );
  const populationNegatives = n - populationPositives;
  if (populationNegatives === 0) {
    throw new RarefyError(
      'RAREFY_NO_NEGATIVES',
      `labels: none of the ${n} rows is a negative (label 0)`,
      'check the label column; there are no negatives to sample',
      { input: 'labels', rows: n },
    );
  }
  const evaluation = new Evaluation();

  const problem: ScaleProblem = { scores, labels, lcc, method, alpha, piMin, populationPositives };
  if (method === 'rate') {
    const rate = options.rate;
    if (rate === undefined || !(rate > 0 && rate <= 1)) {
      throw invalidOption('rate', String(rate), 'pass a sampling rate r in (0, 1], e.g. 0.01');
    }
    if (!(sumAll > 0)) throw allZeroScores(design, n);
    return solutionAt(problem, evaluation, rate / (sumAll / n), rate, 1, true);
  }

  const sampleSize = options.sampleSize;
  if (sampleSize === undefined || !(sampleSize > 0 && sampleSize < Number.POSITIVE_INFINITY)) {
    throw invalidOption(
      'sampleSize',
      String(sampleSize),
      'pass the expected number of negatives to keep, a number > 0 (e.g. the number of positives)',
    );
  }
  const setup = exactScaleSetup(design, {
    populationNegatives,
    populationPositives,
    zeroScores,
    sumConsidered,
    minPositiveScore,
    sampleSize,
    alpha,
    piMin,
  });
  const { target, uniformRate, base, capAll, initial } = setup;
  if (setup.capsEverything) return solutionAt(problem, evaluation, capAll, uniformRate, 1, true);
  const { scale, iterations } = newtonBisection(problem, evaluation, target, base, capAll, initial);
  return solutionAt(problem, evaluation, scale, uniformRate, iterations, false);
}

/** What an exact-scale solver knows of the scores it applies to (every row, or a histogram of them). */
export interface ExactScaleInputs {
  readonly populationNegatives: number;
  readonly populationPositives: number;
  /** Rows the scale applies to (negatives; every row under LCC) whose score is 0. */
  readonly zeroScores: number;
  /** The sum of their scores, and the smallest positive score. */
  readonly sumConsidered: number;
  readonly minPositiveScore: number;
  /** Expected negatives to keep, alpha and piMin, as {@link ScaleOptions} gives them. */
  readonly sampleSize: number;
  readonly alpha: number;
  readonly piMin: number;
}

/** The exact-scale problem, checked and bracketed: solve sum of keep probabilities (c) = target on [0, capAll]. */
export interface ExactScaleSetup {
  /** Expected kept rows to reach: sampleSize (LCC: sampleSize + N1, kept rows of both classes). */
  readonly target: number;
  /** c0, the uniform design's rate with the same budget, and base = alpha c0. */
  readonly uniformRate: number;
  readonly base: number;
  /** Absolute tolerance on the expected size (1e-10 relative). */
  readonly tolerance: number;
  /** Rows the scale applies to. */
  readonly considered: number;
  /** A scale at which every row with s > 0 is capped at 1. */
  readonly capAll: number;
  /** True when the target needs every row with s > 0 kept: the answer is capAll. */
  readonly capsEverything: boolean;
  /** A starting scale: the root of the sum without floor and cap. */
  readonly initial: number;
}

/**
 * Checks an exact-scale problem and brackets its solution (ALGORITHMS.md A.7), for any solver of
 * sum over rows of min(1, max(piMin, (1 - alpha) c s_i + alpha c0)) = target: `solveScale` (every
 * score in memory) and data-io's histogram solvers (scores summarised in bins) share it.
 *
 * @param design - the design (LCC's target counts kept rows of both classes)
 * @param inputs - class counts, the scores' summary, sampleSize, alpha, piMin
 * @returns target, c0, the bracket [0, capAll] and a starting point
 * @throws RarefySamplingError `RAREFY_SAMPLE_TOO_LARGE`; RarefyError `RAREFY_INVALID_ARGUMENT` when every
 *   score is 0, the floor alone keeps more than the target, or zero scores make it unreachable
 * @example
 * ```ts
 * const setup = exactScaleSetup('optL', { populationNegatives: 99_000, populationPositives: 1_000,
 *   zeroScores: 0, sumConsidered: 1_200, minPositiveScore: 1e-5, sampleSize: 1_000, alpha: 0, piMin: 1e-6 });
 * ```
 */
export function exactScaleSetup(design: DesignName, inputs: ExactScaleInputs): ExactScaleSetup {
  const {
    populationNegatives,
    populationPositives,
    zeroScores,
    sumConsidered,
    minPositiveScore,
    sampleSize,
    alpha,
    piMin,
  } = inputs;
  const lcc = design === 'LCC';
  const rows = populationNegatives + populationPositives;
  const considered = lcc ? rows : populationNegatives;
  if (sampleSize > populationNegatives) {
    throw new RarefySamplingError(
      'RAREFY_SAMPLE_TOO_LARGE',
      `sampleSize: ${sampleSize} negatives asked for, but the data has only ${populationNegatives} negatives`,
      `pass a sample size of at most ${populationNegatives} (--sample-size), or keep every row without sampling`,
      { input: 'sampleSize', sampleSize, populationNegatives },
    );
  }
  if (!(sumConsidered > 0)) throw allZeroScores(design, considered);
  const target = lcc ? sampleSize + populationPositives : sampleSize;
  const uniformRate = lcc ? target / rows : sampleSize / populationNegatives;
  const base = alpha * uniformRate;
  const tolerance = RELATIVE_TOLERANCE * target;
  // Below any scale, every row sits at max(piMin, base); above capAll every row with s > 0 is at 1.
  const lowest = considered * clampKeepProbability(base, piMin);
  if (lowest > target + tolerance) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `piMin: the floor ${piMin} alone keeps ${lowest} expected rows, more than the ${target} asked for`,
      `pass a smaller piMin (below ${target / considered}) or a larger sampleSize`,
      { input: 'piMin', piMin, sampleSize },
    );
  }
  const highest = considered - zeroScores + zeroScores * clampKeepProbability(base, piMin);
  if (target > highest + tolerance) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `scores: ${zeroScores} of the ${considered} rows the scale applies to have score 0, so at most ${highest} expected rows can be kept, fewer than the ${target} asked for`,
      'pass a smaller sampleSize, or alpha > 0 so that rows with score 0 are kept with probability alpha c0',
      { input: 'scores', zeroScores, sampleSize },
    );
  }
  const slopeFactor = 1 - alpha;
  // Every row with s > 0 is capped once (1 - alpha) c s_min + base >= 1; nudged up for rounding.
  const capAll = ((1 - base) / (slopeFactor * minPositiveScore)) * (1 + 1e-9);
  // Without floor and cap the sum is (1 - alpha) c S + base * considered: start from its root.
  let initial = Math.min(capAll, Math.max(0, (target - base * considered) / (slopeFactor * sumConsidered)));
  if (!(initial > 0)) initial = capAll / 2;
  return {
    target,
    uniformRate,
    base,
    tolerance,
    considered,
    capAll,
    capsEverything: target >= highest - tolerance,
    initial,
  };
}

/** The fixed inputs of one scale problem. */
interface ScaleProblem {
  readonly scores: Float64Array;
  readonly labels: Uint8Array;
  readonly lcc: boolean;
  readonly method: 'exact' | 'rate';
  readonly alpha: number;
  readonly piMin: number;
  readonly populationPositives: number;
}

/** The solution at `scale`; `evaluate` runs the pass first (otherwise `evaluation` is at `scale`). */
function solutionAt(
  problem: ScaleProblem,
  evaluation: Evaluation,
  scale: number,
  uniformRate: number,
  iterations: number,
  evaluate: boolean,
): ScaleSolution {
  const { alpha, piMin } = problem;
  if (evaluate) {
    const slopeFactor = 1 - alpha;
    const { scores, labels, lcc } = problem;
    evaluation.run(scores, labels, lcc, slopeFactor * scale, slopeFactor, alpha * uniformRate, piMin);
  }
  return {
    method: problem.method,
    scale,
    uniformRate,
    alpha,
    piMin,
    expectedNegatives: evaluation.expectedNegatives,
    expectedPositives: problem.lcc ? evaluation.expectedPositives : problem.populationPositives,
    atCap: evaluation.atCap,
    atFloor: evaluation.atFloor,
    iterations,
  };
}

/**
 * Safeguarded Newton on the piecewise-linear, non-decreasing sum(c) = target inside the bracket
 * [0, high], where sum(0) <= target < sum(high). A Newton step is taken when it lands inside the
 * bracket and the previous step at least halved the residual; otherwise the bracket is bisected
 * (geometrically while its ends differ by more than a factor 4). Leaves `evaluation` at the result.
 */
function newtonBisection(
  problem: ScaleProblem,
  evaluation: Evaluation,
  target: number,
  base: number,
  high: number,
  initial: number,
): { scale: number; iterations: number } {
  const { scores, labels, lcc, piMin } = problem;
  const slopeFactor = 1 - problem.alpha;
  const tolerance = RELATIVE_TOLERANCE * target;
  let low = 0;
  let scale = initial;
  let previousResidual = Number.POSITIVE_INFINITY;
  for (let iteration = 1; iteration <= MAX_ITERATIONS; iteration++) {
    const sum = evaluation.run(scores, labels, lcc, slopeFactor * scale, slopeFactor, base, piMin);
    const residual = sum - target;
    const absolute = Math.abs(residual);
    if (absolute <= tolerance) return { scale, iterations: iteration };
    if (residual < 0) low = scale;
    else high = scale;
    const newton = evaluation.slope > 0 ? scale - residual / evaluation.slope : Number.NaN;
    const useNewton = newton > low && newton < high && absolute <= 0.5 * previousResidual;
    previousResidual = absolute;
    if (useNewton) scale = newton;
    else if (low > 0 && high > 4 * low) scale = Math.sqrt(low * high);
    else if (low === 0) scale = high / 16;
    else scale = low + (high - low) / 2;
    if (!(scale > low && scale < high)) break; // the bracket is down to adjacent doubles
  }
  throw new RarefyError(
    'RAREFY_NOT_CONVERGED',
    `sampleSize: the scale for ${target} expected rows was not found to a relative ${RELATIVE_TOLERANCE} (bracket [${low}, ${high}])`,
    'report this with the data’s size and design; meanwhile use method "rate"',
    { input: 'sampleSize', low, high },
  );
}

/** What the validating pass learns: class counts and the sums the solver starts from. */
interface ScoreScan {
  readonly populationPositives: number;
  /** Sum of s over all rows (the rate scale's normaliser). */
  readonly sumAll: number;
  /** Sum of the scores the scale applies to: negatives' s, and under LCC positives' 1 - p~. */
  readonly sumConsidered: number;
  /** Smallest non-zero score the scale applies to. */
  readonly minPositiveScore: number;
  /** How many scores the scale applies to are 0. */
  readonly zeroScores: number;
}

/** The validating pass over labels and scores (kept small so that it optimises on its own). */
function scanScores(scores: Float64Array, labels: Uint8Array, lcc: boolean): ScoreScan {
  const n = scores.length;
  let populationPositives = 0;
  let sumAll = 0;
  let sumConsidered = 0;
  let minPositiveScore = Number.POSITIVE_INFINITY;
  let zeroScores = 0;
  const upper = lcc ? 1 : Number.MAX_VALUE;
  for (let i = 0; i < n; i++) {
    const label = labels[i] as number;
    const score = scores[i] as number;
    if (label > 1 || !(score >= 0 && score <= upper)) throw invalidScoreRow(scores, labels, lcc, i);
    sumAll += score;
    populationPositives += label;
    if (label === 1 && !lcc) continue;
    const value = label === 1 ? 1 - score : score;
    sumConsidered += value;
    if (value === 0) zeroScores++;
    else if (value < minPositiveScore) minPositiveScore = value;
  }
  return { populationPositives, sumAll, sumConsidered, minPositiveScore, zeroScores };
}

function invalidScoreRow(scores: Float64Array, labels: Uint8Array, lcc: boolean, i: number): RarefyError {
  const label = labels[i] as number;
  if (label > 1) return invalidLabel('labels', i, label);
  const score = scores[i] as number;
  return new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    `scores: row ${i + 1} (index ${i}) is ${score}, not a ${lcc ? 'probability in [0, 1]' : 'finite score >= 0'}`,
    'compute the scores with designScores from finite pilot probabilities',
    { input: 'scores', row: i, value: score },
  );
}

function invalidOption(name: string, value: string, fix: string): RarefyError {
  return new RarefyError('RAREFY_INVALID_ARGUMENT', `options.${name}: ${value} is out of range`, fix, {
    input: `options.${name}`,
    value,
  });
}

function allZeroScores(design: DesignName, rows: number): RarefyError {
  return new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    `scores: the ${design} score is 0 on all ${rows} rows the scale applies to (is the pilot probability 0 everywhere?), so no scale c can reach the sample size`,
    'check that the pilot predicts population-scale probabilities (not all 0), or use design "uniform"; mixing (alpha > 0) cannot help when every score is 0',
    { input: 'scores', design, rows },
  );
}
