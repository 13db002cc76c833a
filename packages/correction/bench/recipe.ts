/**
 * Benchmark of the whole rare-events recipe (`fitRareEvents`) on the A.10 design at N = 1e6, d = 6
 * (7 columns with the intercept), pilot 1000, 10,000 expected negatives, from in-memory arrays:
 * the median of 11 runs per design (optA, the default, first; then the other four, and optA with IPW),
 * with the median of each stage. Baselines measured in the same run: one tight pass that reads every
 * value of the design matrix, and the full-data `fitLogistic` the recipe replaces. Run with
 * `pnpm bench` (everything) or `pnpm bench recipe` in packages/correction.
 */
import { fileURLToPath } from 'node:url';
import { markdownTable, measure, median, writeResult } from '@rarefy/bench';
import { type DesignName, simulateRareEvents } from '@rarefy/sampling-core';
import { type EstimatorName, fitLogistic, fitRareEvents, type RecipeTimings } from '../src/index.js';

const ROWS = 1_000_000;
const PILOT_SIZE = 1000;
const SAMPLE_SIZE = 10_000;
const REPEATS = 11;
const WARMUP = 2;
const TARGET_SECONDS = 0.1;

const data = simulateRareEvents({ rows: ROWS, seed: 1 });
const { x, y } = data;

let sink = 0;
const readPass = await measure(
  () => {
    let sum = 0;
    const values = x.data;
    for (let k = 0; k < values.length; k++) sum += values[k] as number;
    sink += sum;
  },
  { repeats: REPEATS },
);
const fullFit = await measure(() => fitLogistic(x, y), { repeats: 3 });

const cases: ReadonlyArray<{ design: DesignName; estimator: EstimatorName }> = [
  { design: 'optA', estimator: 'log-odds' },
  { design: 'uniform', estimator: 'log-odds' },
  { design: 'proportional', estimator: 'log-odds' },
  { design: 'optL', estimator: 'log-odds' },
  { design: 'LCC', estimator: 'log-odds' },
  { design: 'optA', estimator: 'ipw' },
];
const stages = ['validate', 'pilot', 'score', 'scale', 'sample', 'fit'] as const;

const runOnce = (design: DesignName, estimator: EstimatorName, seed: number) =>
  fitRareEvents({ x, y, design, estimator, pilotSize: PILOT_SIZE, sampleSize: SAMPLE_SIZE, seed });
// Warm every design's code path first, so the first design measured is not the one that pays for the
// compilation of the shared stages.
for (let round = 0; round < WARMUP; round++)
  for (const { design, estimator } of cases) runOnce(design, estimator, 1000 + round);

const results = [];
for (const { design, estimator } of cases) {
  const timings: RecipeTimings[] = [];
  const kept: number[] = [];
  let seed = 0;
  const timing = await measure(
    () => {
      seed++;
      const fit = runOnce(design, estimator, seed);
      timings.push(fit.timings);
      kept.push(fit.sample.negatives);
    },
    { repeats: REPEATS, warmup: 1 },
  );
  // The first entry is the warm-up run's.
  const timed = timings.slice(1);
  const stageMedians = Object.fromEntries(
    stages.map((stage) => [stage, median(timed.map((entry) => entry[stage]))]),
  ) as Record<(typeof stages)[number], number>;
  results.push({ design, estimator, timing, stageMedians, keptNegativesMedian: median(kept.slice(1)) });
}

const ms = (seconds: number): string => (seconds * 1000).toFixed(1);
const table = results.map((result) => ({
  design: result.design,
  estimator: result.estimator,
  'median ms': ms(result.timing.median),
  'min-max ms': `${ms(result.timing.min)}-${ms(result.timing.max)}`,
  ...Object.fromEntries(stages.map((stage) => [`${stage} ms`, ms(result.stageMedians[stage])])),
  'x read pass': (result.timing.median / readPass.median).toFixed(1),
  'negatives kept': result.keptNegativesMedian,
}));
console.log(
  `\nfitRareEvents, N = ${ROWS}, d = 6, pilot ${PILOT_SIZE}, ${SAMPLE_SIZE} expected negatives, ${data.positives} positives; median of ${REPEATS} runs\n`,
);
console.log(markdownTable(table));
console.log(
  `\nbaselines: read pass over ${ROWS} x ${x.columns} values ${ms(readPass.median)} ms; full-data fitLogistic ${ms(fullFit.median)} ms (${(fullFit.median / (results[0]?.timing.median ?? Number.NaN)).toFixed(1)} x the optA recipe); target for the optA recipe < ${TARGET_SECONDS * 1000} ms`,
);
const file = writeResult(fileURLToPath(new URL('..', import.meta.url)), 'recipe', {
  rows: ROWS,
  columns: x.columns,
  positives: data.positives,
  pilotSize: PILOT_SIZE,
  sampleSize: SAMPLE_SIZE,
  repeats: REPEATS,
  targetSeconds: TARGET_SECONDS,
  readPass,
  fullFit,
  results,
  ratios: {
    optAPerReadPass: (results[0]?.timing.median ?? Number.NaN) / readPass.median,
    fullFitPerOptA: fullFit.median / (results[0]?.timing.median ?? Number.NaN),
  },
  sink,
});
console.error(`wrote ${file}`);
