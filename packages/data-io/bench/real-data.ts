/**
 * The full rare-events recipe on real data (issue 3): w8a (LibSVM, 300 sparse binary features) and
 * mammography (CSV without header, 6 numeric features, class quoted '-1'/'1') from
 * `../shared/data`, each split 70/30 (stratified, seeded) into a training part and a held-out part.
 * Every model is fitted on the training part and judged on the held-out part, never sampled:
 * ROC AUC, PR AUC, log loss, Brier score, calibration-in-the-large (mean predicted / observed rate),
 * calibration slope and expected calibration error (15 equal-mass bins), ALGORITHMS.md part C.
 *
 * Models: the full-data logistic fit; class reweighting of the full data; uniform negative sampling
 * with the log-odds correction; the nonuniform designs proportional, optL, optA and LCC with the
 * log-odds estimator, optA also with IPW; and the naive (uncorrected) fit on the optA sample. The
 * sampled ones at 10% and 5% of the training negatives (expected kept negatives = 0.10 N0 and
 * 0.05 N0), over several seeds (mean and sd).
 *
 * mammography goes through `fitRareEvents` as it is (pilot of 200 rows, combined estimate, A.8).
 * w8a cannot: in the whole file 36 of its columns are never 1 on a positive row and 33 columns
 * duplicate an earlier one (on the training part: 37 and 37), so the maximum-likelihood estimate does
 * not exist and every unpenalised fit fails with a typed error. Duplicates and columns constant in the training part are dropped, and every w8a fit uses
 * the ridge penalty RIDGE of `fitLogistic` (unpenalised intercept). `fitRareEvents`,
 * `fitClassReweighted` and `LogisticPilot.fit` take no ridge, so for w8a the bench runs the same
 * steps with the public building blocks (drawBalancedPilot, fitLogistic with `ridge`,
 * correctCaseControlIntercept, optAMatrix, designScores, solveScale, sampleWithScores, fitSubsample
 * with `ridge`) and reports the subsample estimate alone (no A.8 combination).
 *
 * Skips with a message when `../shared/data` (or RAREFY_SHARED_DATA) is absent. Seeds: REAL_DATA_SEEDS
 * (default 5 for mammography, 3 for w8a). Run with
 * `node --conditions=@rarefy/source --import tsx bench/real-data.ts` in packages/data-io.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, writeResult } from '@rarefy/bench';
import {
  type CalibrationReport,
  calibrationReport,
  correctCaseControlIntercept,
  type EstimatorName,
  fitClassReweighted,
  fitLogistic,
  fitRareEvents,
  fitSubsample,
  predictProbability,
} from '@rarefy/correction';
import {
  batchDesignMatrix,
  type ColumnBatch,
  createRng,
  type DesignMatrix,
  type DesignName,
  designScores,
  drawBalancedPilot,
  isRarefyError,
  optAMatrix,
  type SampleResult,
  sampleWithScores,
  selectRows,
  solveScale,
  stratifiedSplit,
} from '@rarefy/sampling-core';
import { collectBatches, openBatches } from '../src/node.js';

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDirectory = resolve(
  process.env.RAREFY_SHARED_DATA ?? join(packageDirectory, '../../../shared/data'),
);
const SPLIT_SEED = 2026;
const TRAIN_SHARE = 0.7;
const FRACTIONS = [0.1, 0.05] as const;
/** The ridge penalty lambda of every w8a fit: minimises deviance + lambda * sum of squared slopes. */
const RIDGE = 1;
const now = (): number => performance.now() / 1000;

interface Dataset {
  name: string;
  /** All rows, intercept first, after the column clean-up. */
  train: DesignMatrix;
  yTrain: Uint8Array;
  test: DesignMatrix;
  yTest: Uint8Array;
  ridge: number;
  dropped: { constant: number; duplicate: number; noPositiveInTrain: number; emptyRows: number };
  readSeconds: number;
}

/**
 * Feature columns that carry information in the training rows: not constant there, and not an exact
 * copy of an earlier kept column there (a copy makes X'WX singular). Counts what was dropped.
 */
