import { describe, expect, it } from 'vitest';
import { FEATURE_HASH_FUNCTION, hashDictionary, hashFeature, murmur3x86_32 } from './hash.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('murmur3x86_32', () => {
  // Published MurmurHash3_x86_32 reference values (the same as Python's mmh3 with signed=False).
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\u0000\u0000\u0000\u0000', 0, 0x2362f9de],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['abc', 0, 0xb3dd93fa],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ])('hashes %j with seed %d to the reference value', (text, seed, expected) => {
    const bytes = utf8(text);
    expect(murmur3x86_32(bytes, bytes.length, seed)).toBe(expected);
  });
});

describe('hashFeature', () => {
  it('is the murmur3 hash of the UTF-8 bytes modulo the bucket count', () => {
    for (const value of ['campaign-17', 'é', '日本語', '🙂 emoji', '']) {
      const bytes = utf8(value);
      expect(hashFeature(value, 7, 1000)).toBe(murmur3x86_32(bytes, bytes.length, 7) % 1000);
    }
  });

  it('stays in [0, buckets) and spreads values over the buckets', () => {
    const counts = new Int32Array(16);
    for (let k = 0; k < 16_000; k++) {
      const bucket = hashFeature(`id-${k}`, 0, 16);
      counts[bucket] = (counts[bucket] as number) + 1;
    }
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(16_000);
    // 1000 expected per bucket, sd about 31: 850..1150 is about 5 sd either side.
    for (const count of counts) expect(count).toBeGreaterThan(850);
    for (const count of counts) expect(count).toBeLessThan(1150);
  });

  it('depends on the seed', () => {
    expect(hashFeature('x', 1, 1 << 30)).not.toBe(hashFeature('x', 2, 1 << 30));
  });

  it('rejects bad bucket counts and seeds with a typed error', () => {
    expect(() => hashFeature('x', 0, 0)).toThrow(
      expect.objectContaining({ code: 'RAREFY_INVALID_ARGUMENT' }),
    );
    expect(() => hashFeature('x', -1, 4)).toThrow(
      expect.objectContaining({ code: 'RAREFY_INVALID_ARGUMENT' }),
    );
  });

  it('hashes a dictionary once per value', () => {
    const hashing = { function: FEATURE_HASH_FUNCTION, seed: 3, buckets: 64, missing: '' } as const;
    expect(Array.from(hashDictionary(['a', 'b'], hashing))).toEqual([
      hashFeature('a', 3, 64),
      hashFeature('b', 3, 64),
    ]);
  });
});
