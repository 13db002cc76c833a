import { describe, expect, it } from 'vitest';
import { batchDesignMatrix, batchLinearPredictor, type ColumnBatch } from './batch.js';
import { isRarefyError } from './errors.js';

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
