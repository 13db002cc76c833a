import {
  clampKeepProbability,
  DESIGN_NAMES,
  type DesignMatrix,
  type DesignName,
  INTERCEPT_NAME,
  optAMatrix,
  RarefyError,
  RarefyInputError,
  RarefySamplingError,
  requireBothClasses,
  type ScaleSolution,
} from '@rarefy/sampling-core';
import {
  designScoreSql,
  doubleLiteral,
  quoteIdentifier,
  SQL_DIALECT_SPECS,
  type SqlDialect,
  samplingSql,
} from '../sql/index.js';
import { PREFILTER_COLUMNS } from '../sql/sampling-sql.js';
import { SAMPLE_COLUMNS } from '../stream-sample/batch-rows.js';
import { ScoreHistogram } from '../stream-sample/histogram.js';
import type { StreamSampleResult, StreamScale } from '../stream-sample/sample-stream.js';
import { fitLogisticPilot, HISTOGRAM_BITS, solveHistogramScale } from '../stream-sample/scale-solver.js';
import type { SqlEngine, SqlSourceHandle } from './sql-engine.js';

/** The statements the engine recipe runs over the source, in order. */
export type EngineStageName = 'count' | 'pilot' | 'histogram' | 'mean' | 'sample';

/** How far the engine recipe has got: reported when each statement starts and when it ends. */
export interface EngineSampleProgress {
  /** The statement under way, 1-based. */
  pass: number;
  /** Statements over the source in all. */
  passes: number;
  /** What this statement does. */
  stage: EngineStageName;
  /** Rows of the source this statement has read: 0 when it starts, every row once it is done. */
  rows: number;
  /** Whether the statement has finished. */
  done: boolean;
}

/** Options of {@link planEngineSample}. */
export interface EnginePlanOptions {
  /** The 0/1 label column. */
  label: string;
  /**
   * Feature columns (an intercept is added). Default: every numeric column but the label and the
   * row key, as `sampleStream` chooses them.
   */
  features?: readonly string[];
  /** The sampling design (ALGORITHMS.md A.7). */
  design: DesignName;
  /** Rows in the balanced pilot draw (default 1000: 500 per class). */
  pilotSize?: number;
  /** Take a class whole for the pilot when it has fewer rows than asked (default false: an error). */
  takeWholeClass?: boolean;
  /**
   * The corrected coefficients of a logistic pilot fitted elsewhere (e.g. a saved model), intercept
   * first, then one per column of `features`, in that order (`features` is then required). The pilot
   * draw is skipped (no `pilot` statement) and the rows are scored with these; `pilot` in the plan
   * reports them with `sizes: null`. `optA` is refused (its matrix M needs the pilot rows); `uniform`
   * scores nothing and ignores them. Default: a pilot drawn and fitted by the engine.
   */
  pilotCoefficients?: readonly number[];
  /** Expected number of negatives to keep (default: the number of positives). Excludes `rate`. */
  sampleSize?: number;
  /** Sampling rate r in (0, 1]: c = r / mean score. Excludes `sampleSize`. */
  rate?: number;
  /** Defensive mixing with the uniform design, in [0, 1) (default 0). */
  alpha?: number;
  /** Floor of every keep probability, in (0, 1) (default 1e-6). */
  piMin?: number;
  /** Seed of the pilot draw and of the sampling uniforms (a safe integer, default 1). */
  seed?: number;
  /**
   * Rows per class whose design scores fill the histogram the `exact` scale is solved on (default
   * {@link DEFAULT_SCALE_SAMPLE_ROWS}, one million; `Infinity` for every row). A class with more rows
   * than this is subsampled row by row: each row is in the subsample when a hash uniform of (row key,
   * or the rows' fingerprint without one, and a stream derived from the seed) is below
   * f = scaleSampleRows / class size, so the subsample is the same for a seed whatever the engine's
   * parallelism and unbiased whatever the order of the rows (a file sorted by the label or a feature
   * included). Its bins are scaled up by (class size) / (rows drawn). The sampling statement still
   * uses pi = min(1, c s) with the solved c for every row, so the written `pi`, offsets and weights
   * are the exact inclusion probabilities; only the expected size at c is estimated rather than
   * exact: `scaleSample` reports the estimate and its standard error beside the Poisson sd of the
   * realised size, sqrt(sum pi (1 - pi)) (on 1e7 rows keeping 1% of the negatives, the default's
   * standard error is about that sd; it shrinks as 1/sqrt(scaleSampleRows)). A class with at most
   * this many rows is read whole and the histogram is exact, as it always is under `Infinity`.
   * Ignored by `rate` (its mean score is exact) and `uniform` (nothing to score).
   */
  scaleSampleRows?: number;
  /**
   * A column that identifies rows: the pilot draw and the sampling uniforms are then hashes of it
   * and the seed, so the sample is the same whatever the engine's parallelism.
   */
  rowKey?: string;
  /** Called when each statement starts and ends. */
  onProgress?: (progress: EngineSampleProgress) => void;
}

/** Rows per class of the subsample the scale is solved on, unless `scaleSampleRows` says otherwise. */
export const DEFAULT_SCALE_SAMPLE_ROWS = 1_000_000;

/** One class's part of an {@link EngineScaleSample}. */
export interface EngineScaleSampleClass {
  /** The Bernoulli rate of the class's rows in the histogram: min(1, rows per class / class size). */
  readonly fraction: number;
  /** Rows of the class whose scores filled the histogram (every row of it when `fraction` is 1). */
  readonly rows: number;
  /**
   * The estimated expected kept rows of the class at the solved scale: (class size / `rows`) times
   * the sum of the subsample's keep probabilities (within the histogram's bins), i.e. the target.
   */
  readonly expected: number;
  /**
   * The standard error of `expected` as an estimate of the class's true expected kept rows, from the
   * subsample (simple random sampling given its size: N sqrt((1 - n/N) s^2 / n), s^2 the sample
   * variance of the keep probabilities); 0 when the class was read whole.
   */
  readonly standardError: number;
  /**
   * The estimated sd of the realised kept rows around their expectation, sqrt(sum pi (1 - pi)) over
   * the class (Poisson sampling): the spread every run has, subsampled scale or not.
   */
  readonly realisedStandardDeviation: number;
}

/**
 * How the histogram that solved the `exact` scale was filled (see `scaleSampleRows`) and what that
 * leaves uncertain. The realised kept negatives vary around the target with a standard deviation of
 * about sqrt(standardError^2 + realisedStandardDeviation^2).
 */
