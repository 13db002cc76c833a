import { RarefyError } from './errors.js';
import type { Rng } from './rng.js';

/**
 * Poisson sampling: row i is kept independently with probability min(1, p_i). Exactly one uniform is
 * drawn per row, in row order (`u_i = rng.nextFloat64()`), and row i is kept when
 * `u_i <= min(1, p_i)`; the same seed therefore gives the same sample however the rows are batched.
 *
 * @param probabilities - keep probability per row (values above 1 mean "kept for sure"); must be >= 0
 * @param rng - the generator
 * @returns the kept row indices, ascending
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` when a probability is NaN or negative
 * @example
 * ```ts
 * const kept = poissonSample(new Float64Array([1, 0, 0.5]), createRng(1)); // contains 0, never 1
 * ```
 */
export function poissonSample(probabilities: Float64Array, rng: Rng): Int32Array {
  const n = probabilities.length;
  // First pass: validate and size the output from the expected count.
  let expected = 0;
  for (let i = 0; i < n; i++) {
    const p = probabilities[i] as number;
    if (!(p >= 0)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `probabilities: row ${i + 1} (index ${i}) is ${p}, not a probability`,
        'pass keep probabilities >= 0 (values above 1 are kept for sure); check the scores for NaN',
        { input: 'probabilities', row: i, value: p },
      );
    }
    expected += Math.min(p, 1);
  }
  const kept = new IndexBuffer(initialCapacity(expected, n));
  for (let i = 0; i < n; i++) {
    const u = rng.nextFloat64();
    if (u <= (probabilities[i] as number)) kept.push(i);
  }
  return kept.toArray();
}

/** A capacity that holds a Poisson sample of this expected size with overwhelming probability. */
export function initialCapacity(expected: number, rows: number): number {
  const safe = expected > 0 && expected < Number.POSITIVE_INFINITY ? expected : 0;
  const guess = Math.ceil(safe + 8 * Math.sqrt(safe) + 64);
  return Math.max(1, Math.min(rows, guess));
}

/** A growable list of row indices (doubling Int32Array). */
export class IndexBuffer {
  /** The storage; entries past `length` are unused. */
  values: Int32Array;
  /** Number of stored indices. */
  length = 0;

  /** @param capacity - initial capacity (at least 1) */
  constructor(capacity: number) {
    this.values = new Int32Array(Math.max(1, capacity));
  }

  /** Appends one index, doubling the storage when full. */
  push(index: number): void {
    if (this.length === this.values.length) {
      const grown = new Int32Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = index;
  }

  /** The stored indices as an exactly-sized array (a copy). */
  toArray(): Int32Array {
    return this.values.slice(0, this.length);
  }
}
