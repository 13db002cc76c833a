/**
 * Benchmark of fitLogistic on the A.10 design (1e6 rows x 7 columns) and on a 1000-row pilot,
 * against a baseline measured in the same run: one tight pass that reads every value of the design
 * matrix (a fit costs a handful of such passes plus an exp and a log1p per row). Run with
 * `pnpm bench` (everything) or `pnpm bench fit-logistic` in packages/correction.
 */
import { fileURLToPath } from 'node:url';
import { markdownTable, measure, writeResult } from '@rarefy/bench';
import { selectRows, simulateRareEvents } from '@rarefy/sampling-core';
import { fitLogistic } from '../src/index.js';

const ROWS = 1_000_000;
const data = simulateRareEvents({ rows: ROWS, seed: 1 });
const { x, y } = data;

let sink = 0;
const readPass = await measure(() => {
  let sum = 0;
  const values = x.data;
  for (let k = 0; k < values.length; k++) sum += values[k] as number;
  sink += sum;
});
let iterations = 0;
const fullFit = await measure(
  () => {
    iterations = fitLogistic(x, y).iterations;
  },
  { repeats: 5 },
);
const pilotRows = Int32Array.from({ length: 1000 }, (_, i) => i * 997);
const pilotX = selectRows(x, pilotRows);
const pilotY = Uint8Array.from(pilotRows, (row) => y[row] as number);
const pilotFit = await measure(() => fitLogistic(pilotX, pilotY), { repeats: 51, warmup: 20 });

const rows = [
  { case: 'read pass 1e6 x 7 (baseline)', seconds: readPass.median, ratio: 1 },
  {
    case: `fitLogistic 1e6 x 7 (${iterations} steps)`,
    seconds: fullFit.median,
    ratio: fullFit.median / readPass.median,
  },
  { case: 'fitLogistic 1000 x 7 pilot', seconds: pilotFit.median, ratio: pilotFit.median / readPass.median },
];
console.log(markdownTable(rows));
const file = writeResult(fileURLToPath(new URL('..', import.meta.url)), 'fit-logistic', {
  rows: ROWS,
  iterations,
  readPass,
  fullFit,
  pilotFit,
  ratios: { fullFitPerReadPass: fullFit.median / readPass.median },
  sink,
});
console.error(`wrote ${file}`);