export interface EngineScaleSample {
  /** `scaleSampleRows` (null for `Infinity`: every row). */
  readonly rowsPerClass: number | null;
  /** The negatives' subsample. */
  readonly negatives: EngineScaleSampleClass;
  /** LCC only, whose histogram holds the positives' 1 - s too; null otherwise (every positive is kept). */
  readonly positives: EngineScaleSampleClass | null;
}

/** Options of {@link sampleWithEngine}. */
export interface EngineSampleOptions extends EnginePlanOptions {
  /** The sample to write: `.parquet`, or CSV otherwise (unless `format` says). */
  out: string;
  /** The output's format (default from the extension of `out`). */
  format?: 'parquet' | 'csv';
}

/**
 * A pilot fitted and a scale solved in the engine: every constant the sampling statement needs, and
 * what was learnt on the way. {@link engineSamplingSql} turns it into SQL for any dialect.
 */
export interface EngineSamplePlan {
  readonly design: DesignName;
  readonly label: string;
  /** The feature columns, in the order of the coefficients after the intercept (empty for uniform). */
  readonly features: readonly string[];
  /** The corrected pilot coefficients, intercept first (`[0]` for uniform, which needs none). */
  readonly pilotCoefficients: readonly number[];
  /** optA's M^-1 (row-major), else null. */
  readonly optAInverse: readonly number[] | null;
  /**
   * The solved scale. `expectedNegatives`, `expectedPositives`, `atCap` and `atFloor` are the
   * histogram's estimates (within a fraction of a percent when every row filled it; from a subsample
   * otherwise, with the standard errors in `scaleSample`); under `rate` the expected sizes are
   * c times the score sums and the counts at the floor and cap are not measured (0).
   */
  readonly solution: ScaleSolution;
  /** How the histogram was filled and the standard errors it leaves; null without one (`rate`, `uniform`). */
  readonly scaleSample: EngineScaleSample | null;
  /** The scale as `sampleStream` reports it (method `histogram` or `rate`). */
  readonly scale: StreamScale;
  /** The source's class counts. */
  readonly population: { readonly rows: number; readonly positives: number; readonly negatives: number };
  /** The pilot (as `sampleStream` reports it), null for uniform. */
  readonly pilot: StreamSampleResult['pilot'];
  /** The seed. */
  readonly seed: number;
  /** Statements run over the source. */
  readonly passes: number;
}

/**
 * The result of {@link sampleWithEngine}: `sampleStream`'s shape, except that `sample` is counted on
 * the written file, `expected` is the histogram's estimate (see {@link EngineSamplePlan}; from the
 * scale's subsample on a large input, with its standard error in `scaleSample`) and `passes` counts
 * the statements run over the source (the count of the output not included).
 */
export interface EngineSampleResult extends StreamSampleResult {
  /** As {@link EngineSamplePlan.scaleSample}: the subsample the scale was solved on, and its standard errors. */
  readonly scaleSample: EngineScaleSample | null;
  /** The sampling statement that wrote the sample. */
  readonly sql: string;
  /** The file written. */
  readonly out: string;
}

/** The largest finite double, as SQL. */
const MAX_DOUBLE = doubleLiteral(Number.MAX_VALUE);
/** 2^-1022, the smallest normal double, and 2^1022, as SQL. */
const MIN_NORMAL = doubleLiteral(2 ** -1022);
const TWO_TO_1022 = doubleLiteral(2 ** 1022);

function invalidOption(input: string, value: unknown, fix: string): RarefyError {
  return new RarefyError('RAREFY_INVALID_ARGUMENT', `${input}: ${String(value)} is not valid`, fix, {
    input,
    value,
  });
}

/** A numeric cell of a query result (DOUBLE as number, BIGINT as bigint; NULL as null). */
function cell(row: Record<string, unknown> | undefined, name: string): number | null {
  const value = row?.[name];
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  const parsed = Number(value);
  return Number.isNaN(parsed) ? null : parsed;
}

interface ValidOptions {
  label: string;
  design: DesignName;
  pilotSize: number;
  takeWholeClass: boolean;
  sampleSize: number | undefined;
  rate: number | undefined;
  alpha: number;
  piMin: number;
  seed: number;
  rowKey: string | undefined;
  /** Rows per class of the scale's subsample (Infinity: every row). */
  scaleSampleRows: number;
  /** The given pilot's coefficients, checked against `features` (undefined: the engine fits one). */
  pilotCoefficients: readonly number[] | undefined;
}

function validate(options: EnginePlanOptions): ValidOptions {
  const { design, label } = options;
  if (!DESIGN_NAMES.includes(design)) {
    throw invalidOption('design', design, `use one of ${DESIGN_NAMES.join(', ')}`);
  }
  if (!(typeof label === 'string' && label.length > 0)) {
    throw invalidOption('label', label, 'name the 0/1 label column');
  }
  if (options.sampleSize !== undefined && options.rate !== undefined) {
    throw invalidOption('sampleSize', options.sampleSize, 'give sampleSize or rate, not both');
  }
  const { sampleSize, rate } = options;
  if (sampleSize !== undefined && !(sampleSize > 0 && Number.isFinite(sampleSize))) {
    throw invalidOption('sampleSize', sampleSize, 'pass the expected number of negatives to keep, > 0');
  }
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
  const pilotSize = options.pilotSize ?? 1000;
  if (!(Number.isInteger(pilotSize) && pilotSize >= 2 && pilotSize < 2 ** 31)) {
    throw invalidOption('pilotSize', pilotSize, 'pass a pilot size of at least 2; 1000 is the usual default');
  }
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw invalidOption('seed', seed, 'pass an integer seed, e.g. 1');
  const scaleSampleRows = options.scaleSampleRows ?? DEFAULT_SCALE_SAMPLE_ROWS;
  if (
    !(
      scaleSampleRows === Number.POSITIVE_INFINITY ||
      (Number.isSafeInteger(scaleSampleRows) && scaleSampleRows >= 1)
    )
  ) {
    throw invalidOption(
      'scaleSampleRows',
      scaleSampleRows,
      `pass a positive integer number of rows per class (default ${DEFAULT_SCALE_SAMPLE_ROWS}), or Infinity to solve the scale on every row`,
    );
  }
  if (options.features?.includes(label)) {
    throw invalidOption('features', label, 'leave the label column out of the features');
  }
  const { pilotCoefficients } = options;
  if (pilotCoefficients !== undefined) validateGivenPilot(pilotCoefficients, options.features, design);
  return {
    label,
    design,
    pilotSize,
    takeWholeClass: options.takeWholeClass ?? false,
    sampleSize,
    rate,
    alpha,
    piMin,
    seed,
    rowKey: options.rowKey,
    scaleSampleRows,
    pilotCoefficients,
  };
}

