import { describe, expect, it } from 'vitest';
import { designMatrixColumns, formatCsv } from './csv-format.js';

describe('designMatrixColumns', () => {
  const x = {
    data: new Float64Array([1, 0.5, -2, 1, 3, 4]),
    rows: 2,
    columns: 3,
    names: ['(Intercept)', 'a', 'b'],
    intercept: true,
  };

  it('writes the label, then each feature by name, without the intercept', () => {
    expect(formatCsv(designMatrixColumns(x, new Uint8Array([0, 1])))).toBe('y,a,b\n0,0.5,-2\n1,3,4\n');
  });

  it('puts a row-id column first when asked, and names the label', () => {
    expect(formatCsv(designMatrixColumns(x, [1, 0], { rowId: 'id', label: 'clicked' }))).toBe(
      'id,clicked,a,b\n0,1,0.5,-2\n1,0,3,4\n',
    );
  });
});
