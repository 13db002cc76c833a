import { describe, expect, it } from 'vitest';
import { DESIGN_NAMES, designScores, optAMatrix, optANormFactor } from './designs.js';
import { isRarefyError, RarefyFitError } from './errors.js';
import { type DesignMatrix, designMatrix } from './matrix.js';

function caught(fn: () => unknown, code: string): Error {
  try {
    fn();
  } catch (error) {
    expect(isRarefyError(error, code as never)).toBe(true);
    return error as Error;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

// Rows chosen so that sqrt(1 - p) and the norms are exact:
//   row 0: x = (1, 0, 0), ||x|| = 1, p = 0.75, sqrt(1 - p) = 0.5
//   row 1: x = (1, 2, 2), ||x|| = 3, p = 0.36, sqrt(1 - p) = 0.8
//   row 2: x = (1, 4, 8), ||x|| = 9, p = 0.19, sqrt(1 - p) = 0.9
const x = designMatrix(new Float64Array([0, 0, 2, 2, 4, 8]), ['a', 'b']);
const p = new Float64Array([0.75, 0.36, 0.19]);
// Agreement to 1e-14 absolute: a handful of roundings of numbers of order 1.
const digits = 14;

function expectScores(actual: Float64Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((value, i) => {
    expect(actual[i]).toBeCloseTo(value, digits);
  });
}

describe('designScores', () => {
  it('lists the five designs', () => {
    expect(DESIGN_NAMES).toEqual(['uniform', 'proportional', 'optL', 'optA', 'LCC']);
  });

  it('uniform: s = 1; proportional and LCC: s = p', () => {
    expectScores(designScores('uniform', p, null), [1, 1, 1]);
    expectScores(designScores('proportional', p, null), [0.75, 0.36, 0.19]);
    expectScores(designScores('LCC', p, null), [0.75, 0.36, 0.19]);
  });

  it('optL: s = p sqrt(1 - p) ||x|| with the intercept in the norm', () => {
    // 0.75 * 0.5 * 1 = 0.375; 0.36 * 0.8 * 3 = 0.864; 0.19 * 0.9 * 9 = 1.539
    expectScores(designScores('optL', p, x), [0.375, 0.864, 1.539]);
  });

  it('optA: s = p sqrt(1 - p) ||M^-1 x||', () => {
    // M^-1 = diag(2, 1, 0.5): M^-1 x = (2, 0, 0), (2, 2, 1), (2, 4, 4); norms 2, 3, 6.
    // 0.75 * 0.5 * 2 = 0.75; 0.36 * 0.8 * 3 = 0.864; 0.19 * 0.9 * 6 = 1.026
    const optAInverse = new Float64Array([2, 0, 0, 0, 1, 0, 0, 0, 0.5]);
    expectScores(designScores('optA', p, x, { optAInverse }), [0.75, 0.864, 1.026]);
  });

  it('writes into out when given', () => {
    const out = new Float64Array(3);
    expect(designScores('optL', p, x, {}, out)).toBe(out);
    expect(out[1]).toBeCloseTo(0.864, digits);
  });

  it('rejects what it cannot score', () => {
    caught(() => designScores('optL', p, null), 'RAREFY_DIMENSION_MISMATCH');
    caught(() => designScores('optA', p, x), 'RAREFY_DIMENSION_MISMATCH');
    caught(
      () => designScores('optA', p, x, { optAInverse: new Float64Array(4) }),
      'RAREFY_DIMENSION_MISMATCH',
    );
    caught(() => designScores('uniform', p, null, {}, new Float64Array(2)), 'RAREFY_DIMENSION_MISMATCH');
    const message = caught(
      () => designScores('proportional', new Float64Array([0.5, Number.NaN]), null),
      'RAREFY_INVALID_ARGUMENT',
    ).message;
    expect(message).toContain('pilotProbability: row 2 (index 1) is NaN');
    caught(() => designScores('proportional', new Float64Array([1.5]), null), 'RAREFY_INVALID_ARGUMENT');
    caught(() => designScores('nope' as never, p, null), 'RAREFY_INVALID_ARGUMENT');
  });
});

describe('optAMatrix', () => {
  it('averages p(1 - p) x x with inverse pilot-rate weights (hand-computed)', () => {
    // Rows (1, 0) negative and (1, 2) positive, p = 0.5 (p(1-p) = 0.25), r0 = 0.5, r1 = 0.25:
    // weights 2 and 4, total 6. M = (2 * 0.25 [1 0; 0 0] + 4 * 0.25 [1 2; 2 4]) / 6
    //   = [1.5 2; 2 4] / 6 = [1/4 1/3; 1/3 2/3]; det = 1/6 - 1/9 = 1/18;
    // M^-1 = 18 [2/3 -1/3; -1/3 1/4] = [12 -6; -6 4.5].
    const xPilot: DesignMatrix = designMatrix(new Float64Array([0, 2]), ['a']);
    const { matrix, inverse } = optAMatrix(xPilot, Uint8Array.from([0, 1]), new Float64Array([0.5, 0.5]), {
      negativeRate: 0.5,
      positiveRate: 0.25,
    });
    [0.25, 1 / 3, 1 / 3, 2 / 3].forEach((v, k) => {
      expect(matrix[k]).toBeCloseTo(v, 14);
    });
    // The inverse amplifies rounding by the condition number (about 50): 1e-12 absolute.
    [12, -6, -6, 4.5].forEach((v, k) => {
      expect(inverse[k]).toBeCloseTo(v, 12);
    });
  });

  it('throws RAREFY_RANK_DEFICIENT when M is singular', () => {
    const xPilot = designMatrix(new Float64Array([2, 2, 2]), ['a'], {});
    const error = caught(
      () =>
        optAMatrix(xPilot, Uint8Array.from([0, 1, 0]), new Float64Array([0.5, 0.5, 0.5]), {
          negativeRate: 0.1,
          positiveRate: 0.5,
        }),
      'RAREFY_RANK_DEFICIENT',
    );
    expect(error).toBeInstanceOf(RarefyFitError);
    expect(error.message).toContain('column "a"');
    caught(
      () =>
        optAMatrix(xPilot, Uint8Array.from([0, 1]), new Float64Array([0.5, 0.5, 0.5]), {
          negativeRate: 0.1,
          positiveRate: 0.5,
        }),
      'RAREFY_DIMENSION_MISMATCH',
    );
  });
});

describe('optANormFactor', () => {
  it('factors a badly conditioned M^-1 (condition 1e9) that a Cholesky of M^-2 (condition 1e18) cannot', () => {
    // M^-1 = V diag(1, 1e-4, 1e-9) V' for a rotation V: symmetric positive definite, condition 1e9.
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const v = [c, -s, 0, s, c, 0, 0, 0, 1];
    const eigen = [1, 1e-4, 1e-9];
    const inverse = new Float64Array(9);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 3; k++)
          inverse[i * 3 + j] =
            (inverse[i * 3 + j] as number) +
            (v[i * 3 + k] as number) * (eigen[k] as number) * (v[j * 3 + k] as number);
    const upper = optANormFactor(inverse, 3);
    for (const x of [
      [1, 0.5, -2],
      [1, -3, 0.25],
    ]) {
      let direct = 0;
      for (let i = 0; i < 3; i++) {
        let z = 0;
        for (let j = 0; j < 3; j++) z += (inverse[i * 3 + j] as number) * (x[j] as number);
        direct += z * z;
      }
      let viaFactor = 0;
      for (let r = 0; r < 3; r++) {
        let z = 0;
        for (let j = r; j < 3; j++) z += (upper[r * 3 + j] as number) * (x[j] as number);
        viaFactor += z * z;
      }
      // ||R x||^2 = x' M^-2 x to rounding of the QR (relative 1e-9 is far above it).
      expect(Math.abs(viaFactor - direct) / direct).toBeLessThan(1e-9);
    }
  });

  it('refuses a singular M^-1 with a typed error', () => {
    expect(() => optANormFactor(new Float64Array([1, 1, 1, 1]), 2)).toThrow(/singular/);
  });
});

describe('optAMatrix with features on very different scales', () => {
  it('inverts M when one column is on a 1e7 scale (an id next to the intercept is not collinear)', () => {
    const rows = 400;
    const data = new Float64Array(rows * 3);
    const y = new Uint8Array(rows);
    const p = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      data[i * 3] = 1;
      data[i * 3 + 1] = Math.sin(i) * 2;
      data[i * 3 + 2] = 1e7 + i * 25_000; // an id-like column: huge, but not constant
      y[i] = i % 2;
      p[i] = 0.02 + 0.001 * (i % 7);
    }
    const x = { data, rows, columns: 3, names: ['(Intercept)', 'a', 'id'], intercept: true };
    const { matrix, inverse } = optAMatrix(x, y, p, { negativeRate: 0.5, positiveRate: 0.5 });
    // M M^-1 = I to the accuracy the conditioning allows (M's condition number here is about 1e9).
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let product = 0;
        for (let k = 0; k < 3; k++) product += (matrix[i * 3 + k] as number) * (inverse[k * 3 + j] as number);
        expect(Math.abs(product - (i === j ? 1 : 0))).toBeLessThan(1e-5);
      }
    }
  });
});