/** Checks `pilotCoefficients` against `features` and the design, before anything is read. */
function validateGivenPilot(
  coefficients: readonly number[],
  features: readonly string[] | undefined,
  design: DesignName,
): void {
  if (design === 'optA') {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      "design: optA with given pilotCoefficients (--pilot with the DuckDB engine): optA's matrix M comes from the rows of a balanced pilot draw, which a given pilot does not make",
      'use another design such as optL or proportional, leave pilotCoefficients (--pilot) out so the engine draws and fits its own pilot, or sample in-process (`sampleStream` with the pilot, --engine in-process), where optA works with any pilot',
      { input: 'design', value: design },
    );
  }
  if (features === undefined) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      'features: not given, but pilotCoefficients needs them: its coefficients after the intercept are those of named columns',
      "pass features, the pilot's columns in the order of its coefficients",
      { input: 'features' },
    );
  }
  if (coefficients.length !== features.length + 1) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `pilotCoefficients: ${coefficients.length} coefficients for ${features.length} features (${features.join(', ')}), but ${features.length + 1} are needed`,
      'pass the intercept first, then one coefficient per feature in the order of features',
      { input: 'pilotCoefficients', length: coefficients.length, features: features.length },
    );
  }
  const bad = coefficients.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `pilotCoefficients: coefficient ${bad} is ${String(coefficients[bad])}, not a finite number`,
      'pass the finite coefficients of a fitted logistic pilot, intercept first',
      { input: 'pilotCoefficients', index: bad, value: coefficients[bad] },
    );
  }
}

/**
 * Per-class pilot sizes (ALGORITHMS.md A.6): floor(n/2) negatives and ceil(n/2) positives, as
 * sampling-core's draws size them; a class smaller than asked is an error, or taken whole.
 */
function pilotSizes(
  pilotSize: number,
  populationNegatives: number,
  populationPositives: number,
  takeWholeClass: boolean,
): { negatives: number; positives: number; wholeClass: 'negatives' | 'positives' | null } {
  const askedNegatives = Math.floor(pilotSize / 2);
  const askedPositives = pilotSize - askedNegatives;
  const shortNegatives = populationNegatives < askedNegatives;
  const shortPositives = populationPositives < askedPositives;
  if (!shortNegatives && !shortPositives) {
    return { negatives: askedNegatives, positives: askedPositives, wholeClass: null };
  }
  if (shortNegatives && shortPositives) {
    throw new RarefyInputError(
      'RAREFY_PILOT_TOO_LARGE',
      `pilotSize: ${pilotSize} asks for ${askedNegatives} negatives and ${askedPositives} positives, but the data has only ${populationNegatives} negatives and ${populationPositives} positives`,
      `pass a smaller pilot size (--pilot-size), at most ${2 * Math.min(populationNegatives, populationPositives)}`,
      { input: 'pilotSize', pilotSize, populationNegatives, populationPositives },
    );
  }
  const className = shortNegatives ? 'negatives' : 'positives';
  const size = shortNegatives ? populationNegatives : populationPositives;
  const asked = shortNegatives ? askedNegatives : askedPositives;
  if (!takeWholeClass) {
    throw new RarefyInputError(
      'RAREFY_PILOT_TOO_LARGE',
      `pilotSize: ${pilotSize} asks for ${asked} ${className}, but the data has only ${size} ${className}`,
      `pass a smaller pilot size (--pilot-size ${2 * size} or less), or set takeWholeClass (--take-whole-class) to take all ${size} ${className}`,
      { input: 'pilotSize', pilotSize, class: className, size, asked },
    );
  }
  return shortNegatives
    ? { negatives: populationNegatives, positives: askedPositives, wholeClass: 'negatives' }
    : { negatives: askedNegatives, positives: populationPositives, wholeClass: 'positives' };
}

/**
 * A query of the {@link ScoreHistogram} key (`HISTOGRAM_BITS` bits per octave) of every non-negative
 * double `rarefy_v` of `scores` (which has columns `rarefy_class`, `rarefy_v`), as `rarefy_bin`: the
 * 11 exponent bits and the top significand bits, computed arithmetically since SQL cannot read a
 * double's bits. For a normal v, with g = floor(log2(v)) and m = v / 2^g (exact: a power of two),
 * the key is (g + 1023) 2^b + floor((m - 1) 2^b) (m - 1 exact by Sterbenz). It is exact even where
 * log2 rounds up to the next integer just below a power of two (log2 is faithfully rounded, so g is
 * never too small): then m is just below 1, floor((m - 1) 2^b) = -1, and the key is that of the top
 * bin of the octave below, where v belongs. Subnormals get floor(v 2^1022 2^b) (exponent bits 0).
 * -1 for a zero score, -2 for NULL, NaN, infinite or negative ones. `ScoreHistogram.addBin` checks
 * every bin's minimum and maximum against its key, so a wrong key cannot pass unnoticed.
 *
 * @internal Exported for tests.
 */
export function binKeyQuery(scores: string): string {
  const perOctave = `${2 ** HISTOGRAM_BITS}e0`;
  const v = 'rarefy_v';
  // The largest doubles have log2 rounded up to 1024 (2^1024 overflows): their exponent is 1023.
  const g = `least(floor(log2(${v})), 1023e0)`;
  const key = [
    `CASE WHEN ${v} >= ${MIN_NORMAL} AND ${v} <= ${MAX_DOUBLE}`,
    `THEN (${g} + 1023e0) * ${perOctave} + floor((${v} / pow(2e0, ${g}) - 1e0) * ${perOctave})`,
    `WHEN ${v} = 0e0 THEN -1e0`,
    `WHEN ${v} > 0e0 AND ${v} < ${MIN_NORMAL} THEN floor(${v} * ${TWO_TO_1022} * ${perOctave})`,
    'ELSE -2e0 END',
  ].join(' ');
  return `SELECT rarefy_class, ${v}, ${key} AS rarefy_bin FROM (${scores}) AS rarefy_scores`;
}

/** Runs the recipe's statements in order, reporting progress. */
class Stages {
  private index = 0;
  rows = 0;
  constructor(
    private readonly names: readonly EngineStageName[],
    private readonly onProgress: ((progress: EngineSampleProgress) => void) | undefined,
  ) {}

