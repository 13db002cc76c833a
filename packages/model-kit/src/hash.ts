import { requireArgument } from '@rarefy/sampling-core';

/** The name recorded in manifests for {@link hashFeature}'s function. */
export const FEATURE_HASH_FUNCTION = 'murmur3_x86_32-utf8' as const;

/**
 * How a categorical column is turned into embedding-table rows: the hash function, its seed and the
 * bucket count. Exports record it per column so that every runtime hashes the same way.
 */
export interface NeuralFeatureHashing {
  /** Always {@link FEATURE_HASH_FUNCTION}. */
  readonly function: typeof FEATURE_HASH_FUNCTION;
  /** The 32-bit seed of the hash (an unsigned integer). */
  readonly seed: number;
  /** The number of buckets (rows of the embedding table). */
  readonly buckets: number;
  /** What a missing value (dictionary code -1) hashes as: the empty string. */
  readonly missing: '';
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Rotates a 32-bit integer left by `bits`. */
function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/**
 * MurmurHash3 (x86, 32-bit) of `length` bytes of `bytes`, as an unsigned 32-bit integer.
 *
 * @param bytes - the bytes
 * @param length - how many of them to hash
 * @param seed - the seed (taken modulo 2^32)
 * @returns the hash in [0, 2^32)
 * @example
 * ```ts
 * murmur3x86_32(new TextEncoder().encode('abc'), 3, 0); // 0xb3dd93fa
 * ```
 */
export function murmur3x86_32(bytes: Uint8Array, length: number, seed: number): number {
  let hash = seed | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, C1);
    k = rotateLeft(k, 15);
    k = Math.imul(k, C2);
    hash ^= k;
    hash = rotateLeft(hash, 13);
    hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= (bytes[blocks + 2] as number) << 16;
    if (rest >= 2) k ^= (bytes[blocks + 1] as number) << 8;
    k ^= bytes[blocks] as number;
    k = Math.imul(k, C1);
    k = rotateLeft(k, 15);
    k = Math.imul(k, C2);
    hash ^= k;
  }
  hash ^= length;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * Hashes a categorical value to a bucket: the row of its embedding table.
 *
 * Precisely: encode `value` as UTF-8 (a lone surrogate becomes U+FFFD, as `TextEncoder` does), take
 * MurmurHash3_x86_32 of those bytes with `seed` (as an unsigned 32-bit integer), and return that
 * unsigned 32-bit hash modulo `buckets`. In Python this is
 * `mmh3.hash(value.encode('utf-8'), seed, signed=False) % buckets`; in Java, Guava's
 * `Hashing.murmur3_32_fixed(seed).hashString(value, UTF_8).asInt()` read as unsigned, modulo
 * `buckets`. A missing value is hashed as the empty string.
 *
 * @param value - the categorical value
 * @param seed - the hash seed, an integer in [0, 2^32)
 * @param buckets - the number of buckets, an integer in [1, 2^31)
 * @returns the bucket, an integer in [0, buckets)
 * @example
 * ```ts
 * const row = hashFeature('campaign-17', 0, 1 << 16); // the same on every platform
 * ```
 */
export function hashFeature(value: string, seed: number, buckets: number): number {
  requireArgument(
    Number.isInteger(buckets) && buckets >= 1 && buckets < 2 ** 31,
    'buckets',
    `${buckets} is not a bucket count`,
    'pass an integer in [1, 2^31)',
  );
  requireArgument(
    Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32,
    'seed',
    `${seed} is not an unsigned 32-bit hash seed`,
    'pass an integer in [0, 2^32)',
  );
  const needed = value.length * 3;
  if (scratch.length < needed) scratch = new Uint8Array(Math.max(needed, scratch.length * 2));
  const { written } = encoder.encodeInto(value, scratch);
  return murmur3x86_32(scratch, written, seed) % buckets;
}

/**
 * Buckets for every entry of a dictionary (one hash per distinct value, not per row).
 *
 * @param values - the dictionary's values
 * @param hashing - the column's hashing
 * @returns `buckets[k]` = the bucket of `values[k]`
 * @example
 * ```ts
 * const buckets = hashDictionary(['a', 'b'], { function: FEATURE_HASH_FUNCTION, seed: 0, buckets: 64, missing: '' });
 * ```
 */
export function hashDictionary(values: readonly string[], hashing: NeuralFeatureHashing): Int32Array {
  const buckets = new Int32Array(values.length);
  for (let k = 0; k < values.length; k++) {
    buckets[k] = hashFeature(values[k] as string, hashing.seed, hashing.buckets);
  }
  return buckets;
}
