import { describe, expect, it } from 'vitest';
import { isRarefyError, RarefyInputError } from './errors.js';
import { type DesignMatrix, designMatrix } from './matrix.js';
import { countClasses, requireBothClasses, validateDesignMatrix } from './validate.js';

/** Runs `fn`, expecting a RarefyError with `code`; returns it for further checks. */
function caught(fn: () => unknown, code: string): Error & { code: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (error) {
    expect(isRarefyError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    return error as Error & { code: string; details: Record<string, unknown> };
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('countClasses', () => {
  it('counts positives and negatives', () => {
    expect(countClasses(new Uint8Array([0, 1, 0, 0, 1]))).toEqual({ positives: 2, negatives: 3 });
    expect(countClasses([])).toEqual({ positives: 0, negatives: 0 });
  });

  it('names the first bad row, 1-based and 0-based, and its value', () => {
    const error = caught(() => countClasses([0, 1, 2, 3], 'y'), 'RAREFY_INVALID_LABEL');
    expect(error).toBeInstanceOf(RarefyInputError);
    expect(error.message).toContain('y: row 3 (index 2, 0-based) has label 2');
    expect(error.message).toContain('encode the label as 0/1');
    expect(error.details.row).toBe(2);
    caught(() => countClasses([0, Number.NaN]), 'RAREFY_INVALID_LABEL');
    caught(() => countClasses([0.5]), 'RAREFY_INVALID_LABEL');
  });
});

describe('requireBothClasses', () => {
  it('accepts both classes and rejects one missing', () => {
    expect(() => requireBothClasses({ positives: 1, negatives: 1 })).not.toThrow();
    const noPositives = caught(
      () => requireBothClasses({ positives: 0, negatives: 5 }),
      'RAREFY_NO_POSITIVES',
    );
    expect(noPositives.message).toMatch(/none of the 5 rows is a positive/);
    caught(() => requireBothClasses({ positives: 5, negatives: 0 }), 'RAREFY_NO_NEGATIVES');
  });
});

describe('validateDesignMatrix', () => {
  const good = designMatrix(new Float64Array([0.5, 1, -0.2, 3, 7, 1]), ['a', 'b']);

  it('accepts a finite matrix without constant columns', () => {
    expect(() => validateDesignMatrix(good)).not.toThrow();
  });

  it('rejects shapes that do not agree', () => {
    const short: DesignMatrix = { ...good, data: good.data.subarray(0, 8) };
    expect(caught(() => validateDesignMatrix(short), 'RAREFY_DIMENSION_MISMATCH').message).toMatch(
      /8 values but rows x columns = 3 x 3 = 9/,
    );
    const names: DesignMatrix = { ...good, names: ['(Intercept)', 'a'] };
    expect(caught(() => validateDesignMatrix(names), 'RAREFY_DIMENSION_MISMATCH').message).toMatch(
      /2 column names for 3 columns/,
    );
  });

  it('names the row, column and value of a non-finite entry', () => {
    const data = Float64Array.from(good.data);
    data[1 * 3 + 2] = Number.NaN;
    const error = caught(() => validateDesignMatrix({ ...good, data }), 'RAREFY_NON_FINITE');
    expect(error.message).toContain('row 2 (index 1), column "b" is NaN');
    data[1 * 3 + 2] = 1;
    data[2 * 3 + 1] = Number.NEGATIVE_INFINITY;
    expect(caught(() => validateDesignMatrix({ ...good, data }), 'RAREFY_NON_FINITE').message).toContain(
      'column "a" is -Infinity',
    );
  });

  it('rejects a constant feature column (not the intercept) and says to drop it', () => {
    const x = designMatrix(new Float64Array([1, 2, 1, 3, 1, 4]), ['constant', 'varying']);
    const error = caught(() => validateDesignMatrix(x), 'RAREFY_CONSTANT_COLUMN');
    expect(error.message).toContain('column "constant" is 1 in every one of the 3 rows');
    expect(error.message).toContain('intercept already models a constant');
    // Without an intercept a constant column is the model's constant: allowed.
    const noIntercept = designMatrix(new Float64Array([1, 2, 1, 3]), ['constant', 'varying'], {
      intercept: false,
    });
    expect(() => validateDesignMatrix(noIntercept)).not.toThrow();
    // A single row cannot tell constant from varying.
    expect(() => validateDesignMatrix(designMatrix(new Float64Array([1, 2]), ['a', 'b']))).not.toThrow();
  });
});
