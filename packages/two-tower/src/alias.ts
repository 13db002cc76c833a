import { RarefyInputError, type Rng } from '@rarefy/sampling-core';

/** 2^-32: scales a uniform 32-bit integer into [0, 1). */
const UINT32_SCALE = 2.3283064365386963e-10;

/**
 * Checks that `values` are finite and >= 0 and returns their sum; throws a typed error naming the
 * first offending entry otherwise.
 */
function checkedNonNegativeSum(values: ArrayLike<number>, input: string, fix: string): number {
  let total = 0;
  for (let j = 0; j < values.length; j++) {
    const value = values[j] as number;
    if (!Number.isFinite(value)) {
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `${input}: entry ${j} is ${value}, not a finite number`,
        fix,
        {
          input,
          index: j,
          value,
        },
      );
    }
    if (value < 0) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${input}: entry ${j} is ${value}, below 0`,
        fix,
        {
          input,
          index: j,
          value,
        },
      );
    }
    total += value;
  }
  return total;
}

/**
 * Walker's alias method in Vose's numerically stable form: after an O(n) build, each draw from the
 * discrete distribution P(j) = w_j / sum(w) costs O(1) (one table column chosen uniformly, then one
 * biased coin between the column's own item and its alias). Used for the popularity negatives of
 * ALGORITHMS.md B.2.
 *
 * Each draw consumes exactly two 32-bit outputs of the generator's stream, so the same seed gives the
 * same draws however they are batched (`sample` one at a time or `sampleInto` a buffer).
 *
 * @example
 * ```ts
 * const sampler = new AliasSampler(popularityDistribution(counts));
 * const negatives = sampler.sampleInto(new Int32Array(1024), createRng(7));
 * ```
 */
export class AliasSampler {
  /** Number of outcomes (the catalogue size). */
  readonly size: number;
  /** Per column: the probability of keeping the column's own outcome (else its alias). */
  private readonly threshold: Float64Array;
  /** Per column: the outcome drawn when the coin does not keep the column's own outcome. */
  private readonly alias: Int32Array;
  /** The normalised input distribution, for `probability`. */
  private readonly normalised: Float64Array;

  /**
   * Builds the table in O(n).
   *
   * @param weights - one non-negative finite weight per outcome (they need not sum to 1); at least one
   *   must be positive. Outcomes of weight 0 are never drawn.
   * @throws RarefyInputError `RAREFY_NON_FINITE` for a NaN or infinite weight, `RAREFY_INVALID_ARGUMENT`
   *   for a negative weight, an empty array, all-zero weights or more than 2^31 - 1 outcomes
   */
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0 || n > 2147483647) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `weights: ${n} outcomes; an alias table needs between 1 and 2^31 - 1`,
        'pass one weight per catalogue item (at least one item)',
        { input: 'weights', size: n },
      );
    }
    const total = checkedNonNegativeSum(
      weights,
      'weights',
      'pass finite weights >= 0 (for example counts, or popularityDistribution(counts))',
    );
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `weights: the ${n} weights sum to ${total}, so there is nothing to draw from`,
        'give at least one outcome a positive weight (popularityDistribution smooths every count by 1)',
        { input: 'weights', total },
      );
    }
    this.size = n;
    this.normalised = new Float64Array(n);
    this.threshold = new Float64Array(n);
    this.alias = new Int32Array(n);
    // scaled[j] = n P(j): a column holds mass 1, so outcomes below 1 need topping up by an alias.
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let smallCount = 0;
    let largeCount = 0;
    for (let j = 0; j < n; j++) {
      const p = (weights[j] as number) / total;
      this.normalised[j] = p;
      const s = p * n;
      scaled[j] = s;
      if (s < 1) small[smallCount++] = j;
      else large[largeCount++] = j;
    }
    while (smallCount > 0 && largeCount > 0) {
      const less = small[--smallCount] as number;
      const more = large[--largeCount] as number;
      const lessMass = scaled[less] as number;
      this.threshold[less] = lessMass;
      this.alias[less] = more;
      // (more + less) - 1 loses less precision than more - (1 - less) (Vose 1991).
      const remaining = (scaled[more] as number) + lessMass - 1;
      scaled[more] = remaining;
      if (remaining < 1) small[smallCount++] = more;
      else large[largeCount++] = more;
    }
    // Whatever is left holds mass 1 up to rounding: it keeps its own column.
    while (largeCount > 0) {
      const j = large[--largeCount] as number;
      this.threshold[j] = 1;
      this.alias[j] = j;
    }
    while (smallCount > 0) {
      const j = small[--smallCount] as number;
      this.threshold[j] = 1;
      this.alias[j] = j;
    }
  }

  /**
   * One draw in O(1).
   *
   * @param rng - the generator (two 32-bit outputs are consumed)
   * @returns an outcome index in [0, size)
   */
  sample(rng: Rng): number {
    const column = rng.nextInt(this.size);
    return rng.nextUint32() * UINT32_SCALE < (this.threshold[column] as number)
      ? column
      : (this.alias[column] as number);
  }

  /**
   * Fills `out` with independent draws (the same draws as calling `sample` `out.length` times).
   *
   * @param out - the buffer to fill
   * @param rng - the generator
   * @returns `out`
   */
  sampleInto(out: Int32Array, rng: Rng): Int32Array {
    const n = this.size;
    const threshold = this.threshold;
    const alias = this.alias;
    for (let k = 0; k < out.length; k++) {
      const column = rng.nextInt(n);
      out[k] =
        rng.nextUint32() * UINT32_SCALE < (threshold[column] as number) ? column : (alias[column] as number);
    }
    return out;
  }

  /**
   * The probability of drawing outcome `j`: its weight over the total weight (0 outside [0, size)).
   *
   * @param j - an outcome index
   */
  probability(j: number): number {
    return Number.isInteger(j) && j >= 0 && j < this.size ? (this.normalised[j] as number) : 0;
  }

  /**
   * The distribution the table actually encodes, reconstructed from its columns: P(j) = (own mass of
   * column j + the alias mass every other column gives j) / size. Equals the normalised weights up to
   * rounding; useful to audit the table.
   *
   * @returns one probability per outcome
   */
  tableProbabilities(): Float64Array {
    const n = this.size;
    const mass = new Float64Array(n);
    for (let column = 0; column < n; column++) {
      const keep = this.threshold[column] as number;
      mass[column] = (mass[column] as number) + keep;
      const other = this.alias[column] as number;
      mass[other] = (mass[other] as number) + (1 - keep);
    }
    for (let j = 0; j < n; j++) mass[j] = (mass[j] as number) / n;
    return mass;
  }
}

/** Options of {@link popularityDistribution}. */
export interface PopularityDistributionOptions {
  /** The exponent b of P(j) ∝ (f_j + smoothing)^b: 0 is uniform, 1 plain popularity (default 0.75). */
  exponent?: number;
  /** Count added to every item so that none has probability 0 (default 1). */
  smoothing?: number;
}

/**
 * The popularity-negative distribution of ALGORITHMS.md B.2: P(j) ∝ (f_j + smoothing)^b with f_j item
 * j's number of positive interactions (for example `itemCounts(data)`, or
 * `itemCounts(data, { distinctUsers: true })`). b = 0.75 is word2vec's exponent; b = 0 gives the
 * uniform distribution, b = 1 plain (smoothed) popularity.
 *
 * @param counts - f_j per item, finite and >= 0
 * @param options - exponent b (default 0.75) and smoothing (default 1)
 * @returns P(j) per item, summing to 1; feed it to {@link AliasSampler} to draw
 * @throws RarefyInputError for an empty, negative or non-finite count, a negative or non-finite exponent
 *   or smoothing, or all-zero smoothed counts with b > 0
 * @example
 * ```ts
 * const p = popularityDistribution(new Float64Array([6, 3, 1, 0]), { exponent: 1 }); // [7, 4, 2, 1] / 14
 * ```
 */
export function popularityDistribution(
  counts: Float64Array,
  options: PopularityDistributionOptions = {},
): Float64Array {
  const exponent = options.exponent ?? 0.75;
  const smoothing = options.smoothing ?? 1;
  if (!(Number.isFinite(exponent) && exponent >= 0)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `exponent: ${exponent} is not a finite number >= 0`,
      'pass the exponent b >= 0 (0.75 is the default, 0 uniform, 1 plain popularity)',
      { input: 'exponent', value: exponent },
    );
  }
  if (!(Number.isFinite(smoothing) && smoothing >= 0)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `smoothing: ${smoothing} is not a finite number >= 0`,
      'pass a smoothing count >= 0 (default 1, so that no item has probability 0)',
      { input: 'smoothing', value: smoothing },
    );
  }
  const n = counts.length;
  if (n === 0) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      'counts: the array is empty',
      'pass one count per catalogue item (itemCounts(data))',
      { input: 'counts' },
    );
  }
  checkedNonNegativeSum(counts, 'counts', 'pass interaction counts: finite numbers >= 0, one per item');
  const out = new Float64Array(n);
  if (exponent === 0) {
    out.fill(1 / n);
    return out;
  }
  // Divide by the largest smoothed count first so that (f + s)^b cannot overflow for large b.
  let largest = 0;
  for (let j = 0; j < n; j++) largest = Math.max(largest, (counts[j] as number) + smoothing);
  if (!(largest > 0)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      'counts: every count is 0 and smoothing is 0, so every item would have probability 0',
      'pass smoothing > 0 (default 1) or counts with at least one positive entry',
      { input: 'counts' },
    );
  }
  let total = 0;
  for (let j = 0; j < n; j++) {
    const value = (((counts[j] as number) + smoothing) / largest) ** exponent;
    out[j] = value;
    total += value;
  }
  for (let j = 0; j < n; j++) out[j] = (out[j] as number) / total;
  return out;
}
