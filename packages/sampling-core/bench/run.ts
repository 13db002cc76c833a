/**
 * Benchmark of the fused score-and-sample pass (ALGORITHMS.md A.11) over 1e7 rows x 7 Float64
 * columns (intercept + 6), against a baseline measured in the same run: a tight read-only pass that
 * sums every value of x and every label. Also times designScores + the exact scale at 1e6 rows.
 * Run with `pnpm bench` in packages/sampling-core.
 *
 * The parallel pass (`@rarefy/sampling-core/node`, worker threads over shared memory, default worker
 * count = os.availableParallelism()) is compared with the SAME single-thread read pass. The data are
 * allocated in SharedArrayBuffers from the start (every pass reads the same arrays; no copy is
 * timed). It is timed three ways, labelled: cold (the call starts its own pool and terminates it:
 * worker start-up included; from the sources each worker also registers tsx), warm (a pool started
 * and made ready before the timing), and the pool's start-up + close alone.
 */

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { markdownTable, measure, writeResult } from '@rarefy/bench';
import {
  createRng,
  type DesignMatrix,
  designScores,
  INTERCEPT_NAME,
  linearPredictor,
  type ScaleSolution,
  scoreAndSampleLogistic,
  sigmoid,
  solveScale,
} from '../src/index.js';
import {
  blockScoreAndSampleLogistic,
  parallelScoreAndSampleLogistic,
  ScoreWorkerPool,
} from '../src/node/index.js';

const ROWS = 10_000_000;
const FEATURES = 6;
const COLUMNS = FEATURES + 1;
const SOLVE_ROWS = 1_000_000;
const COEFFICIENTS = Float64Array.from([-6, -0.5, -0.5, -0.5, -0.5, -0.5, -0.5]);
const RATE = 0.01;
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * A cheap seeded fill: features uniform on (-sqrt 3, sqrt 3) (unit variance), labels Bernoulli with
 * the A.10 coefficients (about 1% positives). Normals would cost minutes at this size.
 */
function generate(rows: number): { x: DesignMatrix; y: Uint8Array } {
  const rng = createRng(1);
  // Shared from the start, so the parallel pass reads these very arrays (no copy to time or hide).
  const data = new Float64Array(new SharedArrayBuffer(rows * COLUMNS * Float64Array.BYTES_PER_ELEMENT));
  const y = new Uint8Array(new SharedArrayBuffer(rows));
  const spread = (2 * Math.sqrt(3)) / 4294967296;
  const shift = Math.sqrt(3);
  for (let i = 0, o = 0; i < rows; i++, o += COLUMNS) {
    data[o] = 1;
    let eta = COEFFICIENTS[0] as number;
    for (let j = 1; j < COLUMNS; j++) {
      const value = rng.nextUint32() * spread - shift;
      data[o + j] = value;
      eta += value * (COEFFICIENTS[j] as number);
    }
    y[i] = rng.nextFloat64() < sigmoid(eta) ? 1 : 0;
  }
  const names = [INTERCEPT_NAME, ...Array.from({ length: FEATURES }, (_, j) => `x${j + 1}`)];
  return { x: { data, rows, columns: COLUMNS, names, intercept: true }, y };
}

/** Baseline 1: one flat loop, one accumulator per array. */
function readPassSimple(x: DesignMatrix, y: Uint8Array): number {
  const data = x.data;
  let sum = 0;
  for (let k = 0; k < data.length; k++) sum += data[k] as number;
  let labels = 0;
  for (let i = 0; i < y.length; i++) labels += y[i] as number;
  return sum + labels;
}

/** Baseline 2: the same with four independent accumulators (shorter dependency chains). */
function readPassUnrolled(x: DesignMatrix, y: Uint8Array): number {
  const data = x.data;
  const n = data.length;
  const end = n - (n % 4);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = 0; k < end; k += 4) {
    s0 += data[k] as number;
    s1 += data[k + 1] as number;
    s2 += data[k + 2] as number;
    s3 += data[k + 3] as number;
  }
  for (let k = end; k < n; k++) s0 += data[k] as number;
  let labels = 0;
  for (let i = 0; i < y.length; i++) labels += y[i] as number;
  return s0 + s1 + s2 + s3 + labels;
}

const repeats = { repeats: 5, warmup: 1 };
const log = (message: string) => console.error(message);

log(`generating ${ROWS} x ${COLUMNS} ...`);
const { x, y } = generate(ROWS);

log('baseline read passes ...');
let sink = 0;
const readSimple = await measure(() => {
  sink += readPassSimple(x, y);
}, repeats);
const readUnrolled = await measure(() => {
  sink += readPassUnrolled(x, y);
}, repeats);
const read = readUnrolled.median <= readSimple.median ? readUnrolled : readSimple;
const readName = read === readUnrolled ? 'read pass (4 accumulators)' : 'read pass (1 accumulator)';

