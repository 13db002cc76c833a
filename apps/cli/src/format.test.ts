import { describe, expect, it } from 'vitest';
import { formatDuration, formatNumber, formatTable } from './format.js';

describe('formatNumber', () => {
  it('prints integers in full and other values with significant digits, no trailing zeros', () => {
    expect(formatNumber(1234567)).toBe('1234567');
    expect(formatNumber(0.012345678)).toBe('0.01235');
    expect(formatNumber(-0.5)).toBe('-0.5');
    expect(formatNumber(2.5, 2)).toBe('2.5');
    expect(formatNumber(123456.789)).toBe('1.235e5');
    expect(formatNumber(3.2e-7)).toBe('3.2e-7');
    expect(formatNumber(1e20)).toBe('1e20');
    expect(formatNumber(-0)).toBe('0');
    expect(formatNumber(Number.NaN)).toBe('NaN');
    expect(formatNumber(Number.NEGATIVE_INFINITY)).toBe('-Inf');
  });

  it('formats durations', () => {
    expect(formatDuration(0.85)).toBe('850 ms');
    expect(formatDuration(2.44)).toBe('2.4 s');
    expect(formatDuration(192)).toBe('3 min 12 s');
  });
});

describe('formatTable', () => {
  it('aligns text left and numbers right under a heading and a rule', () => {
    const table = formatTable([
      { design: 'optA', eMSE: 0.0123, negatives: 1136 },
      { design: 'uniform', eMSE: 0.0289, negatives: 1000 },
    ]);
    expect(table.split('\n')).toEqual([
      'design     eMSE  negatives',
      '-------  ------  ---------',
      'optA     0.0123       1136',
      'uniform  0.0289       1000',
    ]);
  });

  it('takes columns with headers, digits, formatters and an indent; prints missing values as -', () => {
    const table = formatTable(
      [
        { name: 'a', value: Math.PI },
        { name: 'bb', value: undefined },
      ],
      {
        columns: [
          { key: 'name', header: 'term' },
          { key: 'value', header: 'estimate', digits: 2 },
          { key: 'name', header: 'upper', format: (v) => String(v).toUpperCase() },
        ],
        indent: '  ',
      },
    );
    expect(table.split('\n')).toEqual([
      '  term  estimate  upper',
      '  ----  --------  -----',
      '  a          3.1  A',
      '  bb           -  BB',
    ]);
    expect(formatTable([])).toBe('');
  });
});
