import { isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { popularityDistribution } from './alias.js';
import { StreamingFrequencyEstimator } from './frequency-estimator.js';
import type { InteractionData } from './interactions.js';
import {
  columnExpectedCounts,
  columnLogQ,
  ExactFrequency,
  expectedCounts,
  type ItemFrequency,
  logQ,
  type NegativeSource,
} from './logq.js';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isRarefyError(error) ? error.code : 'not a RarefyError';
  }
  return undefined;
}

function expectClose(actual: Float64Array, expected: readonly number[], digits = 12): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((value, j) => {
    if (Number.isFinite(value)) expect(actual[j]).toBeCloseTo(value, digits);
    else expect(actual[j]).toBe(value);
  });
}

// A catalogue of 4 items with positive counts [6, 3, 1, 0]: q = [0.6, 0.3, 0.1, 0].
const counts = new Float64Array([6, 3, 1, 0]);
const q = new ExactFrequency(counts, 8).shares;
// Plain popularity with smoothing 1: P = [7, 4, 2, 1] / 14.
const popularity = popularityDistribution(counts, { exponent: 1 });

const inBatch: NegativeSource = { kind: 'in-batch', batchSize: 8 };
const uniform: NegativeSource = { kind: 'uniform', count: 4, corpusSize: 4 };
const popular: NegativeSource = { kind: 'popularity', count: 10, distribution: popularity };
const crossBatch: NegativeSource = { kind: 'cross-batch', batches: 2, batchSize: 8 };

describe('ExactFrequency', () => {
  it('gives shares q_j and expected counts B q_j', () => {
    const frequency = new ExactFrequency(counts, 8);
    expectClose(frequency.shares, [0.6, 0.3, 0.1, 0]);
    expect(frequency.batchSize).toBe(8);
    expect(frequency.expectedCount(0)).toBeCloseTo(4.8, 12);
    expect(frequency.expectedCount(3)).toBe(0);
    expect(frequency.expectedCount(99)).toBe(0);
  });

  it('counts the items of interaction data', () => {
    const data: InteractionData = {
      userIds: ['a', 'b'],
      itemIds: ['x', 'y', 'z'],
      users: new Int32Array([0, 0, 1, 1]),
      items: new Int32Array([0, 1, 1, 1]),
    };
    const frequency = ExactFrequency.fromInteractions(data, 4);
    expectClose(frequency.shares, [0.25, 0.75, 0]);
    expect(frequency.expectedCount(1)).toBeCloseTo(3, 12);
  });

  it('refuses zero counts, bad counts and bad batch sizes', () => {
    expect(codeOf(() => new ExactFrequency(new Float64Array(3), 8))).toBe('RAREFY_NO_POSITIVES');
    expect(codeOf(() => new ExactFrequency(new Float64Array([1, -1]), 8))).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => new ExactFrequency(new Float64Array([1, Number.NaN]), 8))).toBe('RAREFY_NON_FINITE');
    expect(codeOf(() => new ExactFrequency(counts, 0))).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => new ExactFrequency(counts, 2.5))).toBe('RAREFY_INVALID_ARGUMENT');
  });
});