function informativeColumns(
  batch: ColumnBatch,
  features: readonly string[],
  train: Int32Array,
  yTrain: Uint8Array,
): { kept: string[]; constant: number; duplicate: number; noPositive: number } {
  const kept: string[] = [];
  const seen = new Map<number, string[]>();
  let constant = 0;
  let duplicate = 0;
  let noPositive = 0;
  for (const name of features) {
    const column = batch.columns[name] as Float64Array;
    const first = column[train[0] as number] as number;
    let varies = false;
    let positive = false;
    for (let k = 0; k < train.length; k++) {
      const value = column[train[k] as number] as number;
      if (value !== first) varies = true;
      if (value !== 0 && yTrain[k] === 1) positive = true;
    }
    if (!varies) {
      constant++;
      continue;
    }
    // Exact duplicates: a hash of the column's training values, confirmed by comparison.
    let hash = 0x811c9dc5;
    for (let k = 0; k < train.length; k++) {
      hash ^= Math.round((column[train[k] as number] as number) * 1e6) | 0;
      hash = Math.imul(hash, 0x01000193);
    }
    const bucket = seen.get(hash >>> 0) ?? [];
    if (
      bucket.some((earlier) =>
        train.every((row) => (batch.columns[earlier] as Float64Array)[row] === column[row]),
      )
    ) {
      duplicate++;
      continue;
    }
    bucket.push(name);
    seen.set(hash >>> 0, bucket);
    if (!positive) noPositive++;
    kept.push(name);
  }
  return { kept, constant, duplicate, noPositive };
}

async function load(
  name: string,
  path: string,
  read: () => Promise<ColumnBatch>,
  label: string,
  ridge: number,
): Promise<Dataset | null> {
  if (!existsSync(path)) {
    console.error(`real-data: ${path} is absent; skipping ${name} (see ../shared/data/README.md)`);
    return null;
  }
  const started = now();
  const batch = await read();
  const readSeconds = now() - started;
  const y = batch.columns[label] as Uint8Array;
  const features = batch.schema.filter((column) => column.name !== label).map((column) => column.name);
  const split = stratifiedSplit(y, TRAIN_SHARE, createRng(SPLIT_SEED));
  const yTrain = Uint8Array.from(split.train, (row) => y[row] as number);
  const yTest = Uint8Array.from(split.test, (row) => y[row] as number);
  const columns = informativeColumns(batch, features, split.train, yTrain);
  let emptyRows = 0;
  for (let i = 0; i < batch.rows; i++) {
    if (features.every((feature) => (batch.columns[feature] as Float64Array)[i] === 0)) emptyRows++;
  }
  const x = batchDesignMatrix(batch, columns.kept);
  return {
    name,
    train: selectRows(x, split.train),
    yTrain,
    test: selectRows(x, split.test),
    yTest,
    ridge,
    dropped: {
      constant: columns.constant,
      duplicate: columns.duplicate,
      noPositiveInTrain: columns.noPositive,
      emptyRows,
    },
    readSeconds,
  };
}

type Metrics = Pick<
  CalibrationReport,
  | 'rocAuc'
  | 'prAuc'
  | 'logLoss'
  | 'brier'
  | 'calibrationInTheLarge'
  | 'calibrationSlope'
  | 'calibrationIntercept'
  | 'expectedCalibrationError'
>;

function heldOut(data: Dataset, coefficients: Float64Array): Metrics {
  const report = calibrationReport(data.yTest, predictProbability(data.test, coefficients));
  return {
    rocAuc: report.rocAuc,
    prAuc: report.prAuc,
    logLoss: report.logLoss,
    brier: report.brier,
    calibrationInTheLarge: report.calibrationInTheLarge,
    calibrationSlope: report.calibrationSlope,
    calibrationIntercept: report.calibrationIntercept,
    expectedCalibrationError: report.expectedCalibrationError,
  };
}

/** One fitted model's outcome: held-out metrics, realised sample, seconds. */
interface Run {
  metrics: Metrics;
  negatives: number;
  positives: number;
  seconds: number;
}

