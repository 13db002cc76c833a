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
 * LogisticPilot (balanced pilot of 1,000 rows, seed 1): `predictMatrix` (design matrix in) against
 * the matrix read pass, and `predictProbability` (ColumnBatch in) against the columns read pass. On a
 * shared machine a median of separate timings can pair a quiet read pass with a busy scoring pass, so
 * each repeat times the read pass and the scorer back to back and the ratio is taken per repeat:
 * the table gives the median ratio and its range over REPEATS (default 15) pairs, and the same
 * ratio of CPU times (not stretched when other processes take the cores). The previous paths (batch:
 * the linear predictor accumulated one column at a time over all rows, then a separate sigmoid pass
 * with its overflow branch; matrix: linearPredictor's per-row loop over the columns, then that
 * sigmoid pass) are timed the same way for comparison. `SCORING_BENCH_ONLY=logistic` runs these rows
 * only (results in `bench-results/scoring-logistic.json`).
 *
 * The same logistic model as ONNX through onnxruntime (`OnnxPilot`, one run over all rows); a
 * NeuralPilot, MLP [32] (relu) over the six features, on the wasm and on the cpu tfjs backends.
 *
 * Runtimes for networks (what `loadModel`'s `runtime: 'auto'` chooses between): each network is
 * scored by TensorFlow.js (wasm) and by onnxruntime (its `mlpToOnnx` export) on batches of 8,192 and
 * 65,536 rows (data-io's default batch), and `RuntimeChoosingPilot` is asked to choose, as it does at
 * start-up, on the first batch.
 *
 * Run with `node --conditions=@rarefy/source --import tsx bench/scoring.ts` in packages/pilot-model.
 */
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { markdownTable, measure, median, type Timing, writeResult } from '@rarefy/bench';
import { selectBackend } from '@rarefy/model-kit';
import {
  type ColumnBatch,
  createRng,
  linearPredictor,
  sigmoid,
  simulateRareEvents,
} from '@rarefy/sampling-core';
import { LogisticPilot } from '../src/logistic-pilot.js';
import { NeuralPilot, type NeuralPilotSpec } from '../src/neural/neural-pilot.js';
import { neuralPilotOnnxOptions } from '../src/neural/onnx-options.js';
import { OnnxPilot, onnxruntimeVersion } from '../src/node/onnx-pilot.js';
import { RuntimeChoosingPilot } from '../src/node/runtime.js';
import { mlpToOnnx } from '../src/onnx/mlp.js';

const ROWS = Number(process.env.SCORING_BENCH_ROWS ?? 1_000_000);
/** `SCORING_BENCH_ONLY=logistic` times the logistic cases only (quick repeated runs). */
const LOGISTIC_ONLY = process.env.SCORING_BENCH_ONLY === 'logistic';
const REPEATS = Number(process.env.SCORING_BENCH_REPEATS ?? 15);
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
const readMatrix = (): void => {
  const data = x.data;
  let sum = 0;
  for (let k = 0; k < data.length; k++) sum += data[k] as number;
  sink += sum;
};
const readColumns = (): void => {
  let sum = 0;
  for (const column of featureColumns) for (let i = 0; i < column.length; i++) sum += column[i] as number;
  sink += sum;
};

/** CPU seconds (user + system) of this process so far: unlike the clock, not stretched by other processes. */
const cpuSeconds = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

/**
 * Per repeat: the read pass, then the scorer, back to back; the ratio of their wall-clock times, and
 * the ratio of the CPU time each took (the honest measure when other processes share the cores:
 * preemption stretches the clock, not the CPU time; single-threaded passes only).
 */
async function paired(
  read: () => void,
  score: () => void | Promise<void>,
  repeats = REPEATS,
): Promise<{ read: Timing; score: Timing; ratios: number[]; cpuRatios: number[] }> {
  read();
  await score();
  const readSeconds: number[] = [];
  const scoreSeconds: number[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let r = 0; r < repeats; r++) {
    let cpu = cpuSeconds();
    let started = performance.now();
    read();
    const a = (performance.now() - started) / 1000;
    const readCpu = cpuSeconds() - cpu;
    cpu = cpuSeconds();
    started = performance.now();
    await score();
    const b = (performance.now() - started) / 1000;
    const scoreCpu = cpuSeconds() - cpu;
    readSeconds.push(a);
    scoreSeconds.push(b);
    ratios.push(a / b);
    cpuRatios.push(readCpu / Math.max(scoreCpu, 1e-6));
  }
  const timing = (seconds: number[]): Timing => ({
    median: median(seconds),
    min: Math.min(...seconds),
    max: Math.max(...seconds),
    seconds,
  });
  return { read: timing(readSeconds), score: timing(scoreSeconds), ratios, cpuRatios };
}

const logistic = LogisticPilot.fit({ x, y, pilotSize: 1000, seed: 1 });
const coefficients = logistic.coefficients;
const logisticRows = {
  'LogisticPilot.predictMatrix (design matrix)': await paired(readMatrix, () =>
    consume(logistic.predictMatrix(x)),
  ),
  'LogisticPilot.predictProbability (ColumnBatch)': await paired(readColumns, () =>
    consume(logistic.predictProbability(batch)),
  ),
  // The batch path before the blocked kernel, for comparison (the code of batchLinearPredictor then:
  // each column added to every row's sum in turn, then sigma with its overflow branch).
  'previous batch path: column-at-a-time eta, then sigmoid': await paired(readColumns, () => {
    const eta = new Float64Array(ROWS).fill(coefficients[0] as number);
    featureColumns.forEach((column, j) => {
      const beta = coefficients[j + 1] as number;
      for (let i = 0; i < ROWS; i++) eta[i] = (eta[i] as number) + beta * (column[i] as number);
    });
    for (let i = 0; i < eta.length; i++) eta[i] = sigmoid(eta[i] as number);
    consume(eta);
  }),
  // The matrix path before: linearPredictor's per-row loop over the columns, then the sigmoid pass.
  'previous matrix path: row dot products, then sigmoid': await paired(readMatrix, () => {
    const eta = linearPredictor(x, coefficients);
    for (let i = 0; i < eta.length; i++) eta[i] = sigmoid(eta[i] as number);
    consume(eta);
  }),
};

const onnx = await OnnxPilot.create(logistic.toOnnx());
const onnxLogistic = await paired(readColumns, async () => consume(await onnx.predictProbability(batch)), 5);
const inProcess = logistic.predictMatrix(x);
const fromOnnx = await onnx.predictProbability(batch);
let onnxMax = 0;
for (let i = 0; i < ROWS; i++) {
  onnxMax = Math.max(onnxMax, Math.abs((fromOnnx[i] as number) - (inProcess[i] as number)));
}
await onnx.release();

/** The first `rows` rows of the data, with `categorical` (a string column of 5,000 values) added. */
function head(rows: number, categorical: boolean): ColumnBatch {
  const out: ColumnBatch['columns'] = Object.fromEntries(
    features.map((name) => [name, (columns[name] as Float64Array).subarray(0, rows)]),
  );
  if (!categorical) return { schema: batch.schema, rows, firstRow: 0, columns: out };
  const rng = createRng(9);
  const values = Array.from({ length: 5000 }, (_, k) => `site-${k}`);
  return {
    schema: [...batch.schema, { name: 'site', type: 'string' }],
    rows,
    firstRow: 0,
    columns: {
      ...out,
      site: { kind: 'dictionary', codes: Int32Array.from({ length: rows }, () => rng.nextInt(5000)), values },
    },
  };
}

/** A network trained briefly on the first 50,000 rows (scoring speed does not depend on the weights). */
async function trainedNetwork(spec: NeuralPilotSpec): Promise<NeuralPilot> {
  const pilot = new NeuralPilot(spec);
  const trainRows = 50_000;
  const training = head(trainRows, spec.categorical.length > 0);
  await pilot.train({
    batch: { ...training, columns: { ...training.columns, y: y.subarray(0, trainRows) } },
    label: 'y',
    epochs: 1,
    batchSize: 1024,
    learningRate: 3e-3,
  });
  return pilot;
}

const neural: Record<string, Timing> = {};
for (const backend of LOGISTIC_ONLY ? [] : (['wasm', 'cpu'] as const)) {
  await selectBackend({ force: backend });
  const pilot = await trainedNetwork({
    numeric: features,
    categorical: [],
    hidden: [32],
    activation: 'relu',
    seed: 1,
  });
  neural[backend] = await measure(() => consume(pilot.predictProbability(batch)), {
    repeats: backend === 'cpu' ? 3 : 5,
    warmup: 1,
  });
  pilot.dispose();
}

// Networks: TensorFlow.js (wasm) against onnxruntime, and what the start-up choice picks.
if (!LOGISTIC_ONLY) await selectBackend({ force: 'wasm' });
const networks: Array<{ name: string; spec: NeuralPilotSpec }> = [
  {
    name: 'MLP [32], 6 numeric',
    spec: { numeric: features, categorical: [], hidden: [32], activation: 'relu', seed: 1 },
  },
  {
    name: 'MLP [64, 32], 6 numeric + site (1,024 x 8 embedding)',
    spec: {
      numeric: features,
      categorical: [{ name: 'site', buckets: 1024, dimension: 8 }],
      hidden: [64, 32],
      activation: 'relu',
      seed: 1,
    },
  },
];
const runtimeRows: Record<string, unknown>[] = [];
const runtimeResults: Record<string, unknown>[] = [];
for (const { name, spec } of LOGISTIC_ONLY ? [] : networks) {
  const pilot = await trainedNetwork(spec);
  const session = await OnnxPilot.create(mlpToOnnx(neuralPilotOnnxOptions(pilot.exportWeights())));
  for (const rows of [8192, 65_536]) {
    const data = head(rows, spec.categorical.length > 0);
    const tfjs = await measure(() => consume(pilot.predictProbability(data)), { repeats: 9, warmup: 2 });
    const ort = await measure(async () => consume(await session.predictProbability(data)), {
      repeats: 9,
      warmup: 2,
    });
    // What the start-up choice does on a first batch of this size (its own timing: best of 3 runs
    // on the first 8,192 rows).
    const chooser = new RuntimeChoosingPilot(
      [
        { runtime: 'tfjs', pilot, backend: 'wasm' },
        { runtime: 'onnxruntime', pilot: session },
      ],
      { releaseOthers: false },
    );
    await chooser.predictProbability(data);
    const choice = chooser.choice;
    runtimeRows.push({
      network: name,
      'batch rows': rows,
      'tfjs (wasm) rows/s': `${(rows / tfjs.median / 1e6).toFixed(2)}M`,
      'onnxruntime rows/s': `${(rows / ort.median / 1e6).toFixed(2)}M`,
      'onnxruntime / tfjs': (tfjs.median / ort.median).toFixed(2),
      'start-up choice': choice?.runtime ?? '-',
    });
    runtimeResults.push({ network: name, rows, tfjs, onnxruntime: ort, choice });
  }
  await session.release();
  pilot.dispose();
}

const rate = (timing: Timing): number => ROWS / timing.median;
const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))] as number;
};
const table: Record<string, unknown>[] = [];
for (const [name, result] of Object.entries(logisticRows)) {
  table.push({
    case: name,
    seconds: result.score.median.toFixed(4),
    'rows/s': `${(rate(result.score) / 1e6).toFixed(2)}M`,
    'read pass s': result.read.median.toFixed(4),
    'speed / read pass: median [min, max]': `${median(result.ratios).toFixed(3)} [${Math.min(...result.ratios).toFixed(2)}, ${Math.max(...result.ratios).toFixed(2)}]`,
    'pairs >= 0.5': `${result.ratios.filter((ratio) => ratio >= 0.5).length}/${result.ratios.length}`,
    'CPU-time ratio: median [min, max]': `${median(result.cpuRatios).toFixed(3)} [${Math.min(...result.cpuRatios).toFixed(2)}, ${Math.max(...result.cpuRatios).toFixed(2)}]`,
  });
}
table.push({
  case: 'OnnxPilot, same logistic (onnxruntime)',
  seconds: onnxLogistic.score.median.toFixed(4),
  'rows/s': `${(rate(onnxLogistic.score) / 1e6).toFixed(2)}M`,
  'read pass s': onnxLogistic.read.median.toFixed(4),
  'speed / read pass: median [min, max]': `${median(onnxLogistic.ratios).toFixed(3)} [${Math.min(...onnxLogistic.ratios).toFixed(2)}, ${Math.max(...onnxLogistic.ratios).toFixed(2)}]`,
  'pairs >= 0.5': '-',
  'CPU-time ratio: median [min, max]': '-',
});
const readColumnsMedian = logisticRows['LogisticPilot.predictProbability (ColumnBatch)'].read.median;
for (const backend of LOGISTIC_ONLY ? [] : (['wasm', 'cpu'] as const)) {
  const timing = neural[backend] as Timing;
  table.push({
    case: `NeuralPilot [32], ${backend}`,
    seconds: timing.median.toFixed(4),
    'rows/s': `${(rate(timing) / 1e6).toFixed(2)}M`,
    'read pass s': readColumnsMedian.toFixed(4),
    'speed / read pass: median [min, max]': (readColumnsMedian / timing.median).toFixed(3),
    'pairs >= 0.5': '-',
    'CPU-time ratio: median [min, max]': '-',
  });
}
console.log(markdownTable(table));
console.log();
console.log(markdownTable(runtimeRows));
const matrixRatios = logisticRows['LogisticPilot.predictMatrix (design matrix)'].ratios;
const batchRatios = logisticRows['LogisticPilot.predictProbability (ColumnBatch)'].ratios;
console.log(
  `LogisticPilot / read pass, CPU time (median): predictMatrix ${median(logisticRows['LogisticPilot.predictMatrix (design matrix)'].cpuRatios).toFixed(2)}, predictProbability(batch) ${median(logisticRows['LogisticPilot.predictProbability (ColumnBatch)'].cpuRatios).toFixed(2)}; wall clock (median, quartiles, over ${REPEATS} pairs): predictMatrix ${median(matrixRatios).toFixed(2)} (${quantile(matrixRatios, 0.25).toFixed(2)}-${quantile(matrixRatios, 0.75).toFixed(2)}), predictProbability(batch) ${median(batchRatios).toFixed(2)} (${quantile(batchRatios, 0.25).toFixed(2)}-${quantile(batchRatios, 0.75).toFixed(2)}) (target >= 0.5); onnxruntime ${onnxruntimeVersion()}, max |onnx - in-process| over all rows ${onnxMax.toExponential(1)}; load average ${load.map((value) => value.toFixed(2)).join(' ')} -> ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}`,
);
const file = writeResult(
  fileURLToPath(new URL('..', import.meta.url)),
  LOGISTIC_ONLY ? 'scoring-logistic' : 'scoring',
  {
    rows: ROWS,
    repeats: REPEATS,
    cores: cpus().length,
    loadAverageAtStart: load,
    loadAverageAtEnd: loadavg(),
    onnxruntime: onnxruntimeVersion(),
    onnxMaxAbsoluteDifference: onnxMax,
    table,
    runtimes: runtimeRows,
    logistic: logisticRows,
    onnxLogistic,
    neural,
    runtimeResults,
    sink,
  },
);
console.error(`wrote ${file}`);
