/**
 * Benchmark of two-tower training (not run in CI): examples per second and achieved FLOP/s of
 * `trainTwoTower` at batch 1024, embedding 64, towers 64-128-64 (one hidden layer), in-batch
 * negatives with the exact log Q correction, against two baselines measured in the same run:
 *
 * - the roof: `measureMatMulGflops` on the same backend (a 256 x 256 product, timed before and
 *   after training; the higher is used, so the fraction is conservative);
 * - a straightforward `@tensorflow/tfjs-layers` implementation of the same model (Embedding ->
 *   Flatten -> Dense(128, relu) -> Dense(64), L2-normalised, logits `matMul(u, v, false, true) / tau -
 *   log Q`, `tf.losses.softmaxCrossEntropy`, Adam over every variable) trained with
 *   `optimizer.minimize` on the same rows (also run with V transposed explicitly, the B.10 advice), with
 *   tfjs-core's gradients and the wasm `UnsortedSegmentSum` kernel registered by model-kit's
 *   `registerTrainingKernels` (without them it cannot train on wasm), and otherwise the kernels tfjs
 *   ships: Rarefy's data-sharing wasm Identity kernel (`shareIdentityOnWasm`) is swapped out while it
 *   runs, since a user writing the model in plain tfjs would not have it. A third row runs it with that
 *   kernel, to show what it gains too.
 *
 * FLOPs per step count the model's matMuls, 2 m n k each: forward of both towers (B rows each: the
 * batch's users and positives) and of the B x B logits; backward = 2 x forward. Reimplementation
 * overhead (the backward pass's recomputation of P^T) is not counted. trainTwoTower merges the
 * batch's repeated items into one column (the same loss), so it executes fewer FLOPs than the
 * model's count; both are printed.
 *
 * Also prints where a step's time goes (`tf.profile` over a few steps: kernel milliseconds by kernel,
 * and the rest, which is JavaScript: batching, gathers, masks, sparse Adagrad, tfjs dispatch).
 *
 * Run with `node --conditions=@rarefy/source --import tsx bench/train-throughput.ts` in
 * packages/two-tower. Environment: TWO_TOWER_BENCH_STEPS (steps per timed run, default 40),
 * TWO_TOWER_BENCH_USERS / _ITEMS (default 6040 / 3706, MovieLens 1M's sizes: the straightforward model
 * updates every embedding row each step, so its speed falls with the catalogue and ours does not), TWO_TOWER_BENCH_BACKEND (wasm or cpu),
 * TWO_TOWER_BENCH_LAYERS_STEPS (default 8).
 */
import { fileURLToPath } from 'node:url';
import { markdownTable, median, writeResult } from '@rarefy/bench';
import {
  type BackendName,
  measureMatMulGflops,
  registerTrainingKernels,
  selectBackend,
  shareIdentityOnWasm,
} from '@rarefy/model-kit';
import { createRng } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type InteractionData, itemCounts } from '../src/interactions.js';
import { trainTwoTower } from '../src/train/train.js';

const BATCH = 1024;
const EMBEDDING = 64;
const HIDDEN = 128;
const OUTPUT = 64;
const TAU = 0.05;
const STEPS = Number(process.env.TWO_TOWER_BENCH_STEPS ?? 40);
const WARMUP_STEPS = 5;
const USERS = Number(process.env.TWO_TOWER_BENCH_USERS ?? 6040);
const ITEMS = Number(process.env.TWO_TOWER_BENCH_ITEMS ?? 3706);
const LAYERS_STEPS = Number(process.env.TWO_TOWER_BENCH_LAYERS_STEPS ?? 8);

/** Uniform users, Zipf-like items (log-uniform ranks): what interaction logs look like. */
function interactions(rows: number, seed: number): InteractionData {
  const rng = createRng(seed);
  const users = new Int32Array(rows);
  const items = new Int32Array(rows);
  for (let k = 0; k < rows; k++) {
    users[k] = rng.nextInt(USERS);
    items[k] = Math.min(ITEMS - 1, Math.floor(Math.exp(rng.nextFloat64() * Math.log(ITEMS + 1)) - 1));
  }
  return {
    userIds: Array.from({ length: USERS }, (_, k) => `u${k}`),
    itemIds: Array.from({ length: ITEMS }, (_, k) => `i${k}`),
    users,
    items,
  };
}

