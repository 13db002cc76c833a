import {
  type ColumnBatch,
  clampKeepProbability,
  createRng,
  DESIGN_NAMES,
  type DesignName,
  designScores,
  logisticDesignScores,
  optAMatrix,
  type Pilot,
  PilotReservoir,
  PoissonStreamSampler,
  RarefyError,
  RarefyInputError,
  RarefyIoError,
  RarefySamplingError,
  requireArgument,
  requireBothClasses,
  type ScaleSolution,
} from '@rarefy/sampling-core';
import {
  batchFromMatrix,
  batchLabels,
  defaultFeatures,
  finiteDesignMatrix,
  keptBatch,
  SAMPLE_COLUMNS,
} from './batch-rows.js';
import { emptyEvaluation, ScoreHistogram, solveIncreasing } from './histogram.js';
import { fitLogisticPilot, HISTOGRAM_BITS, solveHistogramScale } from './scale-solver.js';

/** Anything that yields the input as batches, afresh on every call (each pass reads it again). */
export interface BatchSource {
  /** The input's batches in row order; every call starts again from the first row. */
  batches(): AsyncIterable<ColumnBatch>;
}

/** The passes `sampleStream` may make over the input, in the order they run. */
export type StreamPassName = 'pilot' | 'histogram' | 'refine' | 'mean' | 'sample';

/** How far {@link sampleStream} has got: reported after every batch. */
export interface StreamSampleProgress {
  /** The pass under way, 1-based. */
  pass: number;
  /** Passes in all (known before the first one starts). */
  passes: number;
  /** What this pass does. */
  stage: StreamPassName;
  /** Rows read in this pass so far. */
  rows: number;
}

/** Options of {@link sampleStream}. */
export interface StreamSampleOptions {
  /** The 0/1 label column. */
  label: string;
  /**
   * The feature columns of the design matrix (an intercept is added): what the default logistic
   * pilot is fitted on and what `optL`/`optA` take the norm of. Default: the given pilot's features,
   * otherwise every numeric column but the label.
   */
  features?: readonly string[];
  /** The sampling design (ALGORITHMS.md A.7). */
  design: DesignName;
  /**
   * Any pilot returning population-scale probabilities. Default: a logistic regression fitted on a
   * balanced reservoir draw of `pilotSize` rows, its intercept corrected by the draw's log(r1/r0).
   */
  pilot?: Pilot;
  /** Rows in the balanced pilot draw (default 1000: 500 per class). */
  pilotSize?: number;
  /** Take a class whole for the pilot when it has fewer rows than asked (default false: an error). */
  takeWholeClass?: boolean;
  /** Expected number of negatives to keep (default: the number of positives). Excludes `rate`. */
  sampleSize?: number;
  /** Sampling rate r in (0, 1]: c = r / mean score, one pass fewer. Excludes `sampleSize`. */
  rate?: number;
  /** Defensive mixing with the uniform design, in [0, 1) (default 0). */
  alpha?: number;
  /** Floor of every keep probability, in (0, 1) (default 1e-6). */
  piMin?: number;
  /** Seed (default 1). See {@link sampleStream} for how the random streams are derived. */
  seed?: number | string;
  /**
   * How the scale for `sampleSize` is solved: `histogram` (default) on a histogram of the scores in
   * one pass; `refine` adds a pass that measures the exact expected size at the histogram's scale and
   * corrects the scale to a relative error far below 1e-6.
   */
  scale?: 'histogram' | 'refine';
  /**
   * Receives the kept rows of every input batch, in order (possibly none): all original columns, then
   * `pi`, `offset` and `weight`. Awaited before the next batch is read.
   */
  write: (batch: ColumnBatch) => Promise<void> | void;
  /** Called after every batch of every pass. */
  onProgress?: (progress: StreamSampleProgress) => void;
}