// Rate-scale solutions from the full data's scores (computed once, outside the timings).
log('rate-scale solutions ...');
const probability = linearPredictor(x, COEFFICIENTS).map(sigmoid);
const solutions = new Map<'proportional' | 'optL', ScaleSolution>();
for (const design of ['proportional', 'optL'] as const) {
  const scores = designScores(design, probability, x);
  solutions.set(design, solveScale(design, scores, y, { method: 'rate', rate: RATE }));
}

const fused: Record<string, { median: number; kept: number }> = {};
for (const design of ['proportional', 'optL'] as const) {
  log(`scoreAndSampleLogistic ${design} ...`);
  const solution = solutions.get(design) as ScaleSolution;
  let kept = 0;
  const timing = await measure(() => {
    kept = scoreAndSampleLogistic(x, y, COEFFICIENTS, design, solution, createRng(1)).rows.length;
  }, repeats);
  fused[design] = { median: timing.median, kept };
}

/**
 * The machine's parallel capacity at the time of the run: the 4-accumulator read pass split over
 * `workers` threads (each reads a contiguous share of the same shared arrays). On a host whose
 * cores are contended this is not `workers` times the one-thread read pass, and the parallel
 * score-and-sample pass cannot be either; it is reported so the ratios can be read with that in mind.
 */
