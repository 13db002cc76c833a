import { describe, expect, it } from 'vitest';
import { isRarefyError } from './errors.js';
import { type DesignMatrix, designMatrix, selectRows } from './matrix.js';
import { drawBalancedPilot, PilotReservoir } from './pilot.js';
import { createRng } from './rng.js';

function caught(fn: () => unknown, code: string): Error {
  try {
    fn();
  } catch (error) {
    expect(isRarefyError(error, code as never)).toBe(true);
    return error as Error;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/** Labels with the given class pattern and a one-feature matrix whose value is the row index. */
function data(labels: number[]): { x: DesignMatrix; y: Uint8Array } {
  const y = Uint8Array.from(labels);
  const x = designMatrix(
    Float64Array.from(labels, (_, i) => i),
    ['row'],
  );
  return { x, y };
}

// 10 negatives and 4 positives, interleaved.
const labels14 = [0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0];

describe('drawBalancedPilot', () => {
  it('draws pilotSize / 2 per class, negatives first, each ascending, with the rates and shift', () => {
    const y = Uint8Array.from(labels14);
    const draw = drawBalancedPilot(y, 6, createRng(1));
    expect(draw.negatives).toBe(3);
    expect(draw.positives).toBe(3);
    expect(draw.populationNegatives).toBe(10);
    expect(draw.populationPositives).toBe(4);
    expect(draw.rows.length).toBe(6);
    const negatives = [...draw.rows.subarray(0, 3)];
    const positives = [...draw.rows.subarray(3)];
    for (const i of negatives) expect(y[i]).toBe(0);
    for (const i of positives) expect(y[i]).toBe(1);
    expect(negatives).toEqual([...negatives].sort((a, b) => a - b));
    expect(positives).toEqual([...positives].sort((a, b) => a - b));
    expect(new Set(draw.rows).size).toBe(6);
    // r0 = 3/10, r1 = 3/4: log(r1/r0) = log(2.5).
    expect(draw.negativeRate).toBeCloseTo(0.3, 15);
    expect(draw.positiveRate).toBeCloseTo(0.75, 15);
    expect(draw.logOddsShift).toBeCloseTo(Math.log(2.5), 14);
    expect(draw.wholeClass).toBeNull();
    expect(drawBalancedPilot(y, 6, createRng(1))).toEqual(draw);
  });

  it('gives the extra row of an odd size to the positives', () => {
    const draw = drawBalancedPilot(Uint8Array.from(labels14), 7, createRng(2));
    expect(draw.negatives).toBe(3);
    expect(draw.positives).toBe(4);
  });

  it('names the short class, its size, what was asked and the fix; takeWholeClass takes it whole', () => {
    const y = Uint8Array.from(labels14);
    const error = caught(() => drawBalancedPilot(y, 10, createRng(1)), 'RAREFY_PILOT_TOO_LARGE');
    expect(error.message).toContain('asks for 5 positives, but the data has only 4 positives');
    expect(error.message).toContain('--pilot-size 8 or less');
    expect(error.message).toContain('takeWholeClass');
    const draw = drawBalancedPilot(y, 10, createRng(1), { takeWholeClass: true });
    expect(draw.wholeClass).toBe('positives');
    expect(draw.positives).toBe(4);
    expect(draw.negatives).toBe(5);
    expect([...draw.rows.subarray(5)]).toEqual([1, 5, 8, 12]);
    expect(draw.positiveRate).toBe(1);
    expect(draw.logOddsShift).toBeCloseTo(Math.log(1 / 0.5), 14);
    // Both classes short: the whole data set is no pilot.
    expect(
      caught(() => drawBalancedPilot(y, 24, createRng(1), { takeWholeClass: true }), 'RAREFY_PILOT_TOO_LARGE')
        .message,
    ).toContain('only 10 negatives and 4 positives');
  });

  it('rejects missing classes, bad labels and bad sizes', () => {
    caught(() => drawBalancedPilot(new Uint8Array(5), 2, createRng(1)), 'RAREFY_NO_POSITIVES');
    caught(() => drawBalancedPilot(new Uint8Array(5).fill(1), 2, createRng(1)), 'RAREFY_NO_NEGATIVES');
    caught(() => drawBalancedPilot(Uint8Array.from([0, 1, 2]), 2, createRng(1)), 'RAREFY_INVALID_LABEL');
    caught(() => drawBalancedPilot(Uint8Array.from(labels14), 1, createRng(1)), 'RAREFY_INVALID_ARGUMENT');
    caught(() => drawBalancedPilot(Uint8Array.from(labels14), 4.5, createRng(1)), 'RAREFY_INVALID_ARGUMENT');
  });

  it('gives every row of a class the same inclusion probability (seeded, 4 binomial sd)', () => {
    const y = Uint8Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 1 : 0)); // N1 = 10, N0 = 20
    const reps = 10_000;
    const counts = new Array(30).fill(0);
    const rng = createRng(21);
    for (let r = 0; r < reps; r++) for (const i of drawBalancedPilot(y, 8, rng).rows) counts[i]++;
    counts.forEach((count, i) => {
      const p = y[i] === 1 ? 4 / 10 : 4 / 20;
      expect(Math.abs(count - reps * p)).toBeLessThanOrEqual(4 * Math.sqrt(reps * p * (1 - p)));
    });
  });
});