  get count(): number {
    return this.names.length;
  }

  async run<T>(stage: EngineStageName, work: () => Promise<T>): Promise<T> {
    const pass = this.names.indexOf(stage) + 1;
    this.index = pass;
    const report = (done: boolean) =>
      this.onProgress?.({ pass, passes: this.names.length, stage, rows: done ? this.rows : 0, done });
    report(false);
    const result = await work();
    report(true);
    return result;
  }

  get done(): number {
    return this.index;
  }
}

async function plan(
  engine: SqlEngine,
  table: string,
  options: EnginePlanOptions,
  withSample: boolean,
): Promise<EngineSamplePlan> {
  const valid = validate(options);
  const { design, label, alpha, piMin, seed, rate } = valid;
  const dialect = engine.dialect;
  const spec = SQL_DIALECT_SPECS[dialect];
  const quote = (name: string, input: string) => quoteIdentifier(name, dialect, input);
  const from = table
    .split('.')
    .map((part) => quote(part, 'table'))
    .join('.');
  const lcc = design === 'LCC';

  // The columns: the label, the features, no clash with the columns the sample adds.
  const columns = await engine.describe(table);
  const names = columns.map((column) => column.name);
  const labelColumn = columns.find((column) => column.name === label);
  if (labelColumn === undefined) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `label: the input has no column "${label}" (columns: ${names.join(', ')})`,
      'name the 0/1 label column with --label / options.label',
      { input: label },
    );
  }
  if (!labelColumn.numeric) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `label: column "${label}" is ${labelColumn.type}, not 0/1 numbers`,
      'encode the label as 0/1 in the source, or cast it in a view',
      { input: label },
    );
  }
  for (const added of SAMPLE_COLUMNS) {
    const clash = names.find((name) => name.toLowerCase() === added);
    if (clash !== undefined) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `input: it already has a column "${clash}", which the sample adds`,
        `rename or drop the input's "${clash}" column`,
        { input: clash },
      );
    }
  }
  if (valid.rowKey !== undefined && !names.includes(valid.rowKey)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `rowKey: the input has no column "${valid.rowKey}" (columns: ${names.join(', ')})`,
      'name a column that identifies rows with --row-key / options.rowKey',
      { input: valid.rowKey },
    );
  }
  let features: readonly string[] = [];
  if (design !== 'uniform') {
    features =
      options.features ??
      columns
        .filter((column) => column.numeric && column.name !== label && column.name !== valid.rowKey)
        .map((column) => column.name);
    for (const feature of features) {
      const column = columns.find((candidate) => candidate.name === feature);
      if (column === undefined || !column.numeric) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `features: column "${feature}" ${column === undefined ? `is not in the input (columns: ${names.join(', ')})` : `is ${column.type}, not numeric`}`,
          'name numeric columns of the input as features',
          { input: feature },
        );
      }
    }
  }
  const y = quote(label, 'label');
  const x = features.map((name, j) => quote(name, `features[${j}]`));

  const given = valid.pilotCoefficients;
  const stageNames: EngineStageName[] = ['count'];
  if (design !== 'uniform' && given === undefined) stageNames.push('pilot');
  if (rate === undefined) {
    if (design !== 'uniform') stageNames.push('histogram');
  } else if (design !== 'uniform') {
    stageNames.push('mean');
  }
  if (withSample) stageNames.push('sample');
  const stages = new Stages(stageNames, options.onProgress);

  // 1. The class counts.
  const [counts] = await stages.run('count', () =>
    engine.query(
      `SELECT count(*) AS total, sum(CASE WHEN ${y} = 1 THEN 1 ELSE 0 END) AS positives, ` +
        `sum(CASE WHEN ${y} = 0 THEN 1 ELSE 0 END) AS negatives, sum(CASE WHEN ${y} IS NULL THEN 1 ELSE 0 END) AS missing, ` +
        `min(CASE WHEN ${y} <> 0 AND ${y} <> 1 THEN ${y} END) AS other FROM ${from}`,
    ),
  );
  const rows = cell(counts, 'total') ?? 0;
  const positives = cell(counts, 'positives') ?? 0;
  const negatives = cell(counts, 'negatives') ?? 0;
  stages.rows = rows;
  if (rows === 0) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      'input: it has no data rows',
      'check the path or glob and that the files hold rows',
      { input: 'input' },
    );
  }
  if (positives + negatives !== rows) {
    const missing = cell(counts, 'missing') ?? 0;
    const other = rows - positives - negatives - missing;
    throw new RarefyInputError(
      'RAREFY_INVALID_LABEL',
      `label: column "${label}" has ${other} values other than 0 and 1${other > 0 ? ` (e.g. ${String(cell(counts, 'other'))})` : ''} and ${missing} NULLs`,
      'encode the label as 0/1 (1 for the rare, positive class), or name the right label column',
      { input: label, other, missing },
    );
  }
  requireBothClasses({ negatives, positives }, label);
  const population = { rows, positives, negatives };

  // What identifies a row for the hash uniforms of the pilot draw and the scale's subsample.
  const rowIdentity =
    valid.rowKey === undefined ? engine.fingerprint([y, ...x]) : quote(valid.rowKey, 'rowKey');

  // 2. The pilot: given, or per class the rows with the smallest hash uniforms of (row key, seed) --
  // a simple random sample without replacement, the same for a seed whatever the engine's parallelism.
  let coefficients: readonly number[] = [0];
  let optAInverse: Float64Array | null = null;
  let pilotReport: StreamSampleResult['pilot'] = null;
  if (design !== 'uniform' && given !== undefined) {
    coefficients = [...given];
    pilotReport = {
      coefficients: [...given],
      names: [INTERCEPT_NAME, ...features],
      optAInverse: null,
      sizes: null,
    };
  } else if (design !== 'uniform') {
    const sizes = pilotSizes(valid.pilotSize, negatives, positives, valid.takeWholeClass);
    const uniform = spec.hashUniform(rowIdentity, pilotSeed(seed));
    const selected = [
      `${y} AS ${quote('rarefy_label', 'label')}`,
      ...x.map((c, j) => `${c} AS ${quote(`f${j}`, 'feature')}`),
      `${uniform} AS ${quote('rarefy_u', 'uniform')}`,
    ].join(', ');
    // Only rows whose uniform is below a threshold leave the engine: the expected count plus ten
    // standard deviations, so that fewer than asked pass with probability below 1e-20 (and then the
    // class is read again without a threshold). The smallest uniforms are the same either way.
    const limit = (size: number, population: number) =>
      doubleLiteral(Math.min(1, (size + 10 * Math.sqrt(size) + 10) / population));
    const candidates = (where: string) =>
      engine.query(`SELECT * FROM (SELECT ${selected} FROM ${from}) AS rarefy_draw WHERE ${where}`);
    const drawn = await stages.run('pilot', async () => {
      // One scan for both classes, each below its own threshold.
      const rowsFound = await candidates(
        `rarefy_label IN (0, 1) AND rarefy_u < CASE WHEN rarefy_label = 0 THEN ${limit(sizes.negatives, negatives)} ELSE ${limit(sizes.positives, positives)} END`,
      );
      const classes = [0, 1].map((cls) => rowsFound.filter((row) => cell(row, 'rarefy_label') === cls));
      for (const [cls, size] of [
        [0, sizes.negatives],
        [1, sizes.positives],
      ] as const) {
        if ((classes[cls]?.length ?? 0) < size) classes[cls] = await candidates(`rarefy_label = ${cls}`);
      }
      return classes;
    });
    const d = features.length + 1;
    const n = sizes.negatives + sizes.positives;
    const data = new Float64Array(n * d);
    const pilotY = new Uint8Array(n);
    let i = 0;
    for (const [cls, rowsOfClass, size] of [
      [0, drawn[0] ?? [], sizes.negatives],
      [1, drawn[1] ?? [], sizes.positives],
    ] as const) {
      const parsed = rowsOfClass.map((row) => {
        const values = new Float64Array(features.length + 1);
        values[0] = cell(row, 'rarefy_u') ?? 0;
        for (let j = 0; j < features.length; j++) {
          const value = cell(row, `f${j}`);
          if (value === null || !Number.isFinite(value)) {
            throw new RarefyInputError(
              'RAREFY_NON_FINITE',
              `features: column "${features[j]}" is ${value === null ? 'NULL' : value} in a row drawn for the pilot`,
              'remove or impute rows with missing or infinite values, or leave the column out of the features',
              { input: features[j] as string, value },
            );
          }
          values[j + 1] = value;
        }
        return values;
      });
      // The smallest uniforms first; ties (rows with the same key) by their features.
      parsed.sort((a, b) => {
        for (let j = 0; j < a.length; j++) {
          const difference = (a[j] as number) - (b[j] as number);
          if (difference !== 0) return difference;
        }
        return 0;
      });
      if (parsed.length < size) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `pilot: the engine returned ${parsed.length} rows of class ${cls}, ${size} were asked`,
          'do not change the input while it is being sampled',
          { input: 'pilot' },
        );
      }
      for (let k = 0; k < size; k++, i++) {
        const values = parsed[k] as Float64Array;
        pilotY[i] = cls;
        data[i * d] = 1;
        data.set(values.subarray(1), i * d + 1);
      }
    }
    const negativeRate = sizes.negatives / negatives;
    const positiveRate = sizes.positives / positives;
    const logOddsShift = Math.log(positiveRate / negativeRate);
    const pilotX: DesignMatrix = {
      data,
      rows: n,
      columns: d,
      names: [INTERCEPT_NAME, ...features],
      intercept: true,
    };
    const fitted = fitLogisticPilot(pilotX, pilotY, { logOddsShift });
    coefficients = Array.from(fitted.coefficients);
    if (design === 'optA') {
      optAInverse = optAMatrix(pilotX, pilotY, fitted.probability, { negativeRate, positiveRate }).inverse;
    }
    pilotReport = {
      coefficients: [...coefficients],
      names: pilotX.names,
      optAInverse: optAInverse === null ? null : Array.from(optAInverse),
      sizes: {
        negatives: sizes.negatives,
        positives: sizes.positives,
        logOddsShift,
        wholeClass: sizes.wholeClass,
      },
    };
  }

  // 3. The scale.
  const score = designScoreSql({
    dialect,
    features,
    pilotCoefficients: coefficients,
    design,
    ...(optAInverse === null ? {} : { optAInverse: Array.from(optAInverse) }),
  });
  const slopeFactor = 1 - alpha;
  let solution: ScaleSolution;
  let scale: StreamScale;
  let scaleSample: EngineScaleSample | null = null;
  if (rate === undefined) {
    const negativeHistogram = new ScoreHistogram(HISTOGRAM_BITS);
    const positiveHistogram = lcc ? new ScoreHistogram(HISTOGRAM_BITS) : null;
    // The bins of each class as the engine aggregated them (before any scaling up), and its zeros.
    const classBins: [HistogramBin[], HistogramBin[]] = [[], []];
    const classZeros: [number, number] = [0, 0];
    const fractions: [number, number] = [
      subsampleFraction(valid.scaleSampleRows, negatives),
      subsampleFraction(valid.scaleSampleRows, positives),
    ];
    if (design === 'uniform') {
      negativeHistogram.addBin(negativeHistogram.key(1), negatives, negatives, 1, 1);
    } else {
      const value = lcc ? `CASE WHEN ${y} = 0 THEN ${score} ELSE 1e0 - (${score}) END` : score;
      // A row-level Bernoulli subsample of each class larger than scaleSampleRows: a hash uniform of
      // the row and a stream of its own (never the pilot's or the sampling uniforms' of any seed).
      const subsampleUniform = spec.hashUniform(rowIdentity, subsampleSeed(seed));
      const [negativeFraction, positiveFraction] = fractions;
      const conditions: string[] = [];
      if (!lcc) {
        conditions.push(`${y} = 0`);
        if (negativeFraction < 1) conditions.push(`${subsampleUniform} < ${doubleLiteral(negativeFraction)}`);
      } else if (negativeFraction < 1 || positiveFraction < 1) {
        conditions.push(
          `${subsampleUniform} < CASE WHEN ${y} = 0 THEN ${doubleLiteral(negativeFraction)} ELSE ${doubleLiteral(positiveFraction)} END`,
        );
      }
      const where = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
      const bins = await stages.run('histogram', () =>
        engine.query(
          `SELECT rarefy_class, rarefy_bin, count(*) AS n, sum(rarefy_v) AS total, sum(rarefy_v * rarefy_v) AS squares, min(rarefy_v) AS low, max(rarefy_v) AS high FROM (` +
            binKeyQuery(`SELECT ${y} AS rarefy_class, ${value} AS rarefy_v FROM ${from}${where}`) +
            `) AS rarefy_keys GROUP BY rarefy_class, rarefy_bin`,
        ),
      );
      let bad = 0;
      for (const bin of bins) {
        const cls = cell(bin, 'rarefy_class') === 1 ? 1 : 0;
        const binKey = cell(bin, 'rarefy_bin') ?? -2;
        const count = cell(bin, 'n') ?? 0;
        if (binKey === -2) bad += count;
        else if (binKey === -1) classZeros[cls] += count;
        else {
          classBins[cls].push({
            key: binKey,
            count,
            sum: cell(bin, 'total') ?? 0,
            squares: cell(bin, 'squares') ?? 0,
            low: cell(bin, 'low') ?? 0,
            high: cell(bin, 'high') ?? 0,
          });
        }
      }
      if (bad > 0) throw badScores(bad, features);
      // Scaled up by (class size) / (rows drawn): exactly 1 for a class read whole.
      const scaled: Array<[ScoreHistogram | null, 0 | 1, number]> = [
        [negativeHistogram, 0, negatives],
        [positiveHistogram, 1, positives],
      ];
      for (const [histogram, cls, population] of scaled) {
        if (histogram === null) continue;
        const drawn = classRows(classBins[cls], classZeros[cls]);
        if (drawn === 0) throw emptySubsample(cls === 1 ? 'positives' : 'negatives', valid.scaleSampleRows);
        const weight = population / drawn;
        for (const bin of classBins[cls]) {
          histogram.addBin(bin.key, bin.count * weight, bin.sum * weight, bin.low, bin.high);
        }
        histogram.addZeros(classZeros[cls] * weight);
      }
    }
    const solved = solveHistogramScale({
      design,
      negatives: negativeHistogram,
      positives: positiveHistogram,
      populationNegatives: negatives,
      populationPositives: positives,
      ...(valid.sampleSize === undefined ? {} : { sampleSize: valid.sampleSize }),
      alpha,
      piMin,
    });
    solution = {
      method: 'exact',
      scale: solved.scale,
      uniformRate: solved.uniformRate,
      alpha,
      piMin,
      expectedNegatives: solved.expectedNegatives,
      expectedPositives: solved.expectedPositives,
      atCap: solved.atCap,
      atFloor: solved.atFloor,
      iterations: solved.iterations,
    };
    if (design !== 'uniform') {
      const multiplier = slopeFactor * solved.scale;
      const base = alpha * solved.uniformRate;
      const classReport = (cls: 0 | 1, population: number): EngineScaleSampleClass =>
        subsampleReport(classBins[cls], classZeros[cls], population, fractions[cls], {
          multiplier,
          base,
          piMin,
        });
      scaleSample = {
        rowsPerClass: Number.isFinite(valid.scaleSampleRows) ? valid.scaleSampleRows : null,
        negatives: classReport(0, negatives),
        positives: lcc ? classReport(1, positives) : null,
      };
    }
    scale = {
      method: 'histogram',
      value: solved.scale,
      uniformRate: solved.uniformRate,
      alpha,
      piMin,
      histogramBins: solved.histogramBins,
      histogramScale: solved.scale,
      histogramExpectedNegatives: solved.expectedNegatives,
      atCap: solved.atCap,
      atFloor: solved.atFloor,
    };
  } else {
    let mean = 1;
    let negativeSum = negatives;
    let positiveComplementSum = positives;
    if (design !== 'uniform') {
      const [sums] = await stages.run('mean', () =>
        engine.query(
          `SELECT sum(rarefy_v) AS total, sum(CASE WHEN ${y} = 0 THEN rarefy_v ELSE 0e0 END) AS negative_total, ` +
            `sum(CASE WHEN ${y} = 1 THEN 1e0 - rarefy_v ELSE 0e0 END) AS positive_complement, ` +
            `sum(CASE WHEN rarefy_v IS NULL OR NOT (rarefy_v >= 0e0 AND rarefy_v <= ${MAX_DOUBLE}) THEN 1 ELSE 0 END) AS bad ` +
            `FROM (SELECT ${y}, ${score} AS rarefy_v FROM ${from}) AS rarefy_scores`,
        ),
      );
      const bad = cell(sums, 'bad') ?? 0;
      if (bad > 0) throw badScores(bad, features);
      const total = cell(sums, 'total') ?? 0;
      if (!(total > 0)) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `scores: all ${rows} rows have design score 0 under ${design}`,
          'check the pilot (it predicts 0 everywhere?) or use the uniform design',
          { input: 'scores', design },
        );
      }
      mean = total / rows;
      negativeSum = cell(sums, 'negative_total') ?? 0;
      positiveComplementSum = cell(sums, 'positive_complement') ?? 0;
    }
    const c = rate / mean;
    const base = alpha * rate;
    solution = {
      method: 'rate',
      scale: c,
      uniformRate: rate,
      alpha,
      piMin,
      // Before the floor and the cap: the expected sizes of the linear part.
      expectedNegatives: slopeFactor * c * negativeSum + base * negatives,
      expectedPositives: lcc ? slopeFactor * c * positiveComplementSum + base * positives : positives,
      atCap: 0,
      atFloor: 0,
      iterations: 1,
    };
    scale = {
      method: 'rate',
      value: c,
      uniformRate: rate,
      alpha,
      piMin,
      histogramBins: 0,
      histogramScale: null,
      histogramExpectedNegatives: null,
      atCap: 0,
      atFloor: 0,
    };
  }
  return {
    design,
    label,
    features,
    pilotCoefficients: coefficients,
    optAInverse: optAInverse === null ? null : Array.from(optAInverse),
    solution,
    scaleSample,
    scale,
    population,
    pilot: pilotReport,
    seed,
    passes: stages.done,
  };
}

