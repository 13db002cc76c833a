/**
 * Pilots on real data (issue 4): w8a from `../shared/data` (49,749 rows, 300 sparse binary
 * features, 2.97% positives), split 70/30 (stratified, seeded) as in data-io's bench/real-data.ts.
 * Two pilots are trained on the same balanced case-control draw from the training part (PILOT_SIZE
 * rows, half of each class):
 * - `LogisticPilot`: a ridge logistic fit on the draw, intercept corrected by log(r1/r0) (A.6);
 * - `NeuralPilot`: an MLP [32] (relu) over the standardised features, trained on the same draw with
 *   the constant offset log(r1/r0) in the loss (A.4: the draw is a case-control sample, so its log
 *   odds are the population's plus log(r1/r0)); predictions leave the offset out, so they are
 *   population-scale probabilities.
 * Each pilot's probabilities on every training row drive the optA design (M averaged over all
 * training rows, as `fitRareEvents` does for an external pilot) and the optL design (no M: it needs
 * no matrix inverse, and is what to use when optA's M is numerically singular); the corrected (log-odds) final
 * logistic model is fitted at 10% and 5% of the training negatives over SEEDS seeds, and judged on
 * the held-out part, unsampled, against the full-data model: ROC AUC, log loss, calibration (part C),
 * and the seconds to train each pilot, to score the training rows with it, and to fit the final model.
 *
 * w8a's maximum-likelihood estimate does not exist (columns never 1 on a positive row), so every
 * logistic fit here uses the ridge RIDGE. `LogisticPilot.fit` and `fitRareEvents` take no ridge: the
 * bench tries each once and records its typed error, then runs the same steps with the public
 * building blocks (fitLogistic with `ridge`, LogisticPilot.fromCoefficients, optAMatrix,
 * designScores, solveScale, sampleWithScores, fitSubsample with `ridge`).
 *
 * The data is read with data-io's reader through a relative import (pilot-model does not depend on
 * data-io, and a bench adds no dependency). Skips with a message when the data is absent. Run with
 * `node --conditions=@rarefy/source --import tsx bench/pilots.ts` in packages/pilot-model.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, writeResult } from '@rarefy/bench';
import {
  calibrationReport,
  correctCaseControlIntercept,
  fitLogistic,
  fitRareEvents,
  fitSubsample,
  predictProbability,
} from '@rarefy/correction';
import { selectBackend } from '@rarefy/model-kit/node';
import {
  batchDesignMatrix,
  type ColumnBatch,
  createRng,
  type DesignMatrix,
  designScores,
  drawBalancedPilot,
  isRarefyError,
  optAMatrix,
  sampleWithScores,
  selectRows,
  solveScale,
  stratifiedSplit,
} from '@rarefy/sampling-core';
import { collectBatches, openBatches } from '../../data-io/src/node.js';
import { LogisticPilot } from '../src/logistic-pilot.js';
import type { NeuralRows } from '../src/neural/encode.js';
import { NeuralPilot } from '../src/neural/neural-pilot.js';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const dataDirectory = resolve(
  process.env.RAREFY_SHARED_DATA ?? join(packageDirectory, '../../../shared/data'),
);
const path = join(dataDirectory, 'w8a/w8a');
const SPLIT_SEED = 2026;
const PILOT_SIZE = 2000;
const RIDGE = 1;
const SEEDS = Number(process.env.PILOT_BENCH_SEEDS ?? 3);
const FRACTIONS = [0.1, 0.05] as const;
const DESIGNS = ['optA', 'optL'] as const;
const now = (): number => performance.now() / 1000;

function describe(error: unknown): string {
  return isRarefyError(error) ? `${error.code}: ${error.message}` : String(error);
}

/** Columns not constant on the training rows and not an exact copy of an earlier kept column there. */
function informativeColumns(batch: ColumnBatch, features: readonly string[], train: Int32Array): string[] {
  const kept: string[] = [];
  const signatures = new Map<string, string>();
  for (const name of features) {
    const column = batch.columns[name] as Float64Array;
    const first = column[train[0] as number] as number;
    if (train.every((row) => column[row] === first)) continue;
    const signature = Array.from(train, (row) => column[row] as number).join(',');
    if (signatures.has(signature)) continue;
    signatures.set(signature, name);
    kept.push(name);
  }
  return kept;
}

/** The features of a design matrix without its intercept column, as NeuralRows. */
function neuralRows(x: DesignMatrix, y?: Uint8Array): NeuralRows {
  const p = x.columns - 1;
  const numeric = new Float64Array(x.rows * p);
  for (let i = 0; i < x.rows; i++)
    numeric.set(x.data.subarray(i * x.columns + 1, (i + 1) * x.columns), i * p);
  return { rows: x.rows, numeric, categorical: [], ...(y === undefined ? {} : { labels: y }) };
}

