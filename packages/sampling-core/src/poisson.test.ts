import { describe, expect, it } from 'vitest';
import { isRarefyError } from './errors.js';
import { IndexBuffer, poissonSample } from './poisson.js';
import { createRng } from './rng.js';

describe('poissonSample', () => {
  it('keeps row i iff u_i <= min(1, p_i), one uniform per row in row order', () => {
    const probabilities = new Float64Array([0.3, 1, 0, 2, 0.7, 0.5, 0.05, 1e-9]);
    const kept = poissonSample(probabilities, createRng(3));
    const replay = createRng(3);
    const expected: number[] = [];
    for (let i = 0; i < probabilities.length; i++) {
      if (replay.nextFloat64() <= Math.min(1, probabilities[i]!)) expected.push(i);
    }
    expect([...kept]).toEqual(expected);
    expect(kept).toContain(1);
    expect(kept).toContain(3);
    expect(kept).not.toContain(2);
  });

  it('matches the inclusion probabilities (20000 seeded reps, 4 binomial sd)', () => {
    const probabilities = new Float64Array([0.02, 0.1, 0.5, 0.9, 1]);
    const reps = 20_000;
    const counts = new Array(probabilities.length).fill(0);
    const rng = createRng(17);
    for (let r = 0; r < reps; r++) for (const i of poissonSample(probabilities, rng)) counts[i]++;
    probabilities.forEach((p, i) => {
      const sd = Math.sqrt(reps * p * (1 - p));
      expect(Math.abs(counts[i] - reps * p)).toBeLessThanOrEqual(4 * sd);
    });
  });

  it('rejects NaN and negative probabilities, naming the row', () => {
    for (const bad of [Number.NaN, -0.1]) {
      try {
        poissonSample(new Float64Array([0.5, bad]), createRng(1));
        expect.unreachable();
      } catch (error) {
        expect(isRarefyError(error, 'RAREFY_INVALID_ARGUMENT')).toBe(true);
        expect((error as Error).message).toContain('row 2 (index 1)');
      }
    }
  });

  it('grows its index buffer past the initial capacity', () => {
    const buffer = new IndexBuffer(1);
    for (let i = 0; i < 100; i++) buffer.push(i);
    expect([...buffer.toArray()]).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