/** A histogram bin as the engine aggregates it: count, sum, sum of squares, smallest and largest score. */
interface HistogramBin {
  key: number;
  count: number;
  sum: number;
  squares: number;
  low: number;
  high: number;
}

/** The Bernoulli rate of a class in the scale's subsample: 1 (every row) up to `rowsPerClass` rows. */
function subsampleFraction(rowsPerClass: number, population: number): number {
  return population <= rowsPerClass ? 1 : rowsPerClass / population;
}

/**
 * The seed of the pilot draw's hash stream, as SQL text: 2^61 + seed, which equals no safe integer
 * seed and no subsample stream, so the pilot is drawn independently of the sampling uniforms (which
 * hash the seed itself): otherwise the pilot's negatives, having the smallest uniforms, would almost
 * all be kept by the sample too, and the A.8 combination assumes the two draws are independent.
 */
function pilotSeed(seed: number): string {
  return (2n ** 61n + BigInt(seed)).toString();
}

/**
 * The seed of the scale subsample's hash stream, as SQL text: 2^62 + 2^53 + seed, which no safe
 * integer seed (nor its two's complement) equals, so the subsample is independent of the pilot draw
 * and of the sampling uniforms of every seed.
 */
function subsampleSeed(seed: number): string {
  return (2n ** 62n + 2n ** 53n + BigInt(seed)).toString();
}