describe('PilotReservoir', () => {
  function runReservoir(
    x: DesignMatrix,
    y: Uint8Array,
    pilotSize: number,
    seed: number,
    batchSizes: number[],
    options = {},
  ) {
    const reservoir = new PilotReservoir(pilotSize, x.columns, createRng(seed), options);
    let start = 0;
    let b = 0;
    while (start < x.rows) {
      const size = Math.min(batchSizes[b++ % batchSizes.length]!, x.rows - start);
      const batch = selectRows(
        x,
        Int32Array.from({ length: size }, (_, k) => start + k),
      );
      reservoir.addBatch(batch, y.subarray(start, start + size), start);
      start += size;
    }
    return reservoir.result();
  }

  it('returns the pilot rows, their values and labels, negatives first, each ascending', () => {
    const { x, y } = data(labels14);
    const { draw, x: xPilot, y: yPilot } = runReservoir(x, y, 6, 4, [5]);
    expect(draw.negatives).toBe(3);
    expect(draw.positives).toBe(3);
    expect(draw.populationNegatives).toBe(10);
    expect(draw.populationPositives).toBe(4);
    expect(draw.logOddsShift).toBeCloseTo(Math.log(0.75 / 0.3), 14);
    expect([...yPilot]).toEqual([0, 0, 0, 1, 1, 1]);
    expect(xPilot.names).toEqual(x.names);
    expect(xPilot.intercept).toBe(true);
    expect(xPilot.data).toEqual(selectRows(x, draw.rows).data);
    const negatives = [...draw.rows.subarray(0, 3)];
    expect(negatives).toEqual([...negatives].sort((a, b) => a - b));
    for (let k = 0; k < 6; k++) expect(y[draw.rows[k]!]).toBe(yPilot[k]);
  });

  it('chooses the same rows however the stream is batched (same seed)', () => {
    const rng = createRng(8);
    const labels = Array.from({ length: 2000 }, () => (rng.nextFloat64() < 0.05 ? 1 : 0));
    const { x, y } = data(labels);
    const whole = runReservoir(x, y, 40, 99, [2000]);
    for (const sizes of [[1], [7, 13, 1, 256], [999]]) {
      const batched = runReservoir(x, y, 40, 99, sizes);
      expect(batched.draw).toEqual(whole.draw);
      expect(batched.x.data).toEqual(whole.x.data);
    }
    expect(runReservoir(x, y, 40, 100, [2000]).draw.rows).not.toEqual(whole.draw.rows);
  });

  it('gives every row the same inclusion probability n_k / N_k (seeded MC, 4 binomial sd)', () => {
    // N0 = 200 negatives then positives interleaved at the end; 5 of each class kept.
    const labels = Array.from({ length: 212 }, (_, i) => (i >= 100 && i % 18 === 0 ? 1 : 0));
    const { x, y } = data(labels);
    const n1 = labels.filter((v) => v === 1).length;
    const n0 = labels.length - n1;
    const reps = 8000;
    const counts = new Array(labels.length).fill(0);
    const rng = createRng(5);
    for (let r = 0; r < reps; r++) {
      const reservoir = new PilotReservoir(10, x.columns, rng.split());
      reservoir.addBatch(x, y, 0);
      for (const i of reservoir.result().draw.rows) counts[i]++;
    }
    counts.forEach((count, i) => {
      const p = labels[i] === 1 ? Math.min(1, 5 / n1) : 5 / n0;
      expect(Math.abs(count - reps * p)).toBeLessThanOrEqual(4 * Math.sqrt(reps * p * (1 - p)) + 1e-9);
    });
    // A trend would show as early and late negatives differing: the halves' totals have sd
    // sqrt(total / 4) * 2 under uniformity (a multinomial split of the 5 * reps inclusions).
    let early = 0;
    let late = 0;
    let seen = 0;
    labels.forEach((label, i) => {
      if (label !== 0) return;
      if (seen++ < n0 / 2) early += counts[i];
      else late += counts[i];
    });
    expect(Math.abs(early - late)).toBeLessThanOrEqual(4 * Math.sqrt(5 * reps));
  });

  it('takes a short class whole only when asked, and checks batches', () => {
    const { x, y } = data(labels14);
    expect(() => runReservoir(x, y, 10, 1, [3])).toThrow(/asks for 5 positives/);
    const whole = runReservoir(x, y, 10, 1, [3], { takeWholeClass: true });
    expect(whole.draw.wholeClass).toBe('positives');
    expect([...whole.draw.rows.subarray(5)]).toEqual([1, 5, 8, 12]);
    const reservoir = new PilotReservoir(4, x.columns, createRng(1));
    caught(() => reservoir.result(), 'RAREFY_NO_POSITIVES');
    caught(() => reservoir.addBatch(x, y.subarray(1), 0), 'RAREFY_DIMENSION_MISMATCH');
    reservoir.addBatch(x, y, 0);
    caught(() => reservoir.addBatch(x, y, 5), 'RAREFY_INVALID_ARGUMENT');
    const bad = Uint8Array.from(labels14);
    bad[3] = 7;
    const fresh = new PilotReservoir(4, x.columns, createRng(1));
    expect(caught(() => fresh.addBatch(x, bad, 100), 'RAREFY_INVALID_LABEL').message).toContain('row 104');
  });
});