function classWeights(y: Uint8Array): Float64Array {
  let positives = 0;
  for (const label of y) positives += label;
  const n = y.length;
  return Float64Array.from(y, (label) => (label === 1 ? n / (2 * positives) : n / (2 * (n - positives))));
}

function countPositives(y: Uint8Array): number {
  let positives = 0;
  for (const label of y) positives += label;
  return positives;
}

/**
 * The w8a recipe with a ridge on every fit: one balanced pilot per seed (fitted with the ridge, its
 * intercept corrected by log(r1/r0)) shared by the nonuniform designs; optA's M averaged over all
 * training rows (a 1,000-row pilot leaves rare sparse columns all zero, so the pilot-row estimate of
 * M is singular); exact scale; Poisson sample; the corrected fit with the same ridge.
 */
class RidgeRecipe {
  private pilotProbability: Float64Array | null = null;
  private pilotCoefficients: Float64Array | null = null;

  constructor(
    private readonly data: Dataset,
    private readonly seed: number,
    private readonly pilotSize: number,
  ) {}

  private pilot(): { probability: Float64Array; coefficients: Float64Array } {
    if (this.pilotProbability === null || this.pilotCoefficients === null) {
      const { train, yTrain, ridge } = this.data;
      const draw = drawBalancedPilot(yTrain, this.pilotSize, createRng(`pilot-${this.seed}`));
      const pilotX = selectRows(train, draw.rows);
      const pilotY = Uint8Array.from(draw.rows, (row) => yTrain[row] as number);
      const fit = fitLogistic(pilotX, pilotY, { ridge, input: 'pilot' });
      this.pilotCoefficients = correctCaseControlIntercept(
        fit.coefficients,
        draw.positiveRate,
        draw.negativeRate,
      );
      this.pilotProbability = predictProbability(train, this.pilotCoefficients);
    }
    return { probability: this.pilotProbability, coefficients: this.pilotCoefficients as Float64Array };
  }

  /** Scores, scale and sample of a design (the pilot's cost is counted once per seed, in its first design). */
  sample(
    design: DesignName,
    sampleSize: number,
  ): { sample: SampleResult; seconds: number; start?: Float64Array } {
    const started = now();
    const { train, yTrain } = this.data;
    let scores: Float64Array;
    let start: Float64Array | undefined;
    // The pilot is fitted once per seed: its time counts in the first design that uses it.
    if (design === 'uniform') {
      scores = new Float64Array(train.rows).fill(1);
    } else {
      const pilot = this.pilot();
      start = pilot.coefficients;
      const optAInverse =
        design === 'optA'
          ? optAMatrix(train, yTrain, pilot.probability, { negativeRate: 1, positiveRate: 1 }).inverse
          : undefined;
      scores = designScores(design, pilot.probability, train, { optAInverse });
    }
    const scale = solveScale(design, scores, yTrain, { method: 'exact', sampleSize, alpha: 0, piMin: 1e-6 });
    const sample = sampleWithScores(design, scores, yTrain, scale, createRng(`${design}-${this.seed}`));
    return { sample, seconds: now() - started, start };
  }

  fit(
    sampled: { sample: SampleResult; seconds: number; start?: Float64Array },
    estimator: EstimatorName | 'naive',
  ): Run {
    const started = now();
    const { sample } = sampled;
    const x = selectRows(this.data.train, sample.rows);
    let coefficients: Float64Array;
    if (estimator === 'naive') {
      coefficients = fitLogistic(x, sample.labels, { ridge: this.data.ridge, input: 'sample' }).coefficients;
    } else {
      coefficients = fitSubsample(
        estimator,
        x,
        sample.labels,
        { offset: sample.offset, weight: sample.weight },
        {
          ridge: this.data.ridge,
          ...(estimator === 'log-odds' && sampled.start !== undefined ? { start: sampled.start } : {}),
        },
      ).coefficients;
    }
    return {
      metrics: heldOut(this.data, coefficients),
      negatives: sample.negatives,
      positives: sample.positives,
      seconds: sampled.seconds + now() - started,
    };
  }
}

