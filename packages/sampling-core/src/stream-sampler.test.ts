import { describe, expect, it } from 'vitest';
import type { DesignName } from './designs.js';
import { linearPredictor, sigmoid } from './matrix.js';
import { createRng } from './rng.js';
import { PoissonStreamSampler, sampleWithScores } from './sample.js';
import { solveScale } from './scale.js';
import { simulateRareEvents } from './simulate.js';

describe('PoissonStreamSampler', () => {
  const { x, y, trueCoefficients } = simulateRareEvents({ rows: 30_000, seed: 8 });
  const probability = linearPredictor(x, trueCoefficients).map(sigmoid);

  for (const design of ['proportional', 'LCC'] as DesignName[]) {
    it(`${design}: batches of any size give exactly sampleWithScores over all rows, totals included`, () => {
      const solution = solveScale(design, probability, y, { method: 'exact', sampleSize: 900, alpha: 0.1 });
      const whole = sampleWithScores(design, probability, y, solution, createRng(3));
      for (const sizes of [[30_000], [1, 999, 7777, 21_223]]) {
        const sampler = new PoissonStreamSampler(design, solution, createRng(3));
        const rows: number[] = [];
        const pi: number[] = [];
        const offset: number[] = [];
        const weight: number[] = [];
        let start = 0;
        for (const size of sizes) {
          const batch = sampler.next(
            probability.subarray(start, start + size),
            y.subarray(start, start + size),
          );
          for (let k = 0; k < batch.rows.length; k++) {
            rows.push(start + (batch.rows[k] as number));
            pi.push(batch.pi[k] as number);
            offset.push(batch.offset[k] as number);
            weight.push(batch.weight[k] as number);
          }
          start += size;
        }
        expect(rows).toEqual(Array.from(whole.rows));
        expect(pi).toEqual(Array.from(whole.pi));
        expect(offset).toEqual(Array.from(whole.offset));
        expect(weight).toEqual(Array.from(whole.weight));
        const totals = sampler.totals();
        expect(totals).toEqual({
          positives: whole.positives,
          negatives: whole.negatives,
          expectedNegatives: whole.expectedNegatives,
          expectedPositives: whole.expectedPositives,
          atCap: whole.atCap,
          atFloor: whole.atFloor,
        });
      }
    });
  }

  it('refuses a batch whose scores and labels differ in length', () => {
    const solution = solveScale('uniform', new Float64Array(y.length).fill(1), y, {
      method: 'rate',
      rate: 0.1,
    });
    const sampler = new PoissonStreamSampler('uniform', solution, createRng(1));
    expect(() => sampler.next(new Float64Array(3), new Uint8Array(4))).toThrow(/3 scores for 4 labels/);
  });
});
