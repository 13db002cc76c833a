import { describe, expect, it } from 'vitest';
import { DEFAULT_LABEL_MAPPING, inferColumnTypes, LabelMatcher, LIBSVM_LABEL_MAPPING } from './schema.js';

describe('LabelMatcher', () => {
  it('matches text exactly, numbers by value, and unwraps single quotes', () => {
    const matcher = new LabelMatcher(DEFAULT_LABEL_MAPPING);
    expect(matcher.match('1')).toBe(1);
    expect(matcher.match(' 0 ')).toBe(0);
    expect(matcher.match('1.0')).toBe(1);
    expect(matcher.match("'1'")).toBe(1);
    expect(matcher.match(1)).toBe(1);
    expect(matcher.match(true)).toBe(1);
    expect(matcher.match(false)).toBe(0);
    expect(matcher.match('-1')).toBe(-1);
    expect(matcher.match('yes')).toBe(-1);
    expect(matcher.match(null)).toBe(-1);
    const libsvm = new LabelMatcher(LIBSVM_LABEL_MAPPING);
    expect(['+1', '-1', '0', '1'].map((text) => libsvm.match(text))).toEqual([1, 0, 0, 1]);
    const words = new LabelMatcher({ positive: ['click'], negative: ['view', 'skip'] });
    expect(words.match('click')).toBe(1);
    expect(words.match('skip')).toBe(0);
    expect(words.describe()).toBe('positive "click"; negative "view", "skip"');
  });

  it('rejects a value in both classes and malformed mappings', () => {
    expect(() => new LabelMatcher({ positive: [1], negative: [1] })).toThrow(/both positive and negative/);
    expect(() => new LabelMatcher({ positive: ['1'], negative: [1] })).toThrow(/different classes/);
    expect(() => new LabelMatcher({ positive: [Number.NaN], negative: [] })).toThrow(/finite number/);
  });
});

describe('inferColumnTypes', () => {
  it('is number when every non-missing sampled value is numeric, string otherwise or when all are missing', () => {
    const sample = [
      ['1', 'a', '', 2, true],
      [' 2.5e3 ', '3', '', 'x', false],
      ['', '4', null, null, null],
    ];
    expect(inferColumnTypes(5, sample)).toEqual(['number', 'string', 'string', 'string', 'number']);
  });
});