interface Case {
  method: string;
  design: DesignName;
  estimator: EstimatorName | 'naive';
}

const CASES: readonly Case[] = [
  { method: 'uniform + log-odds', design: 'uniform', estimator: 'log-odds' },
  { method: 'proportional + log-odds', design: 'proportional', estimator: 'log-odds' },
  { method: 'optL + log-odds', design: 'optL', estimator: 'log-odds' },
  { method: 'optA + log-odds', design: 'optA', estimator: 'log-odds' },
  { method: 'LCC + log-odds', design: 'LCC', estimator: 'log-odds' },
  { method: 'optA + IPW', design: 'optA', estimator: 'ipw' },
  { method: 'optA, naive (no correction)', design: 'optA', estimator: 'naive' },
];

/** mammography: the library's own recipe, `fitRareEvents`; the naive fit reuses the optA sample. */
function fitWithRecipe(data: Dataset, c: Case, sampleSize: number, seed: number, pilotSize: number): Run {
  const started = now();
  const fit = fitRareEvents({
    x: data.train,
    y: data.yTrain,
    design: c.design,
    estimator: c.estimator === 'naive' ? 'log-odds' : c.estimator,
    sampleSize,
    pilotSize,
    seed,
  });
  let coefficients = fit.coefficients;
  if (c.estimator === 'naive') {
    coefficients = fitLogistic(selectRows(data.train, fit.sample.rows), fit.sample.labels, {
      input: 'sample',
    }).coefficients;
  }
  return {
    metrics: heldOut(data, coefficients),
    negatives: fit.sample.negatives,
    positives: fit.sample.positives,
    seconds: now() - started,
  };
}

const METRIC_COLUMNS: ReadonlyArray<[keyof Metrics, string, number]> = [
  ['rocAuc', 'AUC', 4],
  ['prAuc', 'PR AUC', 3],
  ['logLoss', 'log loss', 4],
  ['brier', 'Brier', 5],
  ['calibrationInTheLarge', 'CITL', 3],
  ['calibrationSlope', 'slope', 3],
  ['expectedCalibrationError', 'ECE', 4],
];

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function sd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, value) => sum + (value - m) ** 2, 0) / (values.length - 1));
}

function summarise(method: string, budget: string, runs: readonly Run[]): Record<string, unknown> {
  const row: Record<string, unknown> = {
    method,
    'negatives kept':
      budget === 'all' ? budget : `${Math.round(mean(runs.map((run) => run.negatives)))} (${budget})`,
  };
  for (const [key, label, digits] of METRIC_COLUMNS) {
    const values = runs.map((run) => run.metrics[key]);
    row[label] =
      runs.length > 1
        ? `${mean(values).toFixed(digits)} ± ${sd(values).toFixed(digits)}`
        : (values[0] as number).toFixed(digits);
  }
  row.seconds = mean(runs.map((run) => run.seconds)).toPrecision(2);
  return row;
}