/** The scale a streaming run used, and how it was found. */
export interface StreamScale {
  /** `histogram` or `refine` for a sample size, `rate` for a rate. */
  readonly method: 'histogram' | 'refine' | 'rate';
  /** c, the scale the sample was drawn with. */
  readonly value: number;
  /** c0, the uniform rate with the same budget (the `rate` itself under `rate`). */
  readonly uniformRate: number;
  readonly alpha: number;
  readonly piMin: number;
  /** Bins spanned by the observed range of log s (0 under `rate`). */
  readonly histogramBins: number;
  /** The scale solved on the histogram (null under `rate`). */
  readonly histogramScale: number | null;
  /** The histogram's estimate of the expected kept negatives at `histogramScale` (null under `rate`). */
  readonly histogramExpectedNegatives: number | null;
  /** `refine` only: the exact expected kept negatives at `histogramScale`, from the extra pass. */
  readonly refinedExpectedNegatives?: number;
  /** Negatives whose keep probability was capped at 1 (exact, from the sampling pass). */
  readonly atCap: number;
  /** Negatives whose keep probability was floored at piMin (exact, from the sampling pass). */
  readonly atFloor: number;
}

/** The result of {@link sampleStream}. */
export interface StreamSampleResult {
  /** Realised kept rows by class. */
  readonly sample: { readonly positives: number; readonly negatives: number };
  /**
   * Exact expected kept rows at the scale used: the sum of the negatives' keep probabilities, and N1
   * (for LCC the sum of the positives' a1), accumulated by the sampling pass.
   */
  readonly expected: { readonly negatives: number; readonly positives: number };
  readonly scale: StreamScale;
  /** The same scale as a `ScaleSolution` of sampling-core (for `keepProbability` and friends). */
  readonly solution: ScaleSolution;
  /** Rows in the input (every pass reads them all). */
  readonly rowsRead: number;
  /** The input's class counts. */
  readonly population: { readonly rows: number; readonly positives: number; readonly negatives: number };
  /**
   * The pilot: the fitted logistic coefficients (intercept first, corrected; null for a pilot given
   * by the caller) and their names, and the sizes of the reservoir draw (null when none was drawn).
   * Null for `uniform`, which needs no pilot.
   */
  readonly pilot: {
    readonly coefficients: readonly number[] | null;
    readonly names: readonly string[];
    /** `optA` only: M^-1 (row-major d x d over `names`), which the scores need besides the pilot. */
    readonly optAInverse: readonly number[] | null;
    readonly sizes: {
      readonly negatives: number;
      readonly positives: number;
      readonly logOddsShift: number;
      readonly wholeClass: 'positives' | 'negatives' | null;
    } | null;
  } | null;
  /** Passes made over the input. */
  readonly passes: number;
  /** Wall-clock seconds. */
  readonly seconds: number;
}

/** Bits per octave of the refine pass's histograms of the rows near the floor and the cap. */
const REFINE_BITS = 16;

/** One class's share of the refine pass: exact sums at the histogram's scale and on its bracket. */
class RefinePart {
  floored = 0;
  capped = 0;
  linearCount = 0;
  linearSum = 0;
  /** The exact expected kept rows at the histogram's scale. */
  exact = 0;
  readonly nearFloor = new ScoreHistogram(REFINE_BITS);
  readonly nearCap = new ScoreHistogram(REFINE_BITS);

  constructor(
    private readonly multiplierAtHistogram: number,
    private readonly lowMultiplier: number,
    private readonly highMultiplier: number,
    private readonly base: number,
    private readonly piMin: number,
  ) {}

  add(score: number): void {
    const { base, piMin } = this;
    this.exact += clampKeepProbability(this.multiplierAtHistogram * score + base, piMin);
    const low = this.lowMultiplier * score + base;
    const high = this.highMultiplier * score + base;
    if (high <= piMin) this.floored++;
    else if (low >= 1) this.capped++;
    else if (low > piMin && high < 1) {
      this.linearCount++;
      this.linearSum += score;
    } else if (low <= piMin) this.nearFloor.add(score);
    else this.nearCap.add(score);
  }

