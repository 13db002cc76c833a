import { createRng } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  gradientsRegistered,
  registerTrainingKernels,
  shareIdentityOnWasm,
  UNSORTED_SEGMENT_SUM,
} from './kernels.js';
import { selectBackend } from './select.js';

/** Runs `fn` on a backend and returns its result's values (the tensors are disposed). */
async function on<T extends tf.Tensor | tf.Tensor[]>(
  backend: 'wasm' | 'cpu',
  fn: () => T,
): Promise<{ values: Float32Array[]; shapes: number[][]; dtypes: string[] }> {
  await selectBackend({ force: backend });
  const result = tf.tidy(fn);
  const list = Array.isArray(result) ? result : [result];
  const out = {
    values: list.map((tensor) => Float32Array.from(tensor.dataSync())),
    shapes: list.map((tensor) => tensor.shape),
    dtypes: list.map((tensor) => tensor.dtype as string),
  };
  for (const tensor of list) tensor.dispose();
  return out;
}

/** The largest |a - b| / max(1, |b|): float32 sums of many terms differ by their summation order. */
function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let k = 0; k < a.length; k++) {
    const reference = b[k] as number;
    worst = Math.max(worst, Math.abs((a[k] as number) - reference) / Math.max(1, Math.abs(reference)));
  }
  return worst;
}

beforeAll(async () => {
  await selectBackend({ force: 'wasm' });
});

describe('registerTrainingKernels', () => {
  it('registers tfjs-core’s gradients and the wasm UnsortedSegmentSum once', async () => {
    const first = await registerTrainingKernels();
    expect(gradientsRegistered()).toBe(true);
    expect(tf.getKernel(UNSORTED_SEGMENT_SUM, 'wasm')).toBeDefined();
    // Whatever an earlier test file in this worker did, a second call finds everything in place.
    const second = await registerTrainingKernels();
    expect(second).toEqual({ gradients: 'present', kernels: [] });
    expect(['loaded', 'present']).toContain(first.gradients);
  });

  it.each([
    { rows: 1, width: 1, segments: 1 },
    { rows: 50, width: 3, segments: 7 },
    { rows: 1000, width: 17, segments: 400 },
    { rows: 300, width: 8, segments: 2 },
  ])(
    'UnsortedSegmentSum on wasm equals the cpu backend: $rows rows of width $width into $segments segments',
    async ({ rows, width, segments }) => {
      await registerTrainingKernels();
      const rng = createRng(rows * 31 + width);
      const x = Float32Array.from({ length: rows * width }, () => rng.normal());
      // Ids repeat, and a few fall outside [0, segments): those rows are dropped by both backends.
      const ids = Int32Array.from({ length: rows }, (_, i) =>
        i % 11 === 10 ? (i % 2 === 0 ? -1 : segments + 3) : rng.nextInt(segments),
      );
      const run = () =>
        tf.unsortedSegmentSum(tf.tensor2d(x, [rows, width]), tf.tensor1d(ids, 'int32'), segments);
      const wasm = await on('wasm', run);
      const cpu = await on('cpu', run);
      expect(wasm.shapes).toEqual([[segments, width]]);
      expect(wasm.dtypes).toEqual(['float32']);
      expect(maxDifference(wasm.values[0] as Float32Array, cpu.values[0] as Float32Array)).toBeLessThan(1e-5);
    },
  );

  it('keeps int32, takes rank-1 data and rank-2 ids (TensorFlow’s semantics) and empty inputs', async () => {
    await registerTrainingKernels();
    await selectBackend({ force: 'wasm' });
    const ints = tf.tidy(() =>
      tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4, 5], 'int32'), tf.tensor1d([2, 0, 2, 9, 0], 'int32'), 3),
    );
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([7, 0, 4]);
    ints.dispose();
    // Rank-2 ids index the first two dimensions of x: x [2, 2, 3], ids [2, 2] -> out [segments, 3].
    const grid = tf.tidy(() =>
      tf.unsortedSegmentSum(
        tf.tensor3d(
          Float32Array.from({ length: 12 }, (_, k) => k),
          [2, 2, 3],
        ),
        // The op's type says rank 1; the kernel takes TensorFlow's rank-r ids.
        tf.tensor2d([1, 0, 1, 1], [2, 2], 'int32') as unknown as tf.Tensor1D,
        2,
      ),
    );
    expect(grid.shape).toEqual([2, 3]);
    expect(Array.from(grid.dataSync())).toEqual([3, 4, 5, 0 + 6 + 9, 1 + 7 + 10, 2 + 8 + 11]);
    grid.dispose();
    const empty = tf.tidy(() =>
      tf.unsortedSegmentSum(tf.zeros([0, 4]), tf.tensor1d(new Int32Array(0), 'int32'), 3),
    );
    expect(empty.shape).toEqual([3, 4]);
    expect(Array.from(empty.dataSync())).toEqual(new Array(12).fill(0));
    empty.dispose();
  });

  it('makes the gradient of tf.gather (an embedding lookup) the same on wasm as on cpu', async () => {
    await registerTrainingKernels();
    const rng = createRng(5);
    const buckets = 40;
    const dimension = 6;
    const table = Float32Array.from({ length: buckets * dimension }, () => rng.normal());
    const ids = Int32Array.from({ length: 500 }, () => rng.nextInt(buckets));
    const weights = Float32Array.from({ length: dimension }, () => rng.normal());
    const gradient = () =>
      tf.grad((embedding: tf.Tensor) =>
        tf.sum(
          tf.sigmoid(
            tf.matMul(
              tf.gather(embedding as tf.Tensor2D, tf.tensor1d(ids, 'int32')),
              tf.tensor2d(weights, [dimension, 1]),
            ),
          ),
        ),
      )(tf.tensor2d(table, [buckets, dimension]));
    const wasm = await on('wasm', gradient);
    const cpu = await on('cpu', gradient);
    expect(wasm.shapes).toEqual([[buckets, dimension]]);
    expect(maxDifference(wasm.values[0] as Float32Array, cpu.values[0] as Float32Array)).toBeLessThan(1e-5);
    await selectBackend({ force: 'wasm' });
  });
});