function heldOut(y: Uint8Array, probability: Float64Array) {
  const report = calibrationReport(y, probability);
  return {
    rocAuc: report.rocAuc,
    prAuc: report.prAuc,
    logLoss: report.logLoss,
    brier: report.brier,
    calibrationInTheLarge: report.calibrationInTheLarge,
    calibrationSlope: report.calibrationSlope,
    expectedCalibrationError: report.expectedCalibrationError,
  };
}
type Metrics = ReturnType<typeof heldOut>;

const mean = (values: readonly number[]): number =>
  values.reduce((sum, value) => sum + value, 0) / values.length;
function sd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, value) => sum + (value - m) ** 2, 0) / (values.length - 1));
}
const COLUMNS: ReadonlyArray<[keyof Metrics, string, number]> = [
  ['rocAuc', 'AUC', 4],
  ['prAuc', 'PR AUC', 3],
  ['logLoss', 'log loss', 4],
  ['calibrationInTheLarge', 'CITL', 3],
  ['calibrationSlope', 'slope', 3],
  ['expectedCalibrationError', 'ECE', 4],
];
function metricCells(runs: readonly Metrics[]): Record<string, string> {
  const cells: Record<string, string> = {};
  for (const [key, label, digits] of COLUMNS) {
    const values = runs.map((run) => run[key]);
    cells[label] =
      runs.length > 1
        ? `${mean(values).toFixed(digits)} ± ${sd(values).toFixed(digits)}`
        : (values[0] as number).toFixed(digits);
  }
  return cells;
}

