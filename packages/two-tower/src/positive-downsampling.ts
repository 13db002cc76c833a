import { createRng, RarefyInputError } from '@rarefy/sampling-core';
import { type InteractionData, itemCounts, selectInteractions } from './interactions.js';

/** Default subsampling constant a of ALGORITHMS.md B.1 (word2vec's 1e-3). */
export const DEFAULT_DOWNSAMPLING_A = 1e-3;

function checkA(a: number): void {
  if (!(Number.isFinite(a) && a > 0)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `a: ${a} is not a finite number > 0`,
      'pass the subsampling constant a > 0 (default 1e-3; smaller a suppresses popular items harder)',
      { input: 'a', value: a },
    );
  }
}

/**
 * Per-item keep probabilities of word2vec-style positive downsampling (ALGORITHMS.md B.1): with
 * z = the item's share of all interactions (count / total), keep probability
 * min(1, (sqrt(z / a) + 1) a / z). Items with z <= phi^2 a (about 2.618 a, phi the golden ratio) are
 * always kept; very popular ones survive with probability about sqrt(a / z). Items with count 0 get 1.
 *
 * @param itemCounts - interactions per item (for example `itemCounts(data)`), finite and >= 0
 * @param a - the subsampling constant, > 0 (default 1e-3)
 * @returns keep probability per item, in (0, 1]
 * @throws RarefyInputError for a non-positive `a` or a negative or non-finite count
 * @example
 * ```ts
 * positiveKeepProbabilities(new Float64Array([400, 100, 16, 4, 1, 0]), 1 / 521);
 * // [21/400, 11/100, 5/16, 3/4, 1, 1]
 * ```
 */
export function positiveKeepProbabilities(
  itemCounts: Float64Array,
  a = DEFAULT_DOWNSAMPLING_A,
): Float64Array {
  checkA(a);
  const n = itemCounts.length;
  let total = 0;
  for (let j = 0; j < n; j++) {
    const count = itemCounts[j] as number;
    if (!(Number.isFinite(count) && count >= 0)) {
      throw new RarefyInputError(
        Number.isFinite(count) ? 'RAREFY_INVALID_ARGUMENT' : 'RAREFY_NON_FINITE',
        `itemCounts: item ${j} has count ${count}, not a finite number >= 0`,
        'pass interaction counts per item (itemCounts(data))',
        { input: 'itemCounts', index: j, value: count },
      );
    }
    total += count;
  }
  const keep = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const count = itemCounts[j] as number;
    if (count === 0) {
      keep[j] = 1;
      continue;
    }
    const ratio = count / total / a; // z / a
    keep[j] = Math.min(1, (Math.sqrt(ratio) + 1) / ratio);
  }
  return keep;
}

/** Options of {@link downsamplePositives}. */
export interface DownsamplePositivesOptions {
  /** The subsampling constant a > 0 (default 1e-3). */
  a?: number;
  /** Seed of the keep/drop draws (same seed, same kept rows). */
  seed: number | string;
}

/** What {@link downsamplePositives} returns. */
export interface DownsampledPositives {
  /** The kept interactions (same id dictionaries as the input), in input order. */
  data: InteractionData;
  /** Row indices of the input that were kept, ascending. */
  kept: Int32Array;
  /** Keep probability per item (from the input's item counts), as {@link positiveKeepProbabilities}. */
  keepProbability: Float64Array;
}

/**
 * Positive downsampling of popular items (ALGORITHMS.md B.1): every interaction with item i is kept
 * independently with probability `positiveKeepProbabilities(itemCounts(data), a)[i]`. Exactly one
 * uniform is drawn per row, in row order, so the result depends only on the data and the seed.
 *
 * The in-batch share q_j of B.5 should then be taken from the downsampled data.
 *
 * @param data - the interactions
 * @param options - a (default 1e-3) and the seed
 * @returns the kept data, the kept row indices and the per-item keep probabilities
 * @throws RarefyInputError for a non-positive `a`; `createRng`'s error for a bad seed
 * @example
 * ```ts
 * const { data: train, kept } = downsamplePositives(data, { a: 1e-3, seed: 42 });
 * ```
 */
export function downsamplePositives(
  data: InteractionData,
  options: DownsamplePositivesOptions,
): DownsampledPositives {
  const a = options.a ?? DEFAULT_DOWNSAMPLING_A;
  checkA(a);
  const keepProbability = positiveKeepProbabilities(itemCounts(data), a);
  const rng = createRng(options.seed);
  const n = data.items.length;
  const rows = new Int32Array(n);
  let keptCount = 0;
  for (let row = 0; row < n; row++) {
    const u = rng.nextFloat64();
    if (u < (keepProbability[data.items[row] as number] as number)) rows[keptCount++] = row;
  }
  const kept = rows.slice(0, keptCount);
  return { data: selectInteractions(data, kept), kept, keepProbability };
}