describe('shareIdentityOnWasm', () => {
  it('makes tf.clone share the data on wasm: no new buffer, same values, each copy disposable alone', async () => {
    await selectBackend({ force: 'wasm' });
    expect(shareIdentityOnWasm()).toBe(true);
    const original = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const buffers = tf.memory().numDataBuffers;
    const copy = tf.clone(original);
    expect(tf.memory().numDataBuffers).toBe(buffers);
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    original.dispose();
    // The data outlives the first of its two tensors and goes with the second.
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    copy.dispose();
    expect(tf.memory().numDataBuffers).toBe(buffers - 1);
  });

  it('puts the stock copying kernel back with false, and shares again after', async () => {
    await selectBackend({ force: 'wasm' });
    const original = tf.tensor1d([1, 2, 3]);
    const clones = (): number => {
      const before = tf.memory().numDataBuffers;
      const copy = tf.clone(original);
      const added = tf.memory().numDataBuffers - before;
      expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
      copy.dispose();
      return added;
    };
    expect(shareIdentityOnWasm(false)).toBe(false);
    expect(clones()).toBe(1);
    expect(shareIdentityOnWasm()).toBe(true);
    expect(clones()).toBe(0);
    original.dispose();
  });

  it('keeps custom gradients that save their inputs exact, and leaks no tensor over a training step', async () => {
    await selectBackend({ force: 'wasm' });
    const square = tf.customGrad<tf.Tensor>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([x]);
      return {
        value: tf.square(x),
        gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.mul(dy, tf.mul(2, saved as tf.Tensor)),
      };
    });
    const x = tf.variable(tf.tensor1d([1, -2, 3]));
    const before = tf.memory().numTensors;
    const grads = tf.tidy(() =>
      Array.from(
        tf
          .grad((input: tf.Tensor) => tf.sum(square(input)))(x)
          .dataSync(),
      ),
    );
    expect(grads).toEqual([2, -4, 6]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
