import { clampKeepProbability, RarefyError } from '@rarefy/sampling-core';

/**
 * A histogram of positive scores on a logarithmic grid, with the exact count and the exact sum of
 * the scores in every bin, for solving the scale of a design out of core (ALGORITHMS.md A.7: "collect
 * a histogram of log s over the negatives in one pass").
 *
 * The bin of a score is read from the bits of its IEEE-754 double: the 11 exponent bits and the top
 * `bitsPerOctave` bits of the significand, so each octave [2^e, 2^(e+1)) is cut into 2^bitsPerOctave
 * bins of equal width and a bin's upper edge is at most 1 + 2^-bitsPerOctave times its lower edge. No
 * logarithm is computed, so the binning is the same on every platform. The bins live in a window that
 * grows to the observed range of scores, never past 2^(11 + bitsPerOctave) bins whatever the number of
 * rows: memory is independent of the data's size. Zero scores are counted apart (log 0 is not on the
 * grid).
 *
 * @internal Shared by the histogram and refine passes of `sampleStream`.
 */
export class ScoreHistogram {
  /** Bits of the significand used for the bin within an octave. */
  readonly bitsPerOctave: number;
  /** Rows with score exactly 0. */
  zeros = 0;
  /** Rows with a positive score. */
  positives = 0;
  /** The smallest positive score seen (Infinity before any). */
  minimum = Number.POSITIVE_INFINITY;
  /** The largest score seen (0 before any). */
  maximum = 0;
  /** Counts per bin of the window. */
  private counts: Float64Array;
  /** Sums of the scores per bin of the window. */
  private sums: Float64Array;
  /** The key of the window's first bin (-1 while empty). */
  private low = -1;
  private readonly shift: number;
  private readonly view = new DataView(new ArrayBuffer(8));

  /**
   * @param bitsPerOctave - bins per octave = 2^bitsPerOctave (1 to 20; 6 gives 64 bins per octave,
   *   each at most 1.6% wide)
   */
  constructor(bitsPerOctave = 6) {
    if (!(Number.isInteger(bitsPerOctave) && bitsPerOctave >= 1 && bitsPerOctave <= 20)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `bitsPerOctave: ${bitsPerOctave} is not an integer in 1..20`,
        'pass 6 (64 bins per octave) unless there is a reason for another resolution',
        { input: 'bitsPerOctave' },
      );
    }
    this.bitsPerOctave = bitsPerOctave;
    this.shift = 20 - bitsPerOctave;
    this.counts = new Float64Array(64);
    this.sums = new Float64Array(64);
  }

  /** The bin key of a positive finite score. */
  key(score: number): number {
    this.view.setFloat64(0, score);
    return this.view.getUint32(0) >>> this.shift;
  }

  /** The lower edge of the bin with key `key` (the smallest double in it). */
  lowerEdge(key: number): number {
    this.view.setUint32(0, key << this.shift);
    this.view.setUint32(4, 0);
    return this.view.getFloat64(0);
  }

  /** Adds one score (>= 0 and finite; the caller checks). */
  add(score: number): void {
    if (score === 0) {
      this.zeros++;
      return;
    }
    this.positives++;
    if (score < this.minimum) this.minimum = score;
    if (score > this.maximum) this.maximum = score;
    const index = this.slot(this.key(score));
    this.counts[index] = (this.counts[index] as number) + 1;
    this.sums[index] = (this.sums[index] as number) + score;
  }

  /**
   * Adds a whole bin at once, as an SQL `GROUP BY` over the same keys aggregates it: `count` scores,
   * their `sum`, smallest and largest. The same as adding the scores one by one, up to the order of
   * the summation. Keys are as {@link ScoreHistogram.key} computes them; zero scores go through
   * {@link ScoreHistogram.addZeros}.
   *
   * @param key - the bin's key (`key(score)` of every score in it)
   * @param count - scores in the bin (> 0)
   * @param sum - their sum
   * @param minimum - the smallest (> 0)
   * @param maximum - the largest
   * @throws RarefyError `RAREFY_INVALID_ARGUMENT` for a key that does not hold `minimum` and `maximum`
   */
  addBin(key: number, count: number, sum: number, minimum: number, maximum: number): void {
    if (count === 0) return;
    if (
      !(
        Number.isInteger(key) &&
        count > 0 &&
        minimum > 0 &&
        maximum >= minimum &&
        Number.isFinite(maximum)
      ) ||
      this.key(minimum) !== key ||
      this.key(maximum) !== key
    ) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `histogram bin ${key}: ${count} scores in [${minimum}, ${maximum}] do not belong to it`,
        'compute the bin key exactly as ScoreHistogram.key does (the exponent and top significand bits)',
        { input: 'bin', key, minimum, maximum },
      );
    }
    this.positives += count;
    if (minimum < this.minimum) this.minimum = minimum;
    if (maximum > this.maximum) this.maximum = maximum;
    const index = this.slot(key);
    this.counts[index] = (this.counts[index] as number) + count;
    this.sums[index] = (this.sums[index] as number) + sum;
  }

  /** Adds `count` scores that are exactly 0. */
  addZeros(count: number): void {
    this.zeros += count;
  }

  /** The index of `key` in the window, widening it when needed. */
  private slot(key: number): number {
    if (this.low < 0) this.low = Math.max(0, key - (this.counts.length >> 1));
    let index = key - this.low;
    if (index < 0 || index >= this.counts.length) {
      this.grow(key);
      index = key - this.low;
    }
    return index;
  }

  /** Widens the window (at least doubling it) so that it holds `key`. */
  private grow(key: number): void {
    const size = this.counts.length;
    const first = Math.min(this.low, key);
    const last = Math.max(this.low + size - 1, key);
    const needed = last - first + 1;
    let capacity = size * 2;
    while (capacity < needed) capacity *= 2;
    // Put the slack on the side the new key came from.
    const low = key < this.low ? Math.max(0, last + 1 - capacity) : first;
    const counts = new Float64Array(capacity);
    const sums = new Float64Array(capacity);
    counts.set(this.counts, this.low - low);
    sums.set(this.sums, this.low - low);
    this.counts = counts;
    this.sums = sums;
    this.low = low;
  }

  /** Bins from the first to the last non-empty one (the span of the observed range of log s). */
  get span(): number {
    if (this.positives === 0) return 0;
    return this.key(this.maximum) - this.key(this.minimum) + 1;
  }

  /** Non-empty bins. */
  get occupied(): number {
    let count = 0;
    for (let k = 0; k < this.counts.length; k++) if ((this.counts[k] as number) > 0) count++;
    return count;
  }

  /** Sum of every score added. */
  get total(): number {
    let sum = 0;
    for (let k = 0; k < this.sums.length; k++) sum += this.sums[k] as number;
    return sum;
  }

  /**
   * Adds sum over bins of count * clamp(multiplier * mean + base) to `into` (each bin's scores taken at
   * their mean, which is exact for every bin that lies wholly below the floor, between floor and cap,
   * or above the cap), and the derivative in `multiplier` (the sum of the scores of the bins between
   * floor and cap).
   */
  evaluate(multiplier: number, base: number, piMin: number, into: Evaluation): void {
    const counts = this.counts;
    const sums = this.sums;
    let value = 0;
    let floored = 0;
    let capped = 0;
    let slope = 0;
    for (let k = 0; k < counts.length; k++) {
      const count = counts[k] as number;
      if (count === 0) continue;
      const sum = sums[k] as number;
      const probability = (multiplier * sum) / count + base;
      if (probability <= piMin) {
        value += count * piMin;
        floored += count;
      } else if (probability >= 1) {
        value += count;
        capped += count;
      } else {
        value += multiplier * sum + base * count;
        slope += sum;
      }
    }
    const zeroProbability = clampKeepProbability(base, piMin);
    value += this.zeros * zeroProbability;
    if (zeroProbability === piMin) floored += this.zeros;
    into.value += value;
    into.slope += slope;
    into.atFloor += floored;
    into.atCap += capped;
  }
}