async function runDataset(data: Dataset, seeds: number, pilotSize: number): Promise<Record<string, unknown>> {
  const { train, yTrain } = data;
  const positives = countPositives(yTrain);
  const negatives = yTrain.length - positives;
  console.error(
    `${data.name}: train ${train.rows} rows (${positives} positives), held-out ${data.test.rows} rows (${countPositives(data.yTest)} positives), ${train.columns - 1} features kept`,
  );
  const table: Record<string, unknown>[] = [];
  const raw: Record<string, unknown> = {};

  // Full data, and class reweighting of the full data.
  let started = now();
  const full = fitLogistic(train, yTrain, { ridge: data.ridge });
  const fullRun: Run = {
    metrics: heldOut(data, full.coefficients),
    negatives,
    positives,
    seconds: now() - started,
  };
  table.push(summarise(data.ridge > 0 ? `full data (ridge ${data.ridge})` : 'full data', 'all', [fullRun]));
  raw.full = { ...fullRun, iterations: full.iterations };
  console.error(`  full data: ${fullRun.seconds.toFixed(1)} s, ${full.iterations} iterations`);

  started = now();
  const reweighted =
    data.ridge > 0
      ? fitLogistic(train, yTrain, { weight: classWeights(yTrain), ridge: data.ridge }).coefficients
      : fitClassReweighted(train, yTrain).coefficients;
  const reweightedRun: Run = {
    metrics: heldOut(data, reweighted),
    negatives,
    positives,
    seconds: now() - started,
  };
  table.push(summarise('class reweighting (full data)', 'all', [reweightedRun]));
  raw.classReweighted = reweightedRun;

  // With no ridge, fitRareEvents itself; otherwise the same steps with a ridge on every fit.
  let recipeError: string | null = null;
  if (data.ridge > 0) {
    try {
      fitRareEvents({
        x: train,
        y: yTrain,
        design: 'optA',
        sampleSize: Math.round(0.1 * negatives),
        seed: 1,
      });
    } catch (error) {
      recipeError = isRarefyError(error) ? `${error.code}: ${error.message}` : String(error);
      console.error(`  fitRareEvents without a ridge: ${recipeError}`);
    }
  }
  for (const fraction of FRACTIONS) {
    const sampleSize = Math.round(fraction * negatives);
    const runs = new Map<string, Run[]>(CASES.map((c) => [c.method, []]));
    for (let seed = 1; seed <= seeds; seed++) {
      if (data.ridge > 0) {
        const recipe = new RidgeRecipe(data, seed, pilotSize);
        const samples = new Map<DesignName, ReturnType<RidgeRecipe['sample']>>();
        for (const c of CASES) {
          let sampled = samples.get(c.design);
          if (sampled === undefined) {
            sampled = recipe.sample(c.design, sampleSize);
            samples.set(c.design, sampled);
          }
          runs.get(c.method)?.push(recipe.fit(sampled, c.estimator));
        }
      } else {
        for (const c of CASES) runs.get(c.method)?.push(fitWithRecipe(data, c, sampleSize, seed, pilotSize));
      }
      console.error(`  ${fraction * 100}% seed ${seed} done`);
    }
    const budget = `${fraction * 100}%: ${sampleSize}`;
    for (const c of CASES) table.push(summarise(c.method, budget, runs.get(c.method) ?? []));
    raw[`fraction-${fraction}`] = Object.fromEntries(runs);
  }
  console.log(`\n### ${data.name}\n`);
  console.log(markdownTable(table));
  return {
    rows: { train: train.rows, test: data.test.rows },
    positives: { train: positives, test: countPositives(data.yTest) },
    featuresKept: train.columns - 1,
    dropped: data.dropped,
    ridge: data.ridge,
    pilotSize,
    seeds,
    readSeconds: data.readSeconds,
    recipeWithoutRidge: recipeError,
    table,
    runs: raw,
  };
}

const seedsOverride =
  process.env.REAL_DATA_SEEDS === undefined ? undefined : Number(process.env.REAL_DATA_SEEDS);
const results: Record<string, unknown> = {
  splitSeed: SPLIT_SEED,
  trainShare: TRAIN_SHARE,
  fractions: FRACTIONS,
};

const mammographyPath = join(dataDirectory, 'mammography/mammography.csv');
const mammography = await load(
  'mammography',
  mammographyPath,
  async () =>
    collectBatches(
      await openBatches(mammographyPath, {
        format: 'csv',
        header: false,
        label: 'c7',
        labelMapping: { positive: ['1'], negative: ['-1'] },
      }),
    ),
  'c7',
  0,
);
if (mammography !== null) results.mammography = await runDataset(mammography, seedsOverride ?? 5, 200);

const w8aPath = join(dataDirectory, 'w8a/w8a');
const w8a = await load(
  'w8a',
  w8aPath,
  async () => collectBatches(await openBatches(w8aPath, { format: 'libsvm' })),
  'label',
  RIDGE,
);
if (w8a !== null) results.w8a = await runDataset(w8a, seedsOverride ?? 3, 1000);

if (mammography !== null || w8a !== null) {
  console.error(`wrote ${writeResult(packageDirectory, 'real-data', results)}`);
}