/**
 * The model's matMul FLOPs of one step: 3 x forward (towers on B rows each, B x C logits). With
 * `columns` = B this is the nominal count of the in-batch softmax; trainTwoTower merges repeated items
 * into one column (the same loss), so it runs the item tower and the logits on fewer columns.
 */
function flopsPerStep(columns = BATCH): number {
  const perRow = 2 * (EMBEDDING * HIDDEN + HIDDEN * OUTPUT);
  const logits = 2 * BATCH * columns * OUTPUT;
  return 3 * (perRow * (BATCH + columns) + logits);
}

/** The mean number of distinct items in a batch of a random order of the rows. */
function distinctPerBatch(data: InteractionData): number {
  const rng = createRng(9);
  const order = Int32Array.from(data.items);
  for (let k = order.length - 1; k > 0; k--) {
    const j = rng.nextInt(k + 1);
    const t = order[k] as number;
    order[k] = order[j] as number;
    order[j] = t;
  }
  let total = 0;
  let batches = 0;
  for (let start = 0; start + BATCH <= order.length; start += BATCH) {
    total += new Set(order.subarray(start, start + BATCH)).size;
    batches++;
  }
  return total / batches;
}

const spec = { id: { dimension: EMBEDDING }, hidden: [HIDDEN], outputDimension: OUTPUT };

/** Steady-state examples per second of trainTwoTower over STEPS steps (the first WARMUP_STEPS untimed). */
async function ours(data: InteractionData): Promise<number> {
  let start = 0;
  let end = 0;
  let steps = 0;
  const { model } = await trainTwoTower({
    train: data,
    userTower: spec,
    itemTower: spec,
    batchSize: BATCH,
    epochs: 1,
    temperature: TAU,
    logQ: 'exact',
    seed: 1,
    onProgress: ({ step, elapsedSeconds }) => {
      if (step === WARMUP_STEPS) start = elapsedSeconds;
      end = elapsedSeconds;
      steps = step;
    },
  });
  model.dispose();
  return ((steps - WARMUP_STEPS) * BATCH) / (end - start);
}

/** Kernel milliseconds per step by kernel name (top entries), and the step's total wall time. */
async function profile(data: InteractionData): Promise<{ stepMs: number; kernels: Array<[string, number]> }> {
  const steps = 6;
  const sample: InteractionData = {
    ...data,
    users: data.users.subarray(0, steps * BATCH),
    items: data.items.subarray(0, steps * BATCH),
  };
  let wall = 0;
  const info = await tf.profile(async () => {
    const result = await trainTwoTower({
      train: sample,
      userTower: spec,
      itemTower: spec,
      batchSize: BATCH,
      epochs: 1,
      seed: 1,
    });
    wall = result.seconds;
    result.model.dispose();
  });
  const totals = new Map<string, number>();
  for (const kernel of info.kernels) {
    // Custom-gradient forward passes and op wrappers contain kernels listed on their own: skip them.
    if (kernel.name === 'forward' || kernel.name.endsWith('__op')) continue;
    // By kernel and the shapes' ranks only: column counts change from step to step.
    const name = `${kernel.name} ${kernel.inputShapes.map((shape) => `[${(shape ?? []).map((size) => (size === 1 || size === BATCH || size === EMBEDDING || size === HIDDEN || size === BATCH + 1 ? size : 'C')).join('x')}]`).join('')}`;
    totals.set(name, (totals.get(name) ?? 0) + Number(kernel.kernelTimeMs));
  }
  const kernels = [...totals.entries()]
    .map(([name, ms]): [string, number] => [name, ms / steps])
    .sort((a, b) => b[1] - a[1]);
  return { stepMs: (wall * 1000) / steps, kernels };
}

/** The straightforward tfjs-layers model trained with optimizer.minimize; examples per second. */
async function layersBaseline(
  data: InteractionData,
  explicitTranspose: boolean,
  stock = true,
): Promise<number> {
  // Plain tfjs: the wasm Identity kernel as tfjs ships it (Rarefy's selectBackend shares data instead).
  if (stock) shareIdentityOnWasm(false);
  try {
    return await layersSteps(data, explicitTranspose);
  } finally {
    shareIdentityOnWasm();
  }
}

