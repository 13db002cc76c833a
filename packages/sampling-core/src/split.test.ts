import { describe, expect, it } from 'vitest';
import { createRng } from './rng.js';
import { stratifiedSplit } from './split.js';

describe('stratifiedSplit', () => {
  const labels = Uint8Array.from({ length: 1000 }, (_, i) => (i % 20 === 0 ? 1 : 0)); // 50 positives

  it('keeps the class balance: round(share x class size) of each class to training, the rest held out', () => {
    const { train, test } = stratifiedSplit(labels, 0.7, createRng(1));
    const positives = (rows: Int32Array) => Array.from(rows).filter((i) => labels[i] === 1).length;
    expect(positives(train)).toBe(35);
    expect(train.length - positives(train)).toBe(665);
    expect(train.length + test.length).toBe(1000);
    expect(new Set([...train, ...test]).size).toBe(1000);
    for (let k = 1; k < train.length; k++) expect(train[k]! > train[k - 1]!).toBe(true);
  });

  it('is reproducible for a seed and differs between seeds', () => {
    const a = stratifiedSplit(labels, 0.7, createRng(5));
    expect(Array.from(stratifiedSplit(labels, 0.7, createRng(5)).train)).toEqual(Array.from(a.train));
    expect(Array.from(stratifiedSplit(labels, 0.7, createRng(6)).train)).not.toEqual(Array.from(a.train));
  });

  it('refuses a share outside (0, 1)', () => {
    expect(() => stratifiedSplit(labels, 1, createRng(1))).toThrow(/trainShare/);
  });
});
