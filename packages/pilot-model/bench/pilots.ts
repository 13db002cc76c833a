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
 * training rows with the ridge, as `fitRareEvents` does for an external pilot) and the optL design;
 * the exact scale is solved at 10% and 5% of the training negatives (PILOT_BENCH_FRACTIONS), with
 * defensive mixing alpha in {0, 0.1, 0.3} (PILOT_BENCH_ALPHAS), and the final logistic model is
 * fitted on each of SEEDS samples by both estimators: log-odds (offset -log pi, A.4) and IPW (weight
 * 1/pi, A.5). Everything is judged on the held-out part, unsampled, against the full-data model:
 * ROC AUC, log loss, calibration (part C), the RMS distance of the coefficients from the full-data
 * fit's (the target a consistent estimator converges to), the kept negatives at the pi floor, the
 * largest IPW weight, and the seconds to train each pilot, to score the training rows with it, and
 * to fit the final model.
 *
 * w8a's maximum-likelihood estimate does not exist (columns never 1 on a positive row), so every
 * logistic fit here uses the ridge RIDGE. `LogisticPilot.fit` takes no ridge: the bench tries it
 * once and records its typed error, and fits the logistic pilot with fitLogistic and `ridge`. The
 * grid runs the recipe's steps (optAMatrix, designScores, solveScale, sampleWithScores,
 * fitSubsample with `ridge`) so that optA's M is computed once per pilot; once per pilot, design
 * and estimator the same run goes through `fitRareEvents({ pilotProbability, ridge, alpha, ... })`
 * and the largest coefficient difference is reported (0: the steps are the library's path).
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
const list = (text: string | undefined, fallback: readonly number[]): readonly number[] =>
  text === undefined ? fallback : text.split(',').map(Number);
const FRACTIONS = list(process.env.PILOT_BENCH_FRACTIONS, [0.1, 0.05]);
/** Defensive mixing weights (A.3): pi = (1 - alpha) c s + alpha c0. */
const ALPHAS = list(process.env.PILOT_BENCH_ALPHAS, [0, 0.1, 0.3]);
const DESIGNS = ['optA', 'optL'] as const;
const ESTIMATORS = ['log-odds', 'ipw'] as const;
/** solveScale's default floor of the keep probability. */
const PI_MIN = 1e-6;
const libraryChecked = new Set<string>();
const libraryAgreement: Array<Record<string, unknown> & { worst: number }> = [];

/** RMS difference of the non-intercept coefficients from the full-data fit's. */
function coefficientDistance(coefficients: Float64Array, full: Float64Array): number {
  let squares = 0;
  for (let k = 1; k < full.length; k++) squares += ((coefficients[k] as number) - (full[k] as number)) ** 2;
  return Math.sqrt(squares / Math.max(1, full.length - 1));
}
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

  // The grid: design x negatives kept x estimator x defensive mixing, SEEDS samples each.
  const grid: Record<string, unknown>[] = [];
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
      // The design's scores from this pilot (optA: M over every training row, with the ridge as
      // fitRareEvents adds it), then the exact scale per budget. optA's scores can fail (M^-1
      // numerically singular): recorded, and the next design runs.
      started = now();
      let scores: Float64Array;
      try {
        const optAInverse =
          design === 'optA'
            ? optAMatrix(
                train,
                yTrain,
                pilot.probability,
                { negativeRate: 1, positiveRate: 1 },
                { ridge: RIDGE },
              ).inverse
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
        const perCell: Record<string, unknown> = {};
        for (const alpha of ALPHAS) {
          const scale = solveScale(design, scores, yTrain, { method: 'exact', sampleSize, alpha });
          for (const estimator of ESTIMATORS) {
            const runs: Metrics[] = [];
            const distances: number[] = [];
            const kept: number[] = [];
            const fitSeconds: number[] = [];
            const floored: number[] = [];
            const largestWeight: number[] = [];
            for (let seed = 1; seed <= SEEDS; seed++) {
              const rngSeed = `${design}-${seed}`;
              const sample = sampleWithScores(design, scores, yTrain, scale, createRng(rngSeed));
              started = now();
              const fit = fitSubsample(
                estimator,
                selectRows(train, sample.rows),
                sample.labels,
                { offset: sample.offset, weight: sample.weight },
                { ridge: RIDGE },
              );
              fitSeconds.push(now() - started);
              if (seed === 1 && !libraryChecked.has(`${pilot.name}/${design}/${estimator}`)) {
                // The same run through the library's one-call path: identical coefficients.
                libraryChecked.add(`${pilot.name}/${design}/${estimator}`);
                const library = fitRareEvents({
                  x: train,
                  y: yTrain,
                  design,
                  estimator,
                  pilotProbability: pilot.probability,
                  sampleSize,
                  alpha,
                  ridge: RIDGE,
                  seed: rngSeed,
                });
                let worst = 0;
                for (let k = 0; k < fit.coefficients.length; k++)
                  worst = Math.max(
                    worst,
                    Math.abs((fit.coefficients[k] as number) - (library.coefficients[k] as number)),
                  );
                libraryAgreement.push({ pilot: pilot.name, design, estimator, alpha, fraction, worst });
              }
              runs.push(heldOut(yTest, predictProbability(test, fit.coefficients)));
              distances.push(coefficientDistance(fit.coefficients, full.coefficients));
              kept.push(sample.negatives);
              let atFloor = 0;
              let heaviest = 0;
              for (let k = 0; k < sample.rows.length; k++) {
                if (sample.labels[k] === 0 && (sample.pi[k] as number) <= PI_MIN * (1 + 1e-9)) atFloor++;
                heaviest = Math.max(heaviest, sample.weight[k] as number);
              }
              floored.push(atFloor);
              largestWeight.push(heaviest);
            }
            const cells = metricCells(runs);
            const row = {
              pilot: pilot.name,
              design,
              kept: `${Math.round(mean(kept))} (${fraction * 100}%)`,
              estimator,
              alpha: String(alpha),
              ...cells,
              '|b - b_full|': `${mean(distances).toFixed(3)} ± ${sd(distances).toFixed(3)}`,
              'kept at floor': mean(floored).toFixed(1),
              'max weight': mean(largestWeight).toExponential(1),
              'fit s': mean(fitSeconds).toFixed(2),
            };
            grid.push(row);
            if (estimator === 'log-odds' && alpha === 0) {
              table.push({
                model: `${design} from ${pilot.name}, corrected`,
                'negatives kept': `${Math.round(mean(kept))} (${fraction * 100}%: ${sampleSize})`,
                ...cells,
                'pilot train s': pilot.trainSeconds.toFixed(2),
                'pilot score s': (pilot.scoreSeconds + scoringSeconds).toFixed(2),
                'final fit s': mean(fitSeconds).toFixed(2),
              });
            }
            perCell[`${estimator}/alpha=${alpha}`] = {
              scale: scale.scale,
              kept,
              runs,
              coefficientDistance: distances,
              keptAtFloor: floored,
              largestWeight,
              fitSeconds,
            };
            console.error(
              `  ${pilot.name} ${design} ${fraction * 100}% ${estimator} alpha ${alpha}: ${cells.CITL}`,
            );
          }
        }
        perFraction[String(fraction)] = { sampleSize, cells: perCell };
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
  console.log();
  console.log(markdownTable(grid));
  console.log(
    `library path (fitRareEvents with pilotProbability and ridge) vs the steps: max |coefficient difference| ${Math.max(...libraryAgreement.map((entry) => entry.worst)).toExponential(1)} over ${libraryAgreement.length} runs`,
  );
  results.table = table;
  results.grid = grid;
  results.libraryAgreement = libraryAgreement;
  console.error(`wrote ${writeResult(packageDirectory, 'pilots', results)}`);
}
