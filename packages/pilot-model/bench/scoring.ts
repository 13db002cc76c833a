/**
 * Full-data scoring speed of every pilot kind (issue 4), against read-only passes over the same
 * arrays measured in the same run (tight loops that sum every value). Target: LogisticPilot at no
 * less than half the read-only speed.
 *
 * Data: the A.10 design, generated (ROWS = 1e6 by default, SCORING_BENCH_ROWS overrides): six
 * correlated normal features, about 1.2% positives. It is held two ways: the row-major design matrix
 * of `simulateRareEvents` (intercept column first, 7 doubles a row) and a ColumnBatch of the six
 * feature columns (what data-io's readers yield).
 *
 * Pilots: one LogisticPilot (balanced pilot of 1,000 rows, seed 1) scored through `predictMatrix`
 * (design matrix in, no copy) and `predictProbability` (ColumnBatch in: batchDesignMatrix, then
 * predictMatrix); the same model as ONNX through onnxruntime (`OnnxPilot`, one run over all rows);
 * a NeuralPilot, MLP [32] (relu) over the six features, on the wasm and on the cpu tfjs backends.
 * The parts of the LogisticPilot's batch path are timed alone too (the copy into a design matrix, the
 * linear predictor, the sigmoid), to show where its time goes, with a sketch (bench code only) of the
 * same probabilities computed column by column without the row-major copy.
 *
 * Run with `node --conditions=@rarefy/source --import tsx bench/scoring.ts` in packages/pilot-model.
 */
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { markdownTable, measure, type Timing, writeResult } from '@rarefy/bench';
import { selectBackend } from '@rarefy/model-kit';
import {
  batchDesignMatrix,
  type ColumnBatch,
  linearPredictor,
  sigmoid,
  simulateRareEvents,
} from '@rarefy/sampling-core';
import { LogisticPilot } from '../src/logistic-pilot.js';
import { NeuralPilot } from '../src/neural/neural-pilot.js';
import { OnnxPilot, onnxruntimeVersion } from '../src/node/onnx-pilot.js';

const ROWS = Number(process.env.SCORING_BENCH_ROWS ?? 1_000_000);
const { x, y } = simulateRareEvents({ rows: ROWS, seed: 1 });
const features = x.names.slice(1);
const columns: Record<string, Float64Array> = {};
features.forEach((name, j) => {
  const column = new Float64Array(ROWS);
  for (let i = 0; i < ROWS; i++) column[i] = x.data[i * x.columns + j + 1] as number;
  columns[name] = column;
});
const batch: ColumnBatch = {
  schema: features.map((name) => ({ name, type: 'number' as const })),
  rows: ROWS,
  firstRow: 0,
  columns,
};
const featureColumns = features.map((name) => columns[name] as Float64Array);

let sink = 0;
const consume = (values: ArrayLike<number>): void => {
  sink += (values[0] as number) + (values[values.length - 1] as number);
};
const load = loadavg();

// Read-only baselines: sum every value of the arrays the scorers read.
const readMatrix = await measure(() => {
  const data = x.data;
  let sum = 0;
  for (let k = 0; k < data.length; k++) sum += data[k] as number;
  sink += sum;
});
const readColumns = await measure(() => {
  let sum = 0;
  for (const column of featureColumns) for (let i = 0; i < column.length; i++) sum += column[i] as number;
  sink += sum;
});

const logistic = LogisticPilot.fit({ x, y, pilotSize: 1000, seed: 1 });
const predictMatrix = await measure(() => consume(logistic.predictMatrix(x)));
const predictBatch = await measure(() => consume(logistic.predictProbability(batch)));
// The parts of predictProbability(batch).
const copyPart = await measure(() => consume(batchDesignMatrix(batch, logistic.features).data));
const etaPart = await measure(() => consume(linearPredictor(x, logistic.coefficients)));
const eta = linearPredictor(x, logistic.coefficients);
const sigmoidPart = await measure(() => {
  const out = new Float64Array(eta.length);
  for (let i = 0; i < eta.length; i++) out[i] = sigmoid(eta[i] as number);
  consume(out);
});

// What predictProbability(batch) could cost without the row-major copy: a sketch measured here only
// (not library code): the linear predictor accumulated column by column, then the sigmoid in place.
const coefficients = logistic.coefficients;
const columnarSketch = await measure(() => {
  const out = new Float64Array(ROWS).fill(coefficients[0] as number);
  featureColumns.forEach((column, j) => {
    const beta = coefficients[j + 1] as number;
    for (let i = 0; i < ROWS; i++) out[i] = (out[i] as number) + beta * (column[i] as number);
  });
  for (let i = 0; i < ROWS; i++) out[i] = sigmoid(out[i] as number);
  consume(out);
});

