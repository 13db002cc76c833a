import { requireArgument } from './errors.js';

/**
 * A seeded source of random numbers. Same seed, same stream, on every platform: the generator is
 * xoshiro128** on 32-bit integer arithmetic (no floating point until the final scaling), seeded
 * through SplitMix32. Normals use the polar method, whose only transcendental is `Math.log`.
 */
export interface Rng {
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniform double in [0, 1) with 53 random bits. */
  nextFloat64(): number;
  /** A uniform integer in [0, bound), without modulo bias. `bound` must be in [1, 2^32]. */
  nextInt(bound: number): number;
  /** A standard normal deviate. */
  normal(): number;
  /**
   * A new generator whose stream is independent of this one's; this one advances. Use it to give
   * each replication, worker or stage its own stream.
   */
  split(): Rng;
}

/** One step of SplitMix32 (used only to expand seeds into state). */
function splitMix32(state: { value: number }): number {
  state.value = (state.value + 0x9e3779b9) | 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over a string's UTF-16 code units: a stable 32-bit hash for string seeds. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

class Xoshiro128StarStar implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal = Number.NaN;

  constructor(s0: number, s1: number, s2: number, s3: number) {
    // The all-zero state is the one state xoshiro cannot leave.
    if ((s0 | s1 | s2 | s3) === 0) s0 = 0x9e3779b9;
    this.s0 = s0 | 0;
    this.s1 = s1 | 0;
    this.s2 = s2 | 0;
    this.s3 = s3 | 0;
  }

  nextUint32(): number {
    const s1 = this.s1;
    const product = Math.imul(s1, 5);
    const rotated = (product << 7) | (product >>> 25);
    const result = Math.imul(rotated, 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  nextFloat64(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  nextInt(bound: number): number {
    if (bound <= 1) return 0;
    // Lemire-style rejection on 32 bits: exact and unbiased.
    const limit = 4294967296 - (4294967296 % bound);
    let value = this.nextUint32();
    while (value >= limit) value = this.nextUint32();
    return value % bound;
  }

  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const spare = this.spareNormal;
      this.spareNormal = Number.NaN;
      return spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.nextFloat64() - 1;
      v = 2 * this.nextFloat64() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * factor;
    return u * factor;
  }

  split(): Rng {
    const state = { value: this.nextUint32() ^ 0x5851f42d };
    const mix = this.nextUint32();
    return new Xoshiro128StarStar(
      splitMix32(state) ^ mix,
      splitMix32(state),
      splitMix32(state) ^ this.nextUint32(),
      splitMix32(state),
    );
  }
}

/**
 * Creates a seeded generator. Integer seeds up to 2^53 and strings are accepted; the same seed gives
 * the same stream on every platform.
 *
 * @param seed - a safe integer or a string
 * @returns a generator
 * @example
 * ```ts
 * const rng = createRng(1);
 * const u = rng.nextFloat64(); // the same value everywhere
 * const child = rng.split();   // an independent stream, e.g. for one replication
 * ```
 */
export function createRng(seed: number | string): Rng {
  let high: number;
  let low: number;
  if (typeof seed === 'string') {
    high = hashString(seed);
    low = hashString(`${seed}\u0000rarefy`);
  } else {
    requireArgument(
      Number.isSafeInteger(seed),
      'seed',
      `${seed} is not a safe integer`,
      'pass an integer seed (for example 1) or a string',
    );
    const magnitude = Math.abs(seed);
    low = magnitude % 4294967296;
    high = Math.floor(magnitude / 4294967296) ^ (seed < 0 ? 0x80000000 : 0);
  }
  const state = { value: (low ^ Math.imul(high, 0x27d4eb2d)) | 0 };
  const s0 = splitMix32(state);
  const s1 = splitMix32(state) ^ high;
  const s2 = splitMix32(state);
  const s3 = splitMix32(state);
  return new Xoshiro128StarStar(s0, s1, s2, s3);
}

/** Fisher-Yates shuffle of `array` in place, driven by `rng`. */
export function shuffleInPlace<T extends { length: number; [index: number]: unknown }>(
  array: T,
  rng: Rng,
): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const swap = array[i];
    array[i] = array[j];
    array[j] = swap;
  }
  return array;
}

/**
 * k distinct integers drawn uniformly from [0, n), in ascending order. Uses Floyd's algorithm for
 * small k (memory O(k)) and a partial shuffle otherwise.
 *
 * @param n - population size
 * @param k - how many to draw, 0 <= k <= n
 * @param rng - the generator
 */
export function sampleWithoutReplacement(n: number, k: number, rng: Rng): Int32Array {
  requireArgument(
    Number.isInteger(n) && n >= 0 && n < 2 ** 31,
    'n',
    `${n} is not a population size`,
    'pass an integer in [0, 2^31)',
  );
  requireArgument(
    Number.isInteger(k) && k >= 0 && k <= n,
    'k',
    `cannot draw ${k} of ${n}`,
    'ask for at most n items',
  );
  let result: Int32Array;
  if (k * 8 < n) {
    const chosen = new Set<number>();
    for (let j = n - k; j < n; j++) {
      const t = rng.nextInt(j + 1);
      chosen.add(chosen.has(t) ? j : t);
    }
    result = Int32Array.from(chosen);
  } else {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + rng.nextInt(n - i);
      const swap = all[i] as number;
      all[i] = all[j] as number;
      all[j] = swap;
    }
    result = all.slice(0, k);
  }
  return result.sort();
}