  /** Expected kept rows and slope in the multiplier, valid for multipliers inside the bracket. */
  evaluate(multiplier: number): { value: number; slope: number } {
    const evaluation = emptyEvaluation();
    this.nearFloor.evaluate(multiplier, this.base, this.piMin, evaluation);
    this.nearCap.evaluate(multiplier, this.base, this.piMin, evaluation);
    return {
      value:
        evaluation.value +
        this.floored * this.piMin +
        this.capped +
        multiplier * this.linearSum +
        this.base * this.linearCount,
      slope: evaluation.slope + this.linearSum,
    };
  }
}

function invalidOption(input: string, value: unknown, fix: string): RarefyError {
  return new RarefyError('RAREFY_INVALID_ARGUMENT', `${input}: ${String(value)} is not valid`, fix, {
    input,
    value,
  });
}

function noRows(): RarefyInputError {
  return new RarefyInputError(
    'RAREFY_INVALID_ARGUMENT',
    'input: it has no data rows',
    'check the path or glob and that the files hold rows below their header',
    { input: 'input' },
  );
}

function requireScore(score: number, row: number, upper: number): number {
  if (!(score >= 0 && score <= upper)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `scores: data row ${row + 1} (index ${row}) has design score ${score}, not a finite number >= 0${upper === 1 ? ' and <= 1' : ''}`,
      'check that the pilot returns probabilities in [0, 1] and the features are finite',
      { input: 'scores', row, value: score },
    );
  }
  return score;
}

/**
 * Out-of-core Poisson sampling of a stream of batches (ALGORITHMS.md A.2-A.7, issue 3), with memory
 * independent of the number of rows: a pilot reservoir, a histogram of fixed maximum size and one
 * batch at a time; no array has one entry per row of the input.
 *
 * Passes (each reads the whole input through `source.batches()`):
 * 1. `pilot`: a balanced per-class reservoir draw (A.6) and the class counts, when the pilot must be
 *    fitted or `optA` needs its matrix M; the logistic pilot is fitted with `fitLogistic` and its
 *    intercept corrected by `logOddsShift`; `optA`'s M comes from the reservoir rows.
 * 2. `histogram` (sample size): every negative's score (and under LCC every positive's 1 - p~) goes
 *    into a log-spaced histogram with exact counts and sums per bin (64 bins per octave over the
 *    observed range), the class counts too when pass 1 did not run; the scale c is solved on it so
 *    that the expected kept negatives equal `sampleSize` (+ N1 kept positives for LCC, as in
 *    `solveScale`). Only bins straddling the floor or the cap are approximated (their scores taken at
 *    the bin mean), so the exact expected size is within a fraction of a percent of the target.
 *    `mean` (rate): the mean score over all rows, c = rate / mean; skipped for `uniform`.
 * 3. `refine` (optional): the exact expected size at the histogram's c (reported), and a finer
 *    histogram of just the rows whose keep probability can reach the floor or the cap within the
 *    histogram's error bracket c * (1 +- 2^-6); c is re-solved exactly on that bracket.
 * 4. `sample`: scores every row again, keeps it when u <= its keep probability, and hands the kept
 *    rows of each batch to `write` with `pi`, `offset`, `weight` (A.5).
 *
 * Random streams: `root = createRng(seed)`, then `pilotStream = root.split()` is taken first, always
 * (also when no pilot is drawn); the reservoir draws only from `pilotStream`; the sampling pass draws
 * exactly one `root.nextFloat64()` per row, in row order, positives included. So for the same scores
 * and scale, `const root = createRng(seed); root.split(); sampleWithScores(design, scores, y, solution,
 * root)` keeps exactly the rows this pass keeps, and how the input is cut into batches changes nothing.
 *
 * @param source - the input; `batches()` is called once per pass
 * @param options - label, design, pilot, sizes, scale method, seed, the writer and a progress callback
 * @returns realised and exact expected sizes, the scale, the pilot, passes and time taken
 * @throws RarefyInputError for bad labels, non-finite features, too small classes;
 *   RarefySamplingError `RAREFY_SAMPLE_TOO_LARGE`; RarefyError for bad options; RarefyIoError when
 *   the input changes between passes; and whatever the source or `write` throws
 * @example
 * ```ts
 * const reader = await openBatches('clicks-*.csv', { label: 'y' });
 * const writer = await openSampleWriter('sample.csv');
 * try {
 *   const result = await sampleStream(reader, {
 *     label: 'y', design: 'optA', sampleSize: 10_000, seed: 1, write: (batch) => writer.write(batch),
 *   });
 *   await writer.commit();
 * } catch (error) { await writer.abort(); throw error; }
 * ```
 */