/** Rows in a class's bins and zeros. */
function classRows(bins: readonly HistogramBin[], zeros: number): number {
  let rows = zeros;
  for (const bin of bins) rows += bin.count;
  return rows;
}

/**
 * What a class's subsample says at the solved scale: the scaled-up sum of its keep probabilities,
 * its standard error (simple random sampling given the subsample's size, finite-population
 * corrected), and the estimated Poisson sd of the realised size. Each bin's keep probabilities are
 * taken at floor, cap or the linear part by its mean score, as `ScoreHistogram.evaluate` does; in the
 * linear part sum pi^2 = m^2 sum s^2 + 2 m b sum s + b^2 n is exact.
 */
function subsampleReport(
  bins: readonly HistogramBin[],
  zeros: number,
  population: number,
  fraction: number,
  clamp: { multiplier: number; base: number; piMin: number },
): EngineScaleSampleClass {
  const { multiplier, base, piMin } = clamp;
  let sum = 0;
  let squares = 0;
  for (const bin of bins) {
    const probability = (multiplier * bin.sum) / bin.count + base;
    if (probability <= piMin) {
      sum += bin.count * piMin;
      squares += bin.count * piMin * piMin;
    } else if (probability >= 1) {
      sum += bin.count;
      squares += bin.count;
    } else {
      sum += multiplier * bin.sum + base * bin.count;
      squares +=
        multiplier * multiplier * bin.squares + 2 * multiplier * base * bin.sum + base * base * bin.count;
    }
  }
  const zero = clampKeepProbability(base, piMin);
  sum += zeros * zero;
  squares += zeros * zero * zero;
  const rows = classRows(bins, zeros);
  const weight = population / rows;
  const mean = sum / rows;
  const variance = rows > 1 ? Math.max(0, (squares - rows * mean * mean) / (rows - 1)) : 0;
  const standardError =
    rows >= population ? 0 : population * Math.sqrt(((1 - rows / population) * variance) / rows);
  return {
    fraction,
    rows,
    expected: weight * sum,
    standardError,
    realisedStandardDeviation: Math.sqrt(Math.max(0, weight * (sum - squares))),
  };
}

