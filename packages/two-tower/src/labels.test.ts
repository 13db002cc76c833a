import { isRarefyError, RarefyInputError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { itemCounts } from './interactions.js';
import { buildInteractions, rejectImpressionNegatives } from './labels.js';

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

function codeOf(action: () => unknown): string | undefined {
  const error = caught(action);
  if (error === undefined) return undefined;
  return isRarefyError(error) ? error.code : 'not a RarefyError';
}

describe('rejectImpressionNegatives', () => {
  it('refuses label 0 in retrieval data with a typed error that explains B.8 and the fix', () => {
    const error = caught(() => rejectImpressionNegatives([1, 1, 0, 1, 0]));
    expect(error).toBeInstanceOf(RarefyInputError);
    const typed = error as RarefyInputError;
    expect(typed.code).toBe('RAREFY_INVALID_LABEL');
    expect(typed.input).toBe('labels');
    expect(typed.details).toMatchObject({ row: 2, value: 0, impressionRows: 2 });
    expect(typed.problem).toMatch(/2 of 5 rows are impressions without a click \(first: row 2, value 0\)/);
    expect(typed.problem).toMatch(/wreck recall/);
    expect(typed.problem).toMatch(/-55% absolute/);
    expect(typed.problem).toMatch(/ranking data/);
    expect(typed.fix).toMatch(/drop those rows/);
    expect(typed.fix).toMatch(/purpose: 'ranking'/);
    expect(typed.message).toContain('Fix:');
  });

  it('recognises the usual impression encodings, numbers and strings alike', () => {
    for (const value of [
      0,
      -1,
      '0',
      ' -1 ',
      'impression',
      'Impression',
      'VIEW',
      'shown',
      'no_click',
      'skip',
    ]) {
      expect(codeOf(() => rejectImpressionNegatives([1, value], { column: 'event' }))).toBe(
        'RAREFY_INVALID_LABEL',
      );
    }
    expect(() => rejectImpressionNegatives(['click', 'impression'], { column: 'event' })).toThrow(
      /^event: 1 of 2 rows .*value "impression"/,
    );
  });

  it('accepts engagements', () => {
    expect(() => rejectImpressionNegatives([1, 2, 5, 1])).not.toThrow();
    expect(() => rejectImpressionNegatives(['click', 'purchase', 'like', '1'])).not.toThrow();
    expect(() => rejectImpressionNegatives([])).not.toThrow();
  });

  it('skips the check for ranking data', () => {
    expect(() => rejectImpressionNegatives([1, 0, 'impression'], { purpose: 'ranking' })).not.toThrow();
    expect(codeOf(() => rejectImpressionNegatives([1, 0], { purpose: 'retrieval' }))).toBe(
      'RAREFY_INVALID_LABEL',
    );
  });

  it('lets the caller declare the vocabulary: positives win, unknown values are refused', () => {
    // In an e-commerce log 'view' is a page view, an engagement.
    expect(() =>
      rejectImpressionNegatives(['view', 'addtocart', 'transaction'], {
        positiveLabels: ['view', 'addtocart', 'transaction'],
      }),
    ).not.toThrow();
    expect(() => rejectImpressionNegatives(['click', 'bounce'], { positiveLabels: ['click'] })).toThrow(
      /row 1 is "bounce", neither a positive label \(click\) nor an impression label/,
    );
    // Custom impression labels replace the defaults: 0 is then an ordinary engagement value.
    expect(() => rejectImpressionNegatives([0, 2], { impressionLabels: ['seen'] })).not.toThrow();
    expect(codeOf(() => rejectImpressionNegatives([2, 'Seen'], { impressionLabels: ['seen'] }))).toBe(
      'RAREFY_INVALID_LABEL',
    );
  });

  it('refuses NaN, missing labels and a bad purpose', () => {
    expect(() => rejectImpressionNegatives([1, Number.NaN])).toThrow(/labels: row 1 is NaN/);
    expect(() => rejectImpressionNegatives(['click', '  '], { column: 'event' })).toThrow(
      /event: row 1 is empty/,
    );
    expect(() => rejectImpressionNegatives(['click', ''], { positiveLabels: ['click'] })).toThrow(
      /labels: row 1 is empty/,
    );
    expect(codeOf(() => rejectImpressionNegatives([1, undefined as unknown as number]))).toBe(
      'RAREFY_INVALID_LABEL',
    );
    expect(
      codeOf(() => rejectImpressionNegatives([1], { purpose: 'training' as unknown as 'ranking' })),
    ).toBe('RAREFY_INVALID_ARGUMENT');
  });
});

describe('buildInteractions', () => {
  it('dictionary-encodes users and items in first-seen order', () => {
    const data = buildInteractions({ users: ['u2', 'u1', 'u2', 7], items: ['b', 'a', 'a', 'c'] });
    expect(data.userIds).toEqual(['u2', 'u1', '7']);
    expect(data.itemIds).toEqual(['b', 'a', 'c']);
    expect(Array.from(data.users)).toEqual([0, 1, 0, 2]);
    expect(Array.from(data.items)).toEqual([0, 1, 1, 2]);
    expect(Array.from(data.sourceRows)).toEqual([0, 1, 2, 3]);
    expect(data.weights).toBeUndefined();
    expect(data.timestamps).toBeUndefined();
  });

  it('puts the catalogue first so items without interactions exist (cold start)', () => {
    const data = buildInteractions({ users: [1, 2, 1], items: ['z', 'x', 'new'] }, ['x', 'y', 'z']);
    expect(data.itemIds).toEqual(['x', 'y', 'z', 'new']);
    expect(Array.from(data.items)).toEqual([2, 0, 3]);
    expect(Array.from(itemCounts(data))).toEqual([1, 0, 1, 1]);
  });

  it('keeps explicit ratings at or above minRating and drops the rest, with their columns', () => {
    const data = buildInteractions({
      users: ['a', 'b', 'c', 'a', 'b'],
      items: ['m1', 'm2', 'm1', 'm3', 'm3'],
      ratings: [5, 2, 4, 3.5, 4],
      minRating: 4,
      weights: [1, 2, 3, 4, 5],
      timestamps: [10, 20, 30, 40, 50],
    });
    expect(Array.from(data.sourceRows)).toEqual([0, 2, 4]);
    expect(data.userIds).toEqual(['a', 'c', 'b']); // b's first kept row is row 4
    expect(data.itemIds).toEqual(['m1', 'm3']); // m2 was only rated 2
    expect(Array.from(data.users)).toEqual([0, 1, 2]);
    expect(Array.from(data.items)).toEqual([0, 0, 1]);
    expect(Array.from(data.weights ?? [])).toEqual([1, 3, 5]);
    expect(Array.from(data.timestamps ?? [])).toEqual([10, 30, 50]);
    expect(data.weights).toBeInstanceOf(Float32Array);
  });

  it('treats every rating as a positive without minRating (TFRS protocol)', () => {
    const data = buildInteractions({ users: [1, 2], items: [3, 4], ratings: [1, 5] });
    expect(data.items.length).toBe(2);
  });

  it('refuses impression labels for retrieval and keeps every row for ranking', () => {
    const columns = { users: ['a', 'a', 'b'], items: ['x', 'y', 'x'], labels: [1, 0, 1] };
    expect(codeOf(() => buildInteractions(columns))).toBe('RAREFY_INVALID_LABEL');
    expect(() => buildInteractions(columns)).toThrow(/-55% absolute.*purpose: 'ranking'/);
    expect(() => buildInteractions({ ...columns, labelColumn: 'event' })).toThrow(/^event: 1 of 3 rows/);
    const ranking = buildInteractions({ ...columns, purpose: 'ranking' });
    expect(Array.from(ranking.sourceRows)).toEqual([0, 1, 2]);
    const clicks = buildInteractions({ ...columns, labels: ['click', 'buy', 'click'] });
    expect(clicks.items.length).toBe(3);
    expect(
      buildInteractions({ ...columns, labels: ['view', 'view', 'buy'], positiveLabels: ['view', 'buy'] })
        .items.length,
    ).toBe(3);
  });

  it('refuses length mismatches, non-finite values and bad ids with typed errors', () => {
    expect(codeOf(() => buildInteractions({ users: [1, 2], items: [1] }))).toBe('RAREFY_DIMENSION_MISMATCH');
    expect(() => buildInteractions({ users: [1, 2], items: [1, 2], ratings: [4] })).toThrow(
      /^ratings: 1 rows, but users has 2\. Fix:/,
    );
    expect(codeOf(() => buildInteractions({ users: [1, 2], items: [1, 2], weights: [1, 2, 3] }))).toBe(
      'RAREFY_DIMENSION_MISMATCH',
    );
    expect(codeOf(() => buildInteractions({ users: [1, 2], items: [1, 2], ratings: [4, Number.NaN] }))).toBe(
      'RAREFY_NON_FINITE',
    );
    expect(
      codeOf(() => buildInteractions({ users: [1], items: [1], weights: [Number.POSITIVE_INFINITY] })),
    ).toBe('RAREFY_NON_FINITE');
    expect(codeOf(() => buildInteractions({ users: [1], items: [1], weights: [-1] }))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(codeOf(() => buildInteractions({ users: [1], items: [1], timestamps: [Number.NaN] }))).toBe(
      'RAREFY_NON_FINITE',
    );
    expect(codeOf(() => buildInteractions({ users: [Number.NaN], items: [1] }))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(codeOf(() => buildInteractions({ users: [1], items: [1], minRating: 3 }))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(
      codeOf(() => buildInteractions({ users: [1], items: [1], ratings: [5], minRating: Number.NaN })),
    ).toBe('RAREFY_INVALID_ARGUMENT');
    expect(codeOf(() => buildInteractions({ users: [1], items: [1] }, ['a', 'a']))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(codeOf(() => buildInteractions({ users: [], items: [] }))).toBe('RAREFY_NO_POSITIVES');
    expect(codeOf(() => buildInteractions({ users: [1], items: [1], ratings: [2], minRating: 4 }))).toBe(
      'RAREFY_NO_POSITIVES',
    );
    expect(
      codeOf(() => buildInteractions({ users: [1], items: [1], purpose: 'serving' as unknown as 'ranking' })),
    ).toBe('RAREFY_INVALID_ARGUMENT');
  });
});
