import { requireArgument } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';

/** Options of {@link measureMatMulGflops}. */
export interface MatMulBenchmarkOptions {
  /** The side n of the n x n by n x n product (default 256; 256 to 512 takes milliseconds per product). */
  size?: number;
  /** Timed products (default 10), after two untimed warm-up products. */
  repeats?: number;
}

/**
 * Measures the active TensorFlow.js backend's float32 matMul speed: 2 n^3 floating-point operations
 * per n x n product, timed over `repeats` products (each read back, so asynchronous backends are
 * timed to completion). Call it after {@link selectBackend}.
 *
 * @param options - `size` (default 256) and `repeats` (default 10)
 * @returns GFLOP/s (1e9 floating-point operations per second)
 * @example
 * ```ts
 * await selectBackend();
 * console.log(await measureMatMulGflops({ size: 256, repeats: 10 }));
 * ```
 */
export async function measureMatMulGflops(options: MatMulBenchmarkOptions = {}): Promise<number> {
  const size = options.size ?? 256;
  const repeats = options.repeats ?? 10;
  requireArgument(
    Number.isInteger(size) && size >= 1 && size <= 4096,
    'size',
    `${size} is not an integer in [1, 4096]`,
    'pass 256 or 512',
  );
  requireArgument(
    Number.isInteger(repeats) && repeats >= 1,
    'repeats',
    `${repeats} is not a positive integer`,
    'pass 10',
  );
  // Deterministic inputs (no random numbers): a smooth pattern in [-1, 1].
  const values = new Float32Array(size * size);
  for (let k = 0; k < values.length; k++) values[k] = Math.sin(k * 0.618);
  const a = tf.tensor2d(values, [size, size]);
  const b = tf.tensor2d(values, [size, size]);
  try {
    const product = async (): Promise<void> => {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
    };
    await product();
    await product();
    const started = performance.now();
    for (let r = 0; r < repeats; r++) await product();
    const seconds = Math.max((performance.now() - started) / 1000, 1e-9);
    return (2 * size * size * size * repeats) / seconds / 1e9;
  } finally {
    a.dispose();
    b.dispose();
  }
}