function emptySubsample(className: 'negatives' | 'positives', rowsPerClass: number): RarefyError {
  return new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    `scaleSampleRows: the subsample of about ${rowsPerClass} ${className} that the scale is solved on drew none`,
    'pass a larger scaleSampleRows (--scale-sample-rows), e.g. the default 1000000',
    { input: 'scaleSampleRows', value: rowsPerClass },
  );
}

function badScores(count: number, features: readonly string[]): RarefyInputError {
  return new RarefyInputError(
    'RAREFY_NON_FINITE',
    `features: ${count} rows have a NULL, NaN or infinite value in a feature (${features.join(', ')}), so their design score is undefined`,
    'impute or filter rows with missing values before sampling, or leave the column out of the features',
    { input: 'features', rows: count },
  );
}

/**
 * Fits the pilot and solves the scale inside an SQL engine, without writing a sample (ALGORITHMS.md
 * A.6-A.7): the class counts by SQL; the balanced pilot drawn by SQL and fitted locally with
 * `fitLogisticPilot` (the intercept corrected by log(r1/r0)); optA's M from the pilot rows; then
 * the `exact` scale solved with `solveHistogramScale` on a histogram of the negatives' design scores
 * aggregated by one SQL `GROUP BY` over the bins `sampleStream` uses (or, under `rate`, the mean
 * score by SQL). Only the pilot rows and a few thousand bins leave the engine. With
 * `pilotCoefficients` (a logistic pilot fitted elsewhere) no pilot is drawn: the rows are scored
 * with the given coefficients.
 *
 * The pilot draw: within each class, the rows ordered by the hash uniform of (row key, seed) (the
 * dialect's `hashUniform`; without a row key, the engine's `fingerprint` of the label and the
 * features stands for the row), then by the label and features to break ties, and the first
 * floor(n/2) negatives and ceil(n/2) positives taken (the whole class under `takeWholeClass`): a
 * uniform draw without replacement, reproducible for a seed whatever the engine's parallelism or the
 * order of the files. Rows identical in label and features share a fingerprint; which of them is
 * drawn does not change the pilot.
 *
 * @param engine - the engine (e.g. a `DuckDbEngine`)
 * @param source - what the engine reads: for DuckDB a CSV/Parquet/JSON file or glob
 * @param options - label, features, design, sizes, seed, row key, progress
 * @returns every constant of the sampling statement (see {@link engineSamplingSql})
 * @throws RarefyInputError for a missing label or feature column, labels other than 0/1, NULL
 *   features, too small classes; RarefySamplingError `RAREFY_SAMPLE_TOO_LARGE`; RarefyError for bad
 *   options (`RAREFY_INVALID_ARGUMENT` for `pilotCoefficients` with `optA`, without `features` or of
 *   the wrong length); RarefyIoError when the engine cannot read the source
 * @example
 * ```ts
 * const plan = await planEngineSample(engine, 'logs/*.parquet', { label: 'clicked', design: 'optA' });
 * console.log(engineSamplingSql(plan, { dialect: 'spark', inputTable: 'logs.clicks' }));
 * ```
 */
export async function planEngineSample(
  engine: SqlEngine,
  source: string,
  options: EnginePlanOptions,
): Promise<EngineSamplePlan> {
  const handle = await engine.openSource(source);
  try {
    return await plan(engine, handle.table, options, false);
  } finally {
    await handle.release();
  }
}

/**
 * The sampling statement of a plan for any dialect: `samplingSql` with the plan's pilot and scale.
 *
 * @param plan - from {@link planEngineSample} (or the same constants found in-process)
 * @param target - dialect, input table, row key; optionally the columns to write and `samplingSql`'s
 *   optA `prefilter` (which needs them)
 * @returns the SQL
 * @throws RarefyError as `samplingSql` (e.g. Trino or BigQuery without a row key)
 * @example
 * ```ts
 * const sql = engineSamplingSql(plan, { dialect: 'trino', inputTable: 'hive.logs.clicks', rowKey: 'event_id' });
 * ```
 */