async function layersSteps(data: InteractionData, explicitTranspose: boolean): Promise<number> {
  const tower = (count: number): tfl.LayersModel => {
    const input = tfl.input({ shape: [1], dtype: 'int32' });
    let x = tfl.layers
      .embedding({ inputDim: count, outputDim: EMBEDDING })
      .apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ units: HIDDEN, activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ units: OUTPUT }).apply(x) as tfl.SymbolicTensor;
    return tfl.model({ inputs: input, outputs: x });
  };
  const userModel = tower(USERS);
  const itemModel = tower(ITEMS);
  const optimizer = tf.train.adam(1e-3);
  const counts = itemCounts(data);
  const logQ = Float32Array.from(
    counts,
    (count) => Math.log(Math.max(count, 1) / data.items.length) + Math.log(BATCH),
  );
  const labels = tf.eye(BATCH);
  const variables = [...userModel.trainableWeights, ...itemModel.trainableWeights].map(
    (w) => w.read() as tf.Variable,
  );
  const normalise = (x: tf.Tensor): tf.Tensor => tf.div(x, tf.norm(x, 'euclidean', 1, true));
  const step = (k: number): void => {
    tf.tidy(() => {
      const users = data.users.subarray(k * BATCH, (k + 1) * BATCH);
      const items = data.items.subarray(k * BATCH, (k + 1) * BATCH);
      const bias = tf.tensor1d(Float32Array.from(items, (item) => logQ[item] as number));
      const userIds = tf.tensor2d(users, [BATCH, 1], 'int32');
      const itemIds = tf.tensor2d(items, [BATCH, 1], 'int32');
      const cost = optimizer.minimize(
        () => {
          const u = normalise(userModel.apply(userIds, { training: true }) as tf.Tensor);
          const v = normalise(itemModel.apply(itemIds, { training: true }) as tf.Tensor);
          const product = explicitTranspose ? tf.matMul(u, tf.transpose(v)) : tf.matMul(u, v, false, true);
          const logits = tf.sub(tf.div(product, TAU), bias);
          return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
        },
        true,
        variables,
      );
      cost?.dataSync();
    });
  };
  step(0);
  const started = performance.now();
  for (let k = 1; k <= LAYERS_STEPS; k++) step(k);
  const seconds = (performance.now() - started) / 1000;
  labels.dispose();
  optimizer.dispose();
  userModel.dispose();
  itemModel.dispose();
  return (LAYERS_STEPS * BATCH) / seconds;
}

/** The best of three short measurements: the roof is what the backend can reach, so noise only lowers it. */
async function roofGflops(): Promise<number> {
  let best = 0;
  for (let trial = 0; trial < 3; trial++)
    best = Math.max(best, await measureMatMulGflops({ size: 256, repeats: 20 }));
  return best;
}

const force = process.env.TWO_TOWER_BENCH_BACKEND as BackendName | undefined;
const selection = await selectBackend(force ? { force } : {});
const kernels = await registerTrainingKernels();
const data = interactions((STEPS + WARMUP_STEPS) * BATCH, 1);
const flops = flopsPerStep();
const distinct = distinctPerBatch(data);
const executedFlops = flopsPerStep(distinct);

// Rounds interleave every measurement, so that load from other processes hits all of them alike.
const roofs: number[] = [];
const runs: number[] = [];
const layersRuns: number[] = [];
const layersTransposedRuns: number[] = [];
const layersSharedRuns: number[] = [];
for (let round = 0; round < 3; round++) {
  roofs.push(await roofGflops());
  runs.push(await ours(data));
  layersRuns.push(await layersBaseline(data, false));
  layersTransposedRuns.push(await layersBaseline(data, true));
  layersSharedRuns.push(await layersBaseline(data, false, false));
}
roofs.push(await roofGflops());
const roof512 = await measureMatMulGflops({ size: 512, repeats: 5 });
const roof = Math.max(...roofs);
const examplesPerSecond = median(runs);
const achieved = ((examplesPerSecond / BATCH) * flops) / 1e9;
const layers = median(layersRuns);
const layersTransposed = median(layersTransposedRuns);
const layersShared = median(layersSharedRuns);
const { stepMs, kernels: profiled } = await profile(data);
const kernelMs = profiled.reduce((sum, [, ms]) => sum + ms, 0);