async function parallelReadProbe(threads: number): Promise<Awaited<ReturnType<typeof measure>>> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    parentPort.on('message', ({ data, labels, start, end, labelStart, labelEnd }) => {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = start;
      for (; k + 3 < end; k += 4) { s0 += data[k]; s1 += data[k + 1]; s2 += data[k + 2]; s3 += data[k + 3]; }
      for (; k < end; k++) s0 += data[k];
      let l = 0;
      for (let i = labelStart; i < labelEnd; i++) l += labels[i];
      parentPort.postMessage(s0 + s1 + s2 + s3 + l);
    });`;
  const readers = Array.from({ length: threads }, () => new Worker(code, { eval: true }));
  const share = Math.ceil(ROWS / threads);
  const run = () =>
    Promise.all(
      readers.map(
        (reader, t) =>
          new Promise<number>((resolve) => {
            reader.once('message', resolve);
            const first = Math.min(ROWS, t * share);
            const last = Math.min(ROWS, first + share);
            reader.postMessage({
              data: x.data,
              labels: y,
              start: first * COLUMNS,
              end: last * COLUMNS,
              labelStart: first,
              labelEnd: last,
            });
          }),
      ),
    );
  const timing = await measure(async () => {
    for (const value of await run()) sink += value;
  }, repeats);
  await Promise.all(readers.map((reader) => reader.terminate()));
  return timing;
}

const workers = availableParallelism();
log(`read pass on ${workers} threads (capacity probe) ...`);
const parallelRead = await parallelReadProbe(workers);
const parallel: Record<string, { cold: number; warm: number; block: number; kept: number }> = {};
const pool = new ScoreWorkerPool({ workers });
await pool.ready();
for (const design of ['proportional', 'optL'] as const) {
  const solution = solutions.get(design) as ScaleSolution;
  log(`parallelScoreAndSampleLogistic ${design}, ${workers} workers ...`);
  let kept = 0;
  const warm = await measure(async () => {
    kept = (await parallelScoreAndSampleLogistic(x, y, COEFFICIENTS, design, solution, { seed: 1, pool }))
      .rows.length;
  }, repeats);
  const cold = await measure(async () => {
    await parallelScoreAndSampleLogistic(x, y, COEFFICIENTS, design, solution, { seed: 1, workers });
  }, repeats);
  log(`blockScoreAndSampleLogistic ${design} (one thread) ...`);
  let blockKept = 0;
  const block = await measure(() => {
    blockKept = blockScoreAndSampleLogistic(x, y, COEFFICIENTS, design, solution, { seed: 1 }).rows.length;
  }, repeats);
  if (blockKept !== kept) throw new Error(`parallel kept ${kept} rows, the block reference ${blockKept}`);
  parallel[design] = { cold: cold.median, warm: warm.median, block: block.median, kept };
}
await pool.close();
log('worker pool start-up + close ...');
const startUp = await measure(async () => {
  const fresh = new ScoreWorkerPool({ workers });
  await fresh.ready();
  await fresh.close();
}, repeats);

// The same cold call through the built package (dist/node, plain JS workers, no tsx), when built.
const builtEntry = join(packageDir, 'dist', 'node', 'index.js');
const builtCold: Record<string, number> = {};
if (existsSync(builtEntry)) {
  const built = (await import(pathToFileURL(builtEntry).href)) as typeof import('../src/node/index.js');
  for (const design of ['proportional', 'optL'] as const) {
    log(`built parallelScoreAndSampleLogistic ${design}, cold ...`);
    const solution = solutions.get(design) as ScaleSolution;
    const timing = await measure(async () => {
      await built.parallelScoreAndSampleLogistic(x, y, COEFFICIENTS, design, solution, { seed: 1, workers });
    }, repeats);
    builtCold[design] = timing.median;
  }
} else {
  log('dist/node/index.js not built: skipping the cold call through the built package (run npx tsup)');
}

// designScores + solveScale exact at 1e6 rows (a view of the first rows).
log('designScores + solveScale exact at 1e6 ...');
const small: DesignMatrix = { ...x, rows: SOLVE_ROWS, data: x.data.subarray(0, SOLVE_ROWS * COLUMNS) };
const smallY = y.subarray(0, SOLVE_ROWS);
const smallP = probability.subarray(0, SOLVE_ROWS);
const scoresOut = new Float64Array(SOLVE_ROWS);
let iterations = 0;
const scoreAndSolve = await measure(() => {
  designScores('optL', smallP, small, {}, scoresOut);
  iterations = solveScale('optL', scoresOut, smallY, { method: 'exact', sampleSize: 10_000 }).iterations;
}, repeats);
const solveOnly = await measure(() => {
  solveScale('optL', scoresOut, smallY, { method: 'exact', sampleSize: 10_000 });
}, repeats);
const smallRead = await measure(() => {
  sink += readPassUnrolled(small, smallY);
}, repeats);

const rowsPerSecond = (rows: number, seconds: number) => rows / seconds;
const readSpeed = rowsPerSecond(ROWS, read.median);
const table = [
  {
    pass: 'read pass (1 accumulator)',
    rows: ROWS,
    'median s': readSimple.median,
    'rows/s': rowsPerSecond(ROWS, readSimple.median),
    'speed / baseline': readSimple.median === read.median ? 1 : read.median / readSimple.median,
  },
  {
    pass: 'read pass (4 accumulators)',
    rows: ROWS,
    'median s': readUnrolled.median,
    'rows/s': rowsPerSecond(ROWS, readUnrolled.median),
    'speed / baseline': read.median / readUnrolled.median,
  },
  ...(['proportional', 'optL'] as const).map((design) => {
    const result = fused[design] as { median: number; kept: number };
    return {
      pass: `scoreAndSampleLogistic ${design} (rate ${RATE}, kept ${result.kept})`,
      rows: ROWS,
      'median s': result.median,
      'rows/s': rowsPerSecond(ROWS, result.median),
      'speed / baseline': read.median / result.median,
    };
  }),
  {
    pass: `read pass (4 accumulators) on ${workers} threads: capacity probe, not the baseline`,
    rows: ROWS,
    'median s': parallelRead.median,
    'rows/s': rowsPerSecond(ROWS, parallelRead.median),
    'speed / baseline': read.median / parallelRead.median,
  },
  ...(['proportional', 'optL'] as const).flatMap((design) => {
    const result = parallel[design] as { cold: number; warm: number; block: number; kept: number };
    return [
      {
        pass: `blockScoreAndSampleLogistic ${design} (1 thread, blocks of 65536, kept ${result.kept})`,
        rows: ROWS,
        'median s': result.block,
        'rows/s': rowsPerSecond(ROWS, result.block),
        'speed / baseline': read.median / result.block,
      },
      {
        pass: `parallel ${design} (${workers} workers, warm pool)`,
        rows: ROWS,
        'median s': result.warm,
        'rows/s': rowsPerSecond(ROWS, result.warm),
        'speed / baseline': read.median / result.warm,
      },
      {
        pass: `parallel ${design} (${workers} workers, cold from sources: start-up with tsx + close in the call)`,
        rows: ROWS,
        'median s': result.cold,
        'rows/s': rowsPerSecond(ROWS, result.cold),
        'speed / baseline': read.median / result.cold,
      },
      ...(builtCold[design] === undefined
        ? []
        : [
            {
              pass: `parallel ${design} (${workers} workers, cold from dist: start-up + close in the call)`,
              rows: ROWS,
              'median s': builtCold[design],
              'rows/s': rowsPerSecond(ROWS, builtCold[design]),
              'speed / baseline': read.median / builtCold[design],
            },
          ]),
    ];
  }),
  {
    pass: `worker pool start-up + close alone (${workers} workers)`,
    rows: 0,
    'median s': startUp.median,
    'rows/s': '-',
    'speed / baseline': '-',
  },
  {
    pass: 'read pass at 1e6 (4 accumulators)',
    rows: SOLVE_ROWS,
    'median s': smallRead.median,
    'rows/s': rowsPerSecond(SOLVE_ROWS, smallRead.median),
    'speed / baseline': '-',
  },
  {
    pass: `designScores optL + solveScale exact (${iterations} iterations)`,
    rows: SOLVE_ROWS,
    'median s': scoreAndSolve.median,
    'rows/s': rowsPerSecond(SOLVE_ROWS, scoreAndSolve.median),
    'speed / baseline': smallRead.median / scoreAndSolve.median,
  },
  {
    pass: 'solveScale exact alone',
    rows: SOLVE_ROWS,
    'median s': solveOnly.median,
    'rows/s': rowsPerSecond(SOLVE_ROWS, solveOnly.median),
    'speed / baseline': smallRead.median / solveOnly.median,
  },
];

console.log(`\nBaseline: ${readName}, ${readSpeed.toExponential(3)} rows/s (one thread).\n`);
console.log(markdownTable(table));
const proportionalRatio = read.median / (fused.proportional as { median: number }).median;
const optLRatio = read.median / (fused.optL as { median: number }).median;
console.log(
  `\nratio (fused speed / read speed): proportional ${proportionalRatio.toFixed(3)}, optL ${optLRatio.toFixed(3)} (target >= 0.5)`,
);
console.log(
  `capacity probe: the read pass on ${workers} threads runs at ${(read.median / parallelRead.median).toFixed(2)} x the one-thread read pass (${workers} uncontended cores would give about ${workers}).`,
);
const parallelRatio = (design: 'proportional' | 'optL', timing: 'cold' | 'warm') =>
  read.median / (parallel[design] as { cold: number; warm: number })[timing];
console.log(
  `ratio (parallel, ${workers} workers / one-thread read speed): warm pool: proportional ${parallelRatio('proportional', 'warm').toFixed(3)}, optL ${parallelRatio('optL', 'warm').toFixed(3)}; cold (start-up included): proportional ${parallelRatio('proportional', 'cold').toFixed(3)}, optL ${parallelRatio('optL', 'cold').toFixed(3)} (target >= 0.5)`,
);
const file = writeResult(packageDir, 'score-and-sample', {
  rows: ROWS,
  columns: COLUMNS,
  baseline: readName,
  readPassSimpleSeconds: readSimple.median,
  readPassUnrolledSeconds: readUnrolled.median,
  fusedSeconds: { proportional: fused.proportional?.median, optL: fused.optL?.median },
  rowsPerSecond: {
    read: readSpeed,
    proportional: rowsPerSecond(ROWS, (fused.proportional as { median: number }).median),
    optL: rowsPerSecond(ROWS, (fused.optL as { median: number }).median),
  },
  ratio: { proportional: proportionalRatio, optL: optLRatio },
  parallel: {
    workers,
    blockRows: 65_536,
    dataInSharedMemory: true,
    poolStartUpAndCloseSeconds: startUp.median,
    readPassOnWorkersSeconds: parallelRead.median,
    warmPoolSeconds: { proportional: parallel.proportional?.warm, optL: parallel.optL?.warm },
    coldSeconds: { proportional: parallel.proportional?.cold, optL: parallel.optL?.cold },
    coldFromDistSeconds: { proportional: builtCold.proportional, optL: builtCold.optL },
    blockReferenceOneThreadSeconds: {
      proportional: parallel.proportional?.block,
      optL: parallel.optL?.block,
    },
    rowsPerSecond: {
      warm: {
        proportional: rowsPerSecond(ROWS, parallel.proportional?.warm ?? Number.NaN),
        optL: rowsPerSecond(ROWS, parallel.optL?.warm ?? Number.NaN),
      },
      cold: {
        proportional: rowsPerSecond(ROWS, parallel.proportional?.cold ?? Number.NaN),
        optL: rowsPerSecond(ROWS, parallel.optL?.cold ?? Number.NaN),
      },
    },
    ratioToReadPass: {
      warm: { proportional: parallelRatio('proportional', 'warm'), optL: parallelRatio('optL', 'warm') },
      cold: { proportional: parallelRatio('proportional', 'cold'), optL: parallelRatio('optL', 'cold') },
    },
  },
  exactAt1e6: {
    designScoresPlusSolveSeconds: scoreAndSolve.median,
    solveSeconds: solveOnly.median,
    readPassSeconds: smallRead.median,
    iterations,
  },
  sink,
});
console.log(`\nwrote ${file}`);
