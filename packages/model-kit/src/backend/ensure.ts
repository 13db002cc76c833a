import * as tf from '@tensorflow/tfjs-core';
import { shareIdentityOnWasm } from './kernels.js';
import { selectBackend } from './select.js';

/**
 * Makes sure a TensorFlow.js backend is active: keeps the one already chosen (by the caller or an
 * earlier {@link selectBackend}), else selects one (wasm, else cpu). Training and embedding entry
 * points call it so that a library user does not meet tfjs' "No backend found in registry".
 *
 * @returns the name of the active backend
 * @example
 * ```ts
 * const backend = await ensureBackend(); // 'wasm' on a fresh process
 * ```
 */
export async function ensureBackend(): Promise<string> {
  try {
    const name = tf.getBackend();
    if (name) {
      if (name === 'wasm') shareIdentityOnWasm();
      return name;
    }
  } catch {
    // No backend registered or none initialised yet: choose one below.
  }
  return (await selectBackend()).backend;
}