const onnx = await OnnxPilot.create(logistic.toOnnx());
const onnxScore = await measure(async () => consume(await onnx.predictProbability(batch)), {
  repeats: 5,
  warmup: 1,
});
const inProcess = logistic.predictMatrix(x);
const fromOnnx = await onnx.predictProbability(batch);
let onnxMax = 0;
for (let i = 0; i < ROWS; i++) {
  onnxMax = Math.max(onnxMax, Math.abs((fromOnnx[i] as number) - (inProcess[i] as number)));
}
await onnx.release();

const neural: Record<string, Timing> = {};
for (const backend of ['wasm', 'cpu'] as const) {
  await selectBackend({ force: backend });
  const pilot = new NeuralPilot({
    numeric: features,
    categorical: [],
    hidden: [32],
    activation: 'relu',
    seed: 1,
  });
  // A short training (the speed of scoring does not depend on the weights): the first 50,000 rows.
  const trainRows = 50_000;
  await pilot.train({
    batch: {
      rows: trainRows,
      numeric: Float64Array.from({ length: trainRows * features.length }, (_, k) => {
        const i = Math.floor(k / features.length);
        return x.data[i * x.columns + (k % features.length) + 1] as number;
      }),
      categorical: [],
      labels: y.subarray(0, trainRows),
    },
    epochs: 1,
    batchSize: 1024,
    learningRate: 3e-3,
  });
  neural[backend] = await measure(() => consume(pilot.predictProbability(batch)), {
    repeats: backend === 'cpu' ? 3 : 5,
    warmup: 1,
  });
  pilot.dispose();
}

const rate = (timing: Timing): number => ROWS / timing.median;
const rows = [
  { case: 'read pass: design matrix (7 doubles/row)', timing: readMatrix, baseline: readMatrix },
  { case: 'read pass: 6 feature columns', timing: readColumns, baseline: readColumns },
  { case: 'LogisticPilot.predictMatrix (design matrix)', timing: predictMatrix, baseline: readMatrix },
  { case: 'LogisticPilot.predictProbability (ColumnBatch)', timing: predictBatch, baseline: readColumns },
  { case: '  part: batchDesignMatrix copy', timing: copyPart, baseline: readColumns },
  { case: '  part: linearPredictor', timing: etaPart, baseline: readMatrix },
  { case: '  part: sigmoid of every row', timing: sigmoidPart, baseline: readMatrix },
  { case: '  sketch: column-wise eta + sigmoid, no copy', timing: columnarSketch, baseline: readColumns },
  { case: 'OnnxPilot, same logistic (onnxruntime)', timing: onnxScore, baseline: readColumns },
  { case: 'NeuralPilot [32], wasm', timing: neural.wasm as Timing, baseline: readColumns },
  { case: 'NeuralPilot [32], cpu', timing: neural.cpu as Timing, baseline: readColumns },
];
const table = rows.map((row) => ({
  case: row.case,
  seconds: row.timing.median.toFixed(4),
  'rows/s': `${(rate(row.timing) / 1e6).toFixed(2)}M`,
  'speed / read pass': (row.baseline.median / row.timing.median).toFixed(3),
  'read pass': row.baseline === readMatrix ? 'matrix' : 'columns',
}));
console.log(markdownTable(table));
console.log(
  `LogisticPilot / read pass: predictMatrix ${(readMatrix.median / predictMatrix.median).toFixed(2)}, predictProbability(batch) ${(readColumns.median / predictBatch.median).toFixed(2)} (target >= 0.5); onnxruntime ${onnxruntimeVersion()}, max |onnx - in-process| over all rows ${onnxMax.toExponential(1)}`,
);
const file = writeResult(fileURLToPath(new URL('..', import.meta.url)), 'scoring', {
  rows: ROWS,
  cores: cpus().length,
  loadAverageAtStart: load,
  loadAverageAtEnd: loadavg(),
  onnxruntime: onnxruntimeVersion(),
  onnxMaxAbsoluteDifference: onnxMax,
  table,
  timings: Object.fromEntries(rows.map((row) => [row.case.trim(), row.timing])),
  sink,
});
console.error(`wrote ${file}`);