const rows = [
  {
    case: `roof: measureMatMulGflops 256 (${selection.backend})`,
    gflops: roof,
    examplesPerSecond: '',
    note: `per round: ${roofs.map((g) => g.toFixed(1)).join(' / ')}; 512: ${roof512.toFixed(1)}`,
  },
  {
    case: 'trainTwoTower B=1024, 64-128-64 towers',
    gflops: achieved,
    examplesPerSecond,
    note: `${((100 * achieved) / roof).toFixed(0)}% of the roof (target >= 40%); runs ${runs.map((r) => r.toFixed(0)).join(', ')}`,
  },
  {
    case: 'tfjs-layers baseline (optimizer.minimize), stock tfjs kernels',
    gflops: ((layers / BATCH) * flops) / 1e9,
    examplesPerSecond: layers,
    note: `ours / layers = ${(examplesPerSecond / layers).toFixed(1)}x (target >= 10x); runs ${layersRuns.map((r) => r.toFixed(0)).join(', ')}`,
  },
  {
    case: 'tfjs-layers, V transposed explicitly (B.10)',
    gflops: ((layersTransposed / BATCH) * flops) / 1e9,
    examplesPerSecond: layersTransposed,
    note: `ours / layers = ${(examplesPerSecond / layersTransposed).toFixed(1)}x; runs ${layersTransposedRuns.map((r) => r.toFixed(0)).join(', ')}`,
  },
  {
    case: "tfjs-layers baseline with Rarefy's sharing Identity kernel",
    gflops: ((layersShared / BATCH) * flops) / 1e9,
    examplesPerSecond: layersShared,
    note: `ours / layers = ${(examplesPerSecond / layersShared).toFixed(1)}x; runs ${layersSharedRuns.map((r) => r.toFixed(0)).join(', ')}`,
  },
];
console.log(
  `backend: ${selection.backend} (${selection.reason}); training kernels: ${kernels.kernels.join(', ') || 'present'}`,
);
console.log(
  `data: ${USERS} users, ${ITEMS} items, ${data.users.length} rows; ${(flops / 1e6).toFixed(0)} MFLOP per step (model, C = B); ` +
    `${distinct.toFixed(0)} distinct items per batch, so ${(executedFlops / 1e6).toFixed(0)} MFLOP executed ` +
    `(${((((examplesPerSecond / BATCH) * executedFlops) / 1e9 / roof) * 100).toFixed(0)}% of the roof)`,
);
console.log(markdownTable(rows));
console.log(
  `\nwhere a step goes (tf.profile, ${stepMs.toFixed(1)} ms per step with profiling; kernels ${kernelMs.toFixed(1)} ms, the rest is JavaScript):`,
);
console.log(
  markdownTable(
    profiled
      .slice(0, 12)
      .map(([kernel, ms]) => ({ kernel, msPerStep: ms, share: `${((100 * ms) / stepMs).toFixed(0)}%` })),
  ),
);
const file = writeResult(fileURLToPath(new URL('..', import.meta.url)), 'train-throughput', {
  backend: selection.backend,
  users: USERS,
  items: ITEMS,
  batch: BATCH,
  flopsPerStep: flops,
  distinctItemsPerBatch: distinct,
  executedFlopsPerStep: executedFlops,
  roofGflops: roofs,
  roofUsed: roof,
  roof512Gflops: roof512,
  examplesPerSecond: runs,
  achievedGflops: achieved,
  fractionOfRoof: achieved / roof,
  layersExamplesPerSecond: layersRuns,
  layersTransposedExamplesPerSecond: layersTransposedRuns,
  layersSharedIdentityExamplesPerSecond: layersSharedRuns,
  speedupOverLayers: examplesPerSecond / layers,
  profile: { stepMs, kernelMs, kernels: profiled.slice(0, 20) },
});
console.error(`wrote ${file}`);
