import { describe, expect, it } from 'vitest';
import {
  batchDesignMatrix,
  batchLinearPredictor,
  batchLogisticProbability,
  type ColumnBatch,
  columnsLinearPredictor,
} from './batch.js';
import { isRarefyError } from './errors.js';
import { linearPredictor, logisticProbabilities, sigmoid } from './matrix.js';
import { createRng } from './rng.js';

const batch: ColumnBatch = {
  schema: [
    { name: 'a', type: 'number' },
    { name: 'b', type: 'integer' },
    { name: 'id', type: 'string' },
  ],
  rows: 2,
  firstRow: 0,
  columns: {
    a: new Float64Array([0.5, -2]),
    b: new Int32Array([3, 1]),
    id: { kind: 'dictionary', codes: new Int32Array([0, 1]), values: ['u', 'v'] },
  },
};

describe('batchLinearPredictor', () => {
  it('accumulates b0 + b1 a + b2 b column by column (hand-computed)', () => {
    // Row 0: -1 + 2 * 0.5 + 0.25 * 3 = 0.75; row 1: -1 + 2 * -2 + 0.25 * 1 = -4.75.
    expect(Array.from(batchLinearPredictor(batch, ['a', 'b'], [-1, 2, 0.25]))).toEqual([0.75, -4.75]);
    expect(Array.from(batchLinearPredictor(batch, ['b'], [2], { intercept: false }))).toEqual([6, 2]);
  });

  it('agrees with the row-major design matrix', () => {
    const x = batchDesignMatrix(batch, ['b', 'a']);
    const beta = [0.3, -0.7, 1.1];
    const eta = batchLinearPredictor(batch, ['b', 'a'], beta);
    for (let i = 0; i < 2; i++) {
      const direct = beta.reduce((sum, b, j) => sum + b * (x.data[i * 3 + j] as number), 0);
      expect(eta[i]).toBeCloseTo(direct, 14);
    }
  });

  it('names a missing or string column, and a wrong coefficient count', () => {
    expect(() => batchLinearPredictor(batch, ['c'], [0, 1])).toThrow(/no column "c"/);
    expect(() => batchLinearPredictor(batch, ['id'], [0, 1])).toThrow(/"id" holds strings/);
    try {
      batchLinearPredictor(batch, ['a'], [1]);
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
    }
  });
});

/** A batch of `rows` rows with `p` columns of mixed storage (doubles, 0/1 bytes, integers). */
function mixedBatch(rows: number, p: number, seed: number): { batch: ColumnBatch; names: string[] } {
  const rng = createRng(seed);
  const names = Array.from({ length: p }, (_, j) => `x${j}`);
  const columns: ColumnBatch['columns'] = Object.fromEntries(
    names.map((name, j) => [
      name,
      j % 3 === 1
        ? Uint8Array.from({ length: rows }, () => rng.nextInt(2))
        : j % 3 === 2
          ? Int32Array.from({ length: rows }, () => rng.nextInt(7) - 3)
          : Float64Array.from({ length: rows }, () => 2 * rng.normal()),
    ]),
  );
  return {
    batch: { schema: names.map((name) => ({ name, type: 'number' as const })), rows, firstRow: 0, columns },
    names,
  };
}

describe('the blocked scoring kernels', () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13])(
    'equal the row-major dot product exactly, and sigmoid of it to 2 ulp, with %i columns',
    (p) => {
      // 10,001 rows: three blocks of 4,096 rows, the last one partial.
      const { batch: data, names } = mixedBatch(10_001, p, p + 1);
      const rng = createRng(100 + p);
      const beta = Float64Array.from({ length: p + 1 }, (_, j) => (j === 0 ? -3 : 0.7 * rng.normal()));
      const x = batchDesignMatrix(data, names);
      const expected = linearPredictor(x, beta);
      expect(Array.from(batchLinearPredictor(data, names, beta))).toEqual(Array.from(expected));
      const probability = batchLogisticProbability(data, names, beta);
      const fromMatrix = logisticProbabilities(x, beta);
      let worst = 0;
      for (let i = 0; i < data.rows; i++) {
        const reference = sigmoid(expected[i] as number);
        worst = Math.max(worst, Math.abs((probability[i] as number) - reference) / reference);
        expect(fromMatrix[i]).toBe(probability[i]);
      }
      expect(worst).toBeLessThanOrEqual(4.5e-16);
    },
  );

  it('maps extreme linear predictors to 0 and 1 without overflow, and fills a given array', () => {
    const column = Float64Array.of(-800, -708, -40, 0, 40, 800, Number.NaN);
    const data: ColumnBatch = { schema: [], rows: column.length, firstRow: 0, columns: { z: column } };
    const out = new Float64Array(column.length);
    const p = batchLogisticProbability(data, ['z'], [0, 1], { out });
    expect(p).toBe(out);
    expect(p[0]).toBe(0);
    expect((p[1] as number) / sigmoid(-708)).toBeCloseTo(1, 12);
    expect(p[2]).toBe(1 / (1 + Math.exp(40)));
    expect(p[3]).toBe(0.5);
    expect(p[4]).toBe(sigmoid(40));
    expect(p[5]).toBe(1);
    expect(Number.isNaN(p[6])).toBe(true);
    expect(() => batchLogisticProbability(data, ['z'], [0, 1], { out: new Float64Array(2) })).toThrow(
      /out: 2 values for 7 rows/,
    );
    expect(Array.from(columnsLinearPredictor([], [], 2, new Float64Array(3), false))).toEqual([2, 2, 2]);
  });
});