describe('expectedCounts and logQ (per catalogue item)', () => {
  it('puts each source on the expected-count scale', () => {
    expectClose(expectedCounts([inBatch], q), [4.8, 2.4, 0.8, 0]);
    expectClose(expectedCounts([uniform], q), [1, 1, 1, 1]);
    expectClose(expectedCounts([popular], q), [5, 20 / 7, 10 / 7, 5 / 7]);
    expectClose(expectedCounts([crossBatch], q), [9.6, 4.8, 1.6, 0]);
  });

  it('sums mixed sources', () => {
    expectClose(expectedCounts([inBatch, uniform], q), [5.8, 3.4, 1.8, 1]);
    expectClose(expectedCounts([inBatch, popular], q), [9.8, 2.4 + 20 / 7, 0.8 + 10 / 7, 5 / 7]);
    expectClose(expectedCounts([inBatch, uniform, popular, crossBatch], q), [
      4.8 + 1 + 5 + 9.6,
      2.4 + 1 + 20 / 7 + 4.8,
      0.8 + 1 + 10 / 7 + 1.6,
      1 + 5 / 7,
    ]);
    // Every expected column of a batch is accounted for: sum_j Q_j = B + B' + K + M B.
    const all = expectedCounts([inBatch, uniform, popular, crossBatch], q);
    expect(all.reduce((s, v) => s + v, 0)).toBeCloseTo(8 + 4 + 10 + 16, 12);
  });

  it('gives log Q, -Infinity for an item no source can draw', () => {
    expectClose(logQ([inBatch], q), [Math.log(4.8), Math.log(2.4), Math.log(0.8), Number.NEGATIVE_INFINITY]);
    expectClose(logQ([inBatch, uniform], q), [Math.log(5.8), Math.log(3.4), Math.log(1.8), 0]);
  });

  it('differs from another batch size by a constant for a single source (which cancels in the softmax)', () => {
    const small = logQ([{ kind: 'in-batch', batchSize: 8 }], q);
    const large = logQ([{ kind: 'in-batch', batchSize: 32 }], q);
    for (let j = 0; j < 3; j++)
      expect((large[j] as number) - (small[j] as number)).toBeCloseTo(Math.log(4), 12);
    // ...but not for a mixture: the uniform share is not scaled with B.
    const mixSmall = logQ([{ kind: 'in-batch', batchSize: 8 }, uniform], q);
    const mixLarge = logQ([{ kind: 'in-batch', batchSize: 32 }, uniform], q);
    const shift0 = (mixLarge[0] as number) - (mixSmall[0] as number);
    const shift2 = (mixLarge[2] as number) - (mixSmall[2] as number);
    expect(Math.abs(shift0 - shift2)).toBeGreaterThan(0.3);
  });

  it('refuses bad inputs with typed errors', () => {
    expect(codeOf(() => expectedCounts([], q))).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => expectedCounts([inBatch], new Float64Array([0.5, 0.6])))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(codeOf(() => expectedCounts([inBatch], new Float64Array([1, Number.NaN])))).toBe(
      'RAREFY_NON_FINITE',
    );
    expect(codeOf(() => expectedCounts([{ kind: 'in-batch', batchSize: 0 }], q))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(codeOf(() => expectedCounts([{ kind: 'uniform', count: 4, corpusSize: 5 }], q))).toBe(
      'RAREFY_DIMENSION_MISMATCH',
    );
    expect(
      codeOf(() =>
        expectedCounts([{ kind: 'popularity', count: 3, distribution: new Float64Array([1]) }], q),
      ),
    ).toBe('RAREFY_DIMENSION_MISMATCH');
    expect(
      codeOf(() =>
        expectedCounts([{ kind: 'popularity', count: 3, distribution: new Float64Array([1, 1, 1, 1]) }], q),
      ),
    ).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => expectedCounts([{ kind: 'cross-batch', batches: 0, batchSize: 8 }], q))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    const unknown = { kind: 'hard', count: 3 } as unknown as NegativeSource;
    expect(() => expectedCounts([unknown], q)).toThrow(/sources\[0\] \(hard\): unknown kind "hard"/);
    expect(() => expectedCounts([inBatch, { kind: 'uniform', count: 4, corpusSize: 5 }], q)).toThrow(
      /sources\[1\] \(uniform\)\.corpusSize: 5, but the catalogue has 4 items\. Fix:/,
    );
  });
});

describe('columnExpectedCounts and columnLogQ (per column of a batch)', () => {
  const frequency = new ExactFrequency(counts, 8);
  const columns = new Int32Array([0, 1, 2, 0, 3]);

  it('agrees with expectedCounts for exact frequencies', () => {
    for (const sources of [[inBatch, uniform], [inBatch, popular, crossBatch], [uniform], [popular]]) {
      const perItem = expectedCounts(sources, q);
      const perColumn = columnExpectedCounts(columns, sources, frequency);
      columns.forEach((item, k) => {
        expect(perColumn[k]).toBeCloseTo(perItem[item] as number, 12);
      });
      const logs = columnLogQ(columns, sources, frequency, new Float64Array(columns.length));
      columns.forEach((item, k) => {
        expect(logs[k]).toBeCloseTo(Math.log(perItem[item] as number), 12);
      });
    }
  });

  it('rescales the in-batch share to the batch size of the source (a smaller last batch)', () => {
    const out = columnExpectedCounts(new Int32Array([0, 1]), [{ kind: 'in-batch', batchSize: 4 }], frequency);
    expectClose(out, [2.4, 1.2]);
  });

  it('uses any ItemFrequency, the streaming estimator included, on its per-batch scale', () => {
    const estimator = new StreamingFrequencyEstimator({
      batchSize: 8,
      corpusSize: 4,
      alpha: 0.5,
      buckets: 64,
    });
    estimator.update(new Int32Array([0, 1]));
    estimator.update(new Int32Array([0, 2]));
    const out = columnExpectedCounts(new Int32Array([0, 1, 2]), [inBatch, uniform], estimator);
    for (let k = 0; k < 3; k++) expect(out[k]).toBeCloseTo(estimator.expectedCount(k) + 1, 12);
    const constant: ItemFrequency = { batchSize: 8, expectedCount: () => 0.5 };
    expectClose(columnExpectedCounts(new Int32Array([3]), [crossBatch], constant), [1]);
  });

  it('refuses a column no source can draw, an out-of-range popularity item and a short buffer', () => {
    expect(() => columnExpectedCounts(columns, [inBatch], frequency)).toThrow(
      /columnItems: column 4 holds item 3, whose Q is 0.*Fix:/,
    );
    expect(codeOf(() => columnExpectedCounts(new Int32Array([7]), [popular], frequency))).toBe(
      'RAREFY_DIMENSION_MISMATCH',
    );
    expect(codeOf(() => columnExpectedCounts(columns, [uniform], frequency, new Float64Array(2)))).toBe(
      'RAREFY_DIMENSION_MISMATCH',
    );
  });
});
