/**
 * Benchmark of NeuralPilot (not run in CI): training examples per second on the cpu and wasm
 * backends, and full-data scoring rows per second against a baseline measured in the same run: one
 * read-only pass over the same arrays (the two numeric columns and the categorical codes). Ratios,
 * not absolute times, are what compare across these shared, noisy machines.
 *
 * Data: ROWS rows, two numeric features and one categorical feature with 1,000 distinct values
 * hashed into 4,096 buckets (dimension 8), about 1% positives; the pilot is an MLP [64] (relu) trained
 * with the log-odds offset on all positives and 10% of the negatives.
 *
 * Run with `node --conditions=@rarefy/source --import tsx bench/neural.ts` in packages/pilot-model.
 */
import { fileURLToPath } from 'node:url';
import { markdownTable, measure, writeResult } from '@rarefy/bench';
import { type BackendName, selectBackend } from '@rarefy/model-kit';
import { type ColumnBatch, createRng } from '@rarefy/sampling-core';
import { NeuralPilot, type NeuralPilotSpec } from '../src/neural/neural-pilot.js';

const ROWS = Number(process.env.NEURAL_BENCH_ROWS ?? 1_000_000);
const LEVELS = 1000;
const values = Array.from({ length: LEVELS }, (_, k) => `site-${k}`);

function generate(rows: number, seed: number): ColumnBatch {
  const rng = createRng(seed);
  const effects = Float64Array.from({ length: LEVELS }, () => 0.5 * rng.normal());
  const x1 = new Float64Array(rows);
  const x2 = new Float64Array(rows);
  const codes = new Int32Array(rows);
  const labels = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    x1[i] = rng.normal();
    x2[i] = rng.normal();
    codes[i] = rng.nextInt(LEVELS);
    const logit =
      -5 + 0.8 * (x1[i] as number) - 0.6 * (x2[i] as number) + (effects[codes[i] as number] as number);
    labels[i] = rng.nextFloat64() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return {
    schema: [
      { name: 'x1', type: 'number' },
      { name: 'x2', type: 'number' },
      { name: 'site', type: 'string' },
      { name: 'y', type: 'label' },
    ],
    rows,
    firstRow: 0,
    columns: { x1, x2, site: { kind: 'dictionary', codes, values }, y: labels },
  };
}

function keepNegatives(batch: ColumnBatch, keep: number, seed: number): ColumnBatch {
  const rng = createRng(seed);
  const labels = batch.columns.y as Uint8Array;
  const kept: number[] = [];
  for (let i = 0; i < batch.rows; i++) if (labels[i] === 1 || rng.nextFloat64() < keep) kept.push(i);
  const pick = (column: Float64Array): Float64Array => Float64Array.from(kept, (i) => column[i] as number);
  const site = batch.columns.site as { codes: Int32Array };
  return {
    ...batch,
    rows: kept.length,
    columns: {
      x1: pick(batch.columns.x1 as Float64Array),
      x2: pick(batch.columns.x2 as Float64Array),
      site: { kind: 'dictionary', codes: Int32Array.from(kept, (i) => site.codes[i] as number), values },
      y: Uint8Array.from(kept, (i) => labels[i] as number),
    },
  };
}

const spec: NeuralPilotSpec = {
  numeric: ['x1', 'x2'],
  categorical: [{ name: 'site', buckets: 4096, dimension: 8 }],
  hidden: [64],
  activation: 'relu',
  seed: 1,
};

const population = generate(ROWS, 1);
const sample = keepNegatives(population, 0.1, 2);
const offset = new Float64Array(sample.rows).fill(-Math.log(0.1));

let sink = 0;
const x1 = population.columns.x1 as Float64Array;
const x2 = population.columns.x2 as Float64Array;
const codes = (population.columns.site as { codes: Int32Array }).codes;
const readPass = await measure(() => {
  let sum = 0;
  for (let i = 0; i < x1.length; i++) sum += (x1[i] as number) + (x2[i] as number) + (codes[i] as number);
  sink += sum;
});

const rows: Array<Record<string, unknown>> = [
  {
    case: `read pass ${ROWS} rows (baseline)`,
    seconds: readPass.median,
    rowsPerSecond: ROWS / readPass.median,
    ratio: 1,
  },
];
const results: Record<string, unknown> = { rows: ROWS, sampleRows: sample.rows, spec, readPass };
for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  await selectBackend({ force: backend });
  for (const batchSize of [256, 1024]) {
    const pilot = new NeuralPilot(spec);
    const epochs = backend === 'cpu' ? 1 : 2;
    const training = await measure(
      () => pilot.train({ batch: sample, offset, epochs, batchSize, learningRate: 0.003 }),
      { repeats: 3, warmup: 1 },
    );
    const examplesPerSecond = (epochs * sample.rows) / training.median;
    rows.push({
      case: `${backend}: train [64], batch ${batchSize} (examples/s)`,
      seconds: training.median,
      rowsPerSecond: examplesPerSecond,
      ratio: training.median / readPass.median,
    });
    results[`${backend}-train-${batchSize}`] = { training, examplesPerSecond };
    if (batchSize === 1024) {
      const scoring = await measure(() => pilot.predictProbability(population), { repeats: 3, warmup: 1 });
      rows.push({
        case: `${backend}: score ${ROWS} rows`,
        seconds: scoring.median,
        rowsPerSecond: ROWS / scoring.median,
        ratio: scoring.median / readPass.median,
      });
      results[`${backend}-score`] = {
        scoring,
        rowsPerSecond: ROWS / scoring.median,
        readPassPerScoring: readPass.median / scoring.median,
      };
    }
    pilot.dispose();
  }
}
console.log(markdownTable(rows));
const file = writeResult(fileURLToPath(new URL('..', import.meta.url)), 'neural', { ...results, sink });
console.error(`wrote ${file}`);