if (!existsSync(path)) {
  console.error(`pilots: ${path} is absent; skipping the w8a pilot benchmark (see ../shared/data/README.md)`);
} else {
  const backend = await selectBackend();
  const batch = await collectBatches(await openBatches(path, { format: 'libsvm' }));
  const y = batch.columns.label as Uint8Array;
  const split = stratifiedSplit(y, 0.7, createRng(SPLIT_SEED));
  const yTrain = Uint8Array.from(split.train, (row) => y[row] as number);
  const yTest = Uint8Array.from(split.test, (row) => y[row] as number);
  const features = informativeColumns(
    batch,
    batch.schema.filter((column) => column.type !== 'label').map((column) => column.name),
    split.train,
  );
  const x = batchDesignMatrix(batch, features);
  const train = selectRows(x, split.train);
  const test = selectRows(x, split.test);
  let positives = 0;
  for (const label of yTrain) positives += label;
  const negatives = yTrain.length - positives;
  console.error(
    `w8a: train ${train.rows} rows (${positives} positives), held-out ${test.rows}, ${features.length} features; tfjs backend ${backend.backend}`,
  );
  const table: Record<string, unknown>[] = [];
  const results: Record<string, unknown> = {
    backend: backend.backend,
    backendReason: backend.reason,
    features: features.length,
    pilotSize: PILOT_SIZE,
    ridge: RIDGE,
    seeds: SEEDS,
  };

  // The full-data model.
  let started = now();
  const full = fitLogistic(train, yTrain, { ridge: RIDGE });
  const fullSeconds = now() - started;
  const fullMetrics = heldOut(yTest, predictProbability(test, full.coefficients));
  table.push({
    model: `full data (ridge ${RIDGE})`,
    'negatives kept': `all ${negatives}`,
    ...metricCells([fullMetrics]),
    'pilot train s': '-',
    'pilot score s': '-',
    'final fit s': fullSeconds.toFixed(1),
  });
  results.full = { metrics: fullMetrics, seconds: fullSeconds, iterations: full.iterations };

  // The pilots, on one balanced draw.
  try {
    LogisticPilot.fit({ x: train, y: yTrain, pilotSize: PILOT_SIZE, seed: 1 });
    results.logisticPilotFit = 'fitted without a ridge';
  } catch (error) {
    results.logisticPilotFit = describe(error);
    console.error(`  LogisticPilot.fit (no ridge): ${describe(error)}`);
  }
  const draw = drawBalancedPilot(yTrain, PILOT_SIZE, createRng('w8a-pilot'));
  const pilotX = selectRows(train, draw.rows);
  const pilotY = Uint8Array.from(draw.rows, (row) => yTrain[row] as number);

  started = now();
  const pilotFit = fitLogistic(pilotX, pilotY, { ridge: RIDGE, input: 'pilot' });
  const logistic = LogisticPilot.fromCoefficients(
    train.names,
    correctCaseControlIntercept(pilotFit.coefficients, draw.positiveRate, draw.negativeRate),
    { intercept: true },
  );
  const logisticTrainSeconds = now() - started;
  started = now();
  const logisticProbability = logistic.predictMatrix(train);
  const logisticScoreSeconds = now() - started;

  const neural = new NeuralPilot({
    numeric: features,
    categorical: [],
    hidden: [32],
    activation: 'relu',
    seed: 1,
  });
  started = now();
  const neuralTraining = await neural.train({
    batch: neuralRows(pilotX, pilotY),
    offset: new Float64Array(pilotX.rows).fill(draw.logOddsShift),
    epochs: 30,
    batchSize: 64,
    learningRate: 3e-3,
    finalLearningRate: 3e-5,
  });
  const neuralTrainSeconds = now() - started;
  const trainRows = neuralRows(train);
  started = now();
  const neuralProbability = neural.predictProbability(trainRows);
  const neuralScoreSeconds = now() - started;
  const testRows = neuralRows(test);

  const pilots = [
    {
      name: 'LogisticPilot (ridge)',
      probability: logisticProbability,
      heldOut: logistic.predictMatrix(test),
      start: logistic.coefficients,
      trainSeconds: logisticTrainSeconds,
      scoreSeconds: logisticScoreSeconds,
    },
    {
      name: 'NeuralPilot [32]',
      probability: neuralProbability,
      heldOut: neural.predictProbability(testRows),
      start: undefined,
      trainSeconds: neuralTrainSeconds,
      scoreSeconds: neuralScoreSeconds,
    },
  ];
  results.neuralTraining = { ...neuralTraining, losses: neuralTraining.losses.slice(-3) };

  for (const pilot of pilots) {
    const pilotMetrics = heldOut(yTest, pilot.heldOut);
    table.push({
      model: `${pilot.name} itself`,
      'negatives kept': `pilot ${draw.negatives}`,
      ...metricCells([pilotMetrics]),
      'pilot train s': pilot.trainSeconds.toFixed(2),
      'pilot score s': pilot.scoreSeconds.toFixed(2),
      'final fit s': '-',
    });
    const perDesign: Record<string, unknown> = {};
    for (const design of DESIGNS) {
      // The design's scores from this pilot (optA: M over every training row), then the exact scale
      // per budget. optA's scores can fail (M^-1 numerically singular): recorded, and the next design runs.
      started = now();
      let scores: Float64Array;
      try {
        const optAInverse =
          design === 'optA'
            ? optAMatrix(train, yTrain, pilot.probability, { negativeRate: 1, positiveRate: 1 }).inverse
            : undefined;
        scores = designScores(design, pilot.probability, train, { optAInverse });
      } catch (error) {
        perDesign[design] = { error: describe(error) };
        console.error(`  ${design} from ${pilot.name}: ${describe(error)}`);
        table.push({
          model: `${design} from ${pilot.name}`,
          'negatives kept': '-',
          ...Object.fromEntries(COLUMNS.map(([, label]) => [label, '-'])),
          'pilot train s': pilot.trainSeconds.toFixed(2),
          'pilot score s': '-',
          'final fit s': `fails: ${isRarefyError(error) ? error.code : 'error'}`,
        });
        continue;
      }
      const scoringSeconds = now() - started;
      const perFraction: Record<string, unknown> = {};
      for (const fraction of FRACTIONS) {
        const sampleSize = Math.round(fraction * negatives);
        if (results.fitRareEvents === undefined) {
          try {
            fitRareEvents({
              x: train,
              y: yTrain,
              design,
              pilotProbability: pilot.probability,
              sampleSize,
              seed: 1,
            });
            results.fitRareEvents = 'fitted without a ridge';
          } catch (error) {
            results.fitRareEvents = describe(error);
            console.error(
              `  fitRareEvents with pilotProbability (no ridge): ${describe(error).slice(0, 300)}`,
            );
          }
        }
        const scale = solveScale(design, scores, yTrain, { method: 'exact', sampleSize });
        const runs: Metrics[] = [];
        const kept: number[] = [];
        const fitSeconds: number[] = [];
        for (let seed = 1; seed <= SEEDS; seed++) {
          const sample = sampleWithScores(design, scores, yTrain, scale, createRng(`${design}-${seed}`));
          started = now();
          const fit = fitSubsample(
            'log-odds',
            selectRows(train, sample.rows),
            sample.labels,
            { offset: sample.offset, weight: sample.weight },
            { ridge: RIDGE, ...(pilot.start === undefined ? {} : { start: pilot.start }) },
          );
          fitSeconds.push(now() - started);
          runs.push(heldOut(yTest, predictProbability(test, fit.coefficients)));
          kept.push(sample.negatives);
        }
        table.push({
          model: `${design} from ${pilot.name}, corrected`,
          'negatives kept': `${Math.round(mean(kept))} (${fraction * 100}%: ${sampleSize})`,
          ...metricCells(runs),
          'pilot train s': pilot.trainSeconds.toFixed(2),
          'pilot score s': (pilot.scoreSeconds + scoringSeconds).toFixed(2),
          'final fit s': mean(fitSeconds).toFixed(2),
        });
        perFraction[String(fraction)] = { sampleSize, kept, runs, fitSeconds, scale: scale.scale };
        console.error(`  ${design} from ${pilot.name}: ${fraction * 100}% done`);
      }
      perDesign[design] = { designScoringSeconds: scoringSeconds, fractions: perFraction };
    }
    results[pilot.name] = {
      heldOut: pilotMetrics,
      trainSeconds: pilot.trainSeconds,
      scoreSeconds: pilot.scoreSeconds,
      designs: perDesign,
    };
  }
  neural.dispose();
  console.log(markdownTable(table));
  results.table = table;
  console.error(`wrote ${writeResult(packageDirectory, 'pilots', results)}`);
}