/** A value of the expected-size function and its slope. @internal */
export interface Evaluation {
  /** Expected kept rows. */
  value: number;
  /** d value / d multiplier. */
  slope: number;
  /** Rows at the floor (approximate for a histogram). */
  atFloor: number;
  /** Rows at the cap (approximate for a histogram). */
  atCap: number;
}

/** A zeroed {@link Evaluation}. @internal */
export function emptyEvaluation(): Evaluation {
  return { value: 0, slope: 0, atFloor: 0, atCap: 0 };
}

/**
 * Solves f(c) = target for a non-decreasing, piecewise-linear f on [low, high] with f(low) <= target
 * <= f(high): Newton steps inside a shrinking bracket, bisection (geometric while the bracket spans
 * more than a factor 4) whenever a step would leave it or the residual did not halve. Stops at a
 * relative residual of `relativeTolerance`, or when the bracket is down to adjacent doubles.
 *
 * @param evaluate - f and its slope at c
 * @param target - the value sought
 * @param low - a point where f <= target
 * @param high - a point where f >= target
 * @param initial - the first trial point, inside (low, high)
 * @param relativeTolerance - stop when |f - target| <= this * target
 * @returns the root and the number of evaluations
 * @internal
 */
export function solveIncreasing(
  evaluate: (c: number) => { value: number; slope: number },
  target: number,
  low: number,
  high: number,
  initial: number,
  relativeTolerance = 1e-12,
): { scale: number; evaluations: number } {
  const tolerance = relativeTolerance * target;
  let scale = initial > low && initial < high ? initial : low + (high - low) / 2;
  let previous = Number.POSITIVE_INFINITY;
  let best = scale;
  let bestResidual = Number.POSITIVE_INFINITY;
  for (let evaluations = 1; evaluations <= 400; evaluations++) {
    const { value, slope } = evaluate(scale);
    const residual = value - target;
    const absolute = Math.abs(residual);
    if (absolute < bestResidual) {
      bestResidual = absolute;
      best = scale;
    }
    if (absolute <= tolerance) return { scale, evaluations };
    if (residual < 0) low = scale;
    else high = scale;
    const newton = slope > 0 ? scale - residual / slope : Number.NaN;
    const useNewton = newton > low && newton < high && absolute <= 0.5 * previous;
    previous = absolute;
    if (useNewton) scale = newton;
    else if (low > 0 && high > 4 * low) scale = Math.sqrt(low * high);
    else if (low === 0) scale = high / 16;
    else scale = low + (high - low) / 2;
    if (!(scale > low && scale < high)) return { scale: best, evaluations };
  }
  return { scale: best, evaluations: 400 };
}
