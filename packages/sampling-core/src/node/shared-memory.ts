import { RarefyError } from '../errors.js';
import type { DesignMatrix } from '../matrix.js';

/** True when `array` is a view of a SharedArrayBuffer (checked by tag, so it works across realms). */
export function isShared(array: ArrayBufferView): boolean {
  return Object.prototype.toString.call(array.buffer) === '[object SharedArrayBuffer]';
}

/**
 * A copy of a design matrix whose values live in a SharedArrayBuffer, so worker threads read them
 * without a copy. Returns `x` itself when its data already lives in one.
 *
 * @param x - the design matrix
 * @returns `x`, or a matrix with the same shape, names and values in shared memory
 * @example
 * ```ts
 * const shared = sharedDesignMatrix(designMatrix(features, ['a', 'b']));
 * const sample = await parallelScoreAndSampleLogistic(shared, sharedLabels(y), beta, 'optL', solution, {
 *   seed: 1,
 * });
 * ```
 */
export function sharedDesignMatrix(x: DesignMatrix): DesignMatrix {
  if (isShared(x.data)) return x;
  const data = new Float64Array(new SharedArrayBuffer(x.data.byteLength));
  data.set(x.data);
  return { data, rows: x.rows, columns: x.columns, names: [...x.names], intercept: x.intercept };
}

/**
 * A copy of 0/1 labels in a SharedArrayBuffer, so worker threads read them without a copy. Returns
 * `labels` itself when it already lives in one.
 *
 * @param labels - 0/1 per row
 * @returns `labels`, or a copy in shared memory
 * @example
 * ```ts
 * const y = sharedLabels(Uint8Array.from([0, 1, 0]));
 * ```
 */
export function sharedLabels(labels: Uint8Array): Uint8Array {
  if (isShared(labels)) return labels;
  const copy = new Uint8Array(new SharedArrayBuffer(labels.byteLength));
  copy.set(labels);
  return copy;
}

/** Throws RAREFY_INVALID_ARGUMENT unless `array` lives in a SharedArrayBuffer. */
export function requireShared(array: ArrayBufferView, input: string, helper: string): void {
  if (isShared(array)) return;
  throw new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    `${input}: its values live in an ordinary ArrayBuffer, so every worker would need a copy`,
    `pass ${helper}(...) of it (one copy, made once, then shared by every worker and call)`,
    { input },
  );
}