export async function sampleStream(
  source: BatchSource,
  options: StreamSampleOptions,
): Promise<StreamSampleResult> {
  const started = performance.now();
  const { design, label, pilot } = options;
  if (!DESIGN_NAMES.includes(design)) {
    throw invalidOption('design', design, `use one of ${DESIGN_NAMES.join(', ')}`);
  }
  requireArgument(
    typeof label === 'string' && label.length > 0,
    'label',
    'no label column given',
    'name the 0/1 label column',
  );
  requireArgument(
    options.sampleSize === undefined || options.rate === undefined,
    'sampleSize',
    'both sampleSize and rate were given',
    'give sampleSize (solved scale) or rate (rate scale), not both',
  );
  if (options.sampleSize !== undefined && !(options.sampleSize > 0 && Number.isFinite(options.sampleSize))) {
    throw invalidOption(
      'sampleSize',
      options.sampleSize,
      'pass the expected number of negatives to keep, > 0',
    );
  }
  const rate = options.rate;
  if (rate !== undefined && !(rate > 0 && rate <= 1)) {
    throw invalidOption('rate', rate, 'pass a sampling rate r in (0, 1], e.g. 0.01');
  }
  const alpha = options.alpha ?? 0;
  if (!(alpha >= 0 && alpha < 1)) {
    throw invalidOption('alpha', alpha, 'pass a mixing weight alpha in [0, 1), e.g. 0.1, or 0 for none');
  }
  const piMin = options.piMin ?? 1e-6;
  if (!(piMin > 0 && piMin < 1)) {
    throw new RarefySamplingError(
      'RAREFY_PI_UNDERFLOW',
      `piMin: ${piMin} is not in (0, 1), so offsets -log(pi) and weights 1/pi could be infinite`,
      'pass piMin in (0, 1); the default 1e-6 keeps every offset below 14',
      { input: 'piMin', value: piMin },
    );
  }
  const scaleMode = options.scale ?? 'histogram';
  if (scaleMode !== 'histogram' && scaleMode !== 'refine') {
    throw invalidOption('scale', scaleMode, "pass 'histogram' (one pass) or 'refine' (one more pass)");
  }
  if (options.features?.includes(label)) {
    throw invalidOption('features', label, 'leave the label column out of the features');
  }
  const pilotSize = options.pilotSize ?? 1000;
  const lcc = design === 'LCC';
  const slopeFactor = 1 - alpha;
  const write = options.write;

  // The random streams (see the TSDoc): the pilot's is split off first, always.
  const root = createRng(options.seed ?? 1);
  const pilotStream = root.split();

  // The plan, known before the first pass.
  const scorerKnown = design === 'uniform' || (pilot !== undefined && design !== 'optA');
  const plan: StreamPassName[] = [];
  if (!scorerKnown) plan.push('pilot');
  if (rate === undefined) {
    plan.push('histogram');
    if (scaleMode === 'refine') plan.push('refine');
  } else if (design !== 'uniform') {
    plan.push('mean');
  }
  plan.push('sample');

  let features: readonly string[] | null = options.features ?? pilot?.features ?? null;
  let inputRows: number | null = null;

  /** Reads the whole input once, calling `visit` per batch with its stream-wide first row. */
  const pass = async (
    stage: StreamPassName,
    visit: (batch: ColumnBatch, firstRow: number) => void | Promise<void>,
  ): Promise<number> => {
    const index = plan.indexOf(stage) + 1;
    let rows = 0;
    for await (const batch of source.batches()) {
      if (rows === 0 && index === 1) {
        for (const name of SAMPLE_COLUMNS) {
          if (batch.schema.some((column) => column.name === name)) {
            throw new RarefyInputError(
              'RAREFY_INVALID_ARGUMENT',
              `input: it already has a column "${name}", which the sample adds`,
              `rename or drop the input's "${name}" column`,
              { input: name },
            );
          }
        }
      }
      if (features === null) features = defaultFeatures(batch.schema, label);
      await visit(batch, rows);
      rows += batch.rows;
      options.onProgress?.({ pass: index, passes: plan.length, stage, rows });
    }
    if (rows === 0) throw noRows();
    if (inputRows === null) inputRows = rows;
    else if (rows !== inputRows) {
      throw new RarefyIoError(
        'RAREFY_IO_ERROR',
        `input: pass ${index} (${stage}) read ${rows} rows, an earlier pass ${inputRows}`,
        'do not change the input while it is being sampled (each pass reads it again)',
        { input: 'input', rows, previousRows: inputRows },
      );
    }
    return rows;
  };

  let negativesCount = -1;
  let positivesCount = -1;
  const countClasses = (labels: Uint8Array, counts: { negatives: number; positives: number }): void => {
    let positives = 0;
    for (let i = 0; i < labels.length; i++) positives += labels[i] as number;
    counts.positives += positives;
    counts.negatives += labels.length - positives;
  };

  // Pass 1: the pilot reservoir (and the class counts).
  let coefficients: Float64Array | null = null;
  let optAInverse: Float64Array | undefined;
  let pilotReport: StreamSampleResult['pilot'] = null;
  if (plan[0] === 'pilot') {
    const holder: { reservoir: PilotReservoir | null } = { reservoir: null };
    await pass('pilot', (batch, firstRow) => {
      const labels = batchLabels(batch, label, firstRow);
      const x = finiteDesignMatrix(batch, features ?? [], firstRow);
      holder.reservoir ??= new PilotReservoir(pilotSize, x.columns, pilotStream, {
        takeWholeClass: options.takeWholeClass ?? false,
      });
      holder.reservoir.addBatch(x, labels, firstRow);
    });
    const reservoir = holder.reservoir;
    if (reservoir === null) throw noRows();
    const { draw, x: pilotX, y: pilotY } = reservoir.result();
    negativesCount = draw.populationNegatives;
    positivesCount = draw.populationPositives;
    let pilotProbability: Float64Array;
    if (pilot === undefined) {
      const fitted = fitLogisticPilot(pilotX, pilotY, draw);
      coefficients = fitted.coefficients;
      pilotProbability = fitted.probability;
    } else {
      pilotProbability = await pilot.predictProbability(batchFromMatrix(pilotX, pilotY, label));
    }
    if (design === 'optA') optAInverse = optAMatrix(pilotX, pilotY, pilotProbability, draw).inverse;
    pilotReport = {
      coefficients: coefficients === null ? null : Array.from(coefficients),
      names: pilotX.names,
      optAInverse: optAInverse === undefined ? null : Array.from(optAInverse),
      sizes: {
        negatives: draw.negatives,
        positives: draw.positives,
        logOddsShift: draw.logOddsShift,
        wholeClass: draw.wholeClass,
      },
    };
  } else if (design !== 'uniform') {
    pilotReport = { coefficients: null, names: [...(pilot?.features ?? [])], optAInverse: null, sizes: null };
  }

  const scoreBatch = async (batch: ColumnBatch, firstRow: number): Promise<Float64Array> => {
    if (design === 'uniform') return new Float64Array(batch.rows).fill(1);
    if (coefficients !== null) {
      const x = finiteDesignMatrix(batch, features ?? [], firstRow);
      return logisticDesignScores(x, coefficients, design, { optAInverse });
    }
    const probability = await (pilot as Pilot).predictProbability(batch);
    if (probability.length !== batch.rows) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `pilot: ${probability.length} probabilities for a batch of ${batch.rows} rows`,
        'return one probability per row of the batch from predictProbability',
        { input: 'pilot' },
      );
    }
    for (let i = 0; i < probability.length; i++) {
      const p = probability[i] as number;
      if (!(p >= 0 && p <= 1)) {
        const row = firstRow + i;
        throw new RarefyInputError(
          'RAREFY_NON_FINITE',
          `pilot: data row ${row + 1} (index ${row}) has pilot probability ${p}, not in [0, 1]`,
          'check the pilot and the row’s features (missing or infinite values)',
          { input: 'pilot', row, value: p },
        );
      }
    }
    const x =
      design === 'optL' || design === 'optA' ? finiteDesignMatrix(batch, features ?? [], firstRow) : null;
    return designScores(design, probability, x, { optAInverse });
  };

  // Pass 2: the scale.
  let scale: number;
  let uniformRate: number;
  let histogramBins = 0;
  let histogramScale: number | null = null;
  let histogramExpectedNegatives: number | null = null;
  let refinedExpectedNegatives: number | undefined;
  let iterations = 1;
  if (rate === undefined) {
    const negatives = new ScoreHistogram(HISTOGRAM_BITS);
    const positives = lcc ? new ScoreHistogram(HISTOGRAM_BITS) : null;
    const counts = { negatives: 0, positives: 0 };
    await pass('histogram', async (batch, firstRow) => {
      const labels = batchLabels(batch, label, firstRow);
      const scores = await scoreBatch(batch, firstRow);
      countClasses(labels, counts);
      for (let i = 0; i < batch.rows; i++) {
        const score = requireScore(scores[i] as number, firstRow + i, lcc ? 1 : Number.MAX_VALUE);
        if (labels[i] === 0) negatives.add(score);
        else positives?.add(1 - score);
      }
    });
    negativesCount = counts.negatives;
    positivesCount = counts.positives;
    requireBothClasses(counts, label);
    const solved = solveHistogramScale({
      design,
      negatives,
      positives,
      populationNegatives: negativesCount,
      populationPositives: positivesCount,
      ...(options.sampleSize === undefined ? {} : { sampleSize: options.sampleSize }),
      alpha,
      piMin,
    });
    const { target, capsEverything } = solved;
    const base = alpha * solved.uniformRate;
    scale = solved.scale;
    uniformRate = solved.uniformRate;
    iterations = solved.iterations;
    histogramBins = solved.histogramBins;
    histogramScale = scale;
    histogramExpectedNegatives = solved.expectedNegatives;

    if (scaleMode === 'refine') {
      // The histogram's value at c lies between the exact values at c / (1 + w) and c (1 + w), w the
      // largest relative bin width, so the exact root is inside that bracket (widened for rounding).
      const widen = (1 + 2 ** -HISTOGRAM_BITS) * (1 + 1e-9);
      const low = scale / widen;
      const high = scale * widen;
      const makePart = (): RefinePart =>
        new RefinePart(slopeFactor * scale, slopeFactor * low, slopeFactor * high, base, piMin);
      const negativePart = makePart();
      const positivePart = lcc ? makePart() : null;
      await pass('refine', async (batch, firstRow) => {
        const labels = batchLabels(batch, label, firstRow);
        const scores = await scoreBatch(batch, firstRow);
        for (let i = 0; i < batch.rows; i++) {
          const score = scores[i] as number;
          if (labels[i] === 0) negativePart.add(score);
          else positivePart?.add(1 - score);
        }
      });
      refinedExpectedNegatives = negativePart.exact;
      if (!capsEverything) {
        const parts = positivePart === null ? [negativePart] : [negativePart, positivePart];
        const evaluateBracket = (c: number): { value: number; slope: number } => {
          let value = 0;
          let slope = 0;
          for (const part of parts) {
            const evaluation = part.evaluate(slopeFactor * c);
            value += evaluation.value;
            slope += evaluation.slope;
          }
          return { value, slope: slopeFactor * slope };
        };
        const exactAtHistogram = parts.reduce((sum, part) => sum + part.exact, 0);
        if (Math.abs(exactAtHistogram - target) > 1e-13 * target) {
          const solved = solveIncreasing(evaluateBracket, target, low, high, scale, 1e-13);
          scale = solved.scale;
          iterations += solved.evaluations;
        }
      }
    }
  } else {
    uniformRate = rate;
    let mean = 1;
    if (design !== 'uniform') {
      let sum = 0;
      const counts = { negatives: 0, positives: 0 };
      const rows = await pass('mean', async (batch, firstRow) => {
        const labels = batchLabels(batch, label, firstRow);
        const scores = await scoreBatch(batch, firstRow);
        countClasses(labels, counts);
        for (let i = 0; i < batch.rows; i++) {
          sum += requireScore(scores[i] as number, firstRow + i, lcc ? 1 : Number.MAX_VALUE);
        }
      });
      negativesCount = counts.negatives;
      positivesCount = counts.positives;
      requireBothClasses(counts, label);
      if (!(sum > 0)) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `scores: all ${rows} rows have design score 0 under ${design}`,
          'check the pilot (it predicts 0 everywhere?) or use the uniform design',
          { input: 'scores', design },
        );
      }
      mean = sum / rows;
    }
    scale = rate / mean;
  }

  // The sampling pass: one uniform per row, in row order, from the root stream.
  let written = 0;
  // The keep rule, offsets and weights are sampling-core's: one uniform per row, in row order, from
  // the root stream, with running totals, so this pass equals sampleWithScores over the whole data.
  const sampler = new PoissonStreamSampler(
    design,
    {
      method: rate === undefined ? 'exact' : 'rate',
      scale,
      uniformRate,
      alpha,
      piMin,
      expectedNegatives: 0,
      expectedPositives: 0,
      atCap: 0,
      atFloor: 0,
      iterations,
    },
    root,
  );
  const sampleCounts = { negatives: 0, positives: 0 };
  await pass('sample', async (batch, firstRow) => {
    const labels = batchLabels(batch, label, firstRow);
    const scores = await scoreBatch(batch, firstRow);
    countClasses(labels, sampleCounts);
    for (let i = 0; i < batch.rows; i++)
      requireScore(scores[i] as number, firstRow + i, lcc ? 1 : Number.MAX_VALUE);
    const kept = sampler.next(scores, labels);
    await write(keptBatch(batch, kept.rows, kept.rows.length, kept.pi, kept.offset, kept.weight, written));
    written += kept.rows.length;
  });
  const {
    positives: keptPositives,
    negatives: keptNegatives,
    expectedNegatives,
    expectedPositives,
    atCap,
    atFloor,
  } = sampler.totals();
  if (negativesCount < 0) {
    negativesCount = sampleCounts.negatives;
    positivesCount = sampleCounts.positives;
    requireBothClasses(sampleCounts, label);
  } else if (sampleCounts.negatives !== negativesCount) {
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `input: the sampling pass counted ${sampleCounts.negatives} negatives, an earlier pass ${negativesCount}`,
      'do not change the input while it is being sampled (each pass reads it again)',
      { input: 'input' },
    );
  }

  const solution: ScaleSolution = {
    method: rate === undefined ? 'exact' : 'rate',
    scale,
    uniformRate,
    alpha,
    piMin,
    expectedNegatives,
    expectedPositives,
    atCap,
    atFloor,
    iterations,
  };
  return {
    sample: { positives: keptPositives, negatives: keptNegatives },
    expected: { negatives: expectedNegatives, positives: expectedPositives },
    scale: {
      method: rate === undefined ? scaleMode : 'rate',
      value: scale,
      uniformRate,
      alpha,
      piMin,
      histogramBins,
      histogramScale,
      histogramExpectedNegatives,
      ...(refinedExpectedNegatives === undefined ? {} : { refinedExpectedNegatives }),
      atCap,
      atFloor,
    },
    solution,
    rowsRead: inputRows ?? 0,
    population: {
      rows: negativesCount + positivesCount,
      positives: positivesCount,
      negatives: negativesCount,
    },
    pilot: pilotReport,
    passes: plan.length,
    seconds: (performance.now() - started) / 1000,
  };
}