export function engineSamplingSql(
  plan: Pick<
    EngineSamplePlan,
    'design' | 'label' | 'features' | 'pilotCoefficients' | 'optAInverse' | 'solution' | 'seed'
  >,
  target: {
    dialect: SqlDialect;
    inputTable: string;
    rowKey?: string;
    keepColumns?: readonly string[];
    prefilter?: boolean;
  },
): string {
  return samplingSql({
    dialect: target.dialect,
    inputTable: target.inputTable,
    label: plan.label,
    features: plan.features,
    pilotCoefficients: plan.pilotCoefficients,
    design: plan.design,
    ...(plan.optAInverse === null ? {} : { optAInverse: plan.optAInverse }),
    solution: plan.solution,
    seed: plan.seed,
    ...(target.rowKey === undefined ? {} : { rowKey: target.rowKey }),
    ...(target.keepColumns === undefined ? {} : { keepColumns: target.keepColumns }),
    ...(target.prefilter === undefined ? {} : { prefilter: target.prefilter }),
  });
}

/**
 * Out-of-core sampling inside an SQL engine (issue 3's DuckDB path; issue 8's engine abstraction):
 * {@link planEngineSample}'s statements, then ONE `COPY (samplingSql(...)) TO out` through
 * `engine.copyTo`, atomic (a temporary file renamed into place when complete). The kept rows have
 * every input column plus `pi`, `offset` and `weight`, as `sampleStream` writes them; the sample's
 * class counts are read back from the file. Memory is the engine's (DuckDB streams and spills) plus
 * the pilot: independent of the number of rows.
 *
 * Speed (ALGORITHMS.md A.11): the scale is solved on a subsample of about `scaleSampleRows` rows per
 * class (see {@link EnginePlanOptions.scaleSampleRows}; its standard errors are in `scaleSample`),
 * and for optA (when at most a tenth of the negatives are kept) the statement is `samplingSql`'s
 * `prefilter` form, which computes the full score only for the rows a cheap bound of pi cannot rule
 * out; the kept rows and their pi are those of the plain statement.
 *
 * Random numbers: with `rowKey`, each row's uniform is a hash of (row key, seed), the same on every
 * run; without, the dialect's seeded generator (DuckDB: `setseed` + `random()`, reproducible with
 * one thread only). See `samplingSql`.
 *
 * @param engine - the engine (e.g. a `DuckDbEngine`)
 * @param source - for DuckDB a CSV/Parquet/JSON file or glob
 * @param options - as {@link planEngineSample}, plus `out` (and its `format`)
 * @returns realised and expected sizes, the scale, the pilot, passes, seconds and the SQL run
 * @throws as {@link planEngineSample}; RarefyIoError when the output cannot be written (then nothing
 *   is at `out`)
 * @example
 * ```ts
 * const engine = await DuckDbEngine.open();
 * try {
 *   const result = await sampleWithEngine(engine, 'logs/*.parquet', {
 *     label: 'clicked', design: 'optA', sampleSize: 100_000, rowKey: 'event_id', out: 'sample.parquet',
 *   });
 *   console.log(result.sample, result.scale.value);
 * } finally {
 *   await engine.close();
 * }
 * ```
 */
export async function sampleWithEngine(
  engine: SqlEngine,
  source: string,
  options: EngineSampleOptions,
): Promise<EngineSampleResult> {
  const started = performance.now();
  const format = options.format ?? (/\.(parquet|pq)$/i.test(options.out) ? 'parquet' : 'csv');
  if (format !== 'parquet' && format !== 'csv') {
    throw invalidOption('format', format, "pass 'parquet' or 'csv'");
  }
  let handle: SqlSourceHandle | null = await engine.openSource(source);
  try {
    const planned = await plan(engine, handle.table, options, true);
    // optA: the full score only where the row's uniform is below a cheap bound of its keep
    // probability (samplingSql's prefilter; the same kept rows and pi), with the input's columns
    // listed so that the prefilter's helper columns are not written.
    // (When more than a tenth of the negatives are kept, the bound lets too many through to pay.)
    const names = (await engine.describe(handle.table)).map((column) => column.name);
    const prefilter =
      planned.design === 'optA' &&
      planned.solution.expectedNegatives <= 0.1 * planned.population.negatives &&
      !names.some((name) => PREFILTER_COLUMNS.some((helper) => helper === name.toLowerCase()));
    const sql = engineSamplingSql(planned, {
      dialect: engine.dialect,
      inputTable: handle.table,
      ...(options.rowKey === undefined ? {} : { rowKey: options.rowKey }),
      ...(prefilter ? { keepColumns: names, prefilter } : {}),
    });
    const pass = planned.passes + 1;
    const report = (done: boolean) =>
      options.onProgress?.({
        pass,
        passes: pass,
        stage: 'sample',
        rows: done ? planned.population.rows : 0,
        done,
      });
    report(false);
    await engine.copyTo(sql, options.out, format);
    report(true);
    await handle.release();
    handle = null;
    const output = await engine.openSource(options.out);
    let kept: Record<string, unknown> | undefined;
    try {
      const y = quoteIdentifier(planned.label, engine.dialect, 'label');
      const pi = quoteIdentifier('pi', engine.dialect, 'pi');
      [kept] = await engine.query(
        `SELECT sum(CASE WHEN ${y} = 1 THEN 1 ELSE 0 END) AS positives, sum(CASE WHEN ${y} = 0 THEN 1 ELSE 0 END) AS negatives, ` +
          `sum(CASE WHEN ${y} = 0 AND ${pi} >= 1e0 THEN 1 ELSE 0 END) AS capped FROM ${quoteIdentifier(output.table, engine.dialect, 'table')}`,
      );
    } finally {
      await output.release();
    }
    const sample = { positives: cell(kept, 'positives') ?? 0, negatives: cell(kept, 'negatives') ?? 0 };
    // Every negative at the cap is kept (u < 1 = pi): the count on the output is exact.
    const atCap = cell(kept, 'capped') ?? 0;
    return {
      sample,
      expected: {
        negatives: planned.solution.expectedNegatives,
        positives: planned.solution.expectedPositives,
      },
      scale: { ...planned.scale, atCap },
      solution: { ...planned.solution, atCap },
      scaleSample: planned.scaleSample,
      rowsRead: planned.population.rows,
      population: planned.population,
      pilot: planned.pilot,
      passes: pass,
      seconds: (performance.now() - started) / 1000,
      sql,
      out: options.out,
    };
  } finally {
    if (handle !== null) await handle.release().catch(() => undefined);
  }
}
