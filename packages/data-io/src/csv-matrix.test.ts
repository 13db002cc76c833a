import { INTERCEPT_NAME, isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { CsvMatrixParser, type ParseCsvMatrixOptions, parseCsvMatrix } from './csv-matrix.js';

const encoder = new TextEncoder();

function parse(text: string, options: Partial<ParseCsvMatrixOptions> = {}) {
  return parseCsvMatrix(encoder.encode(text), { label: 'y', source: 'data.csv', ...options });
}

/** Runs `action`, expecting a RarefyError of `code`; returns its message. */
function errorMessage(action: () => unknown, code: string): string {
  try {
    action();
  } catch (error) {
    if (!isRarefyError(error)) throw error;
    expect(error.code).toBe(code);
    return error.message;
  }
  throw new Error('expected an error');
}

describe('parseCsvMatrix', () => {
  it('reads features into a row-major matrix with the intercept first, and the labels', () => {
    const result = parse('a,y,b\n0.5,1,-2\n1e3,0,3.25\n');
    expect(result.rows).toBe(2);
    expect(result.positives).toBe(1);
    expect(result.featureNames).toEqual(['a', 'b']);
    expect(result.x.names).toEqual([INTERCEPT_NAME, 'a', 'b']);
    expect(result.x.columns).toBe(3);
    expect(Array.from(result.x.data)).toEqual([1, 0.5, -2, 1, 1000, 3.25]);
    expect(Array.from(result.y)).toEqual([1, 0]);
  });

  it('selects and orders features, drops the intercept on request, and reads TSV', () => {
    const result = parse('y\ta\tb\tc\n1\t1\t2\t3\n0\t4\t5\t6\n', {
      delimiter: '\t',
      features: ['c', 'a'],
      intercept: false,
    });
    expect(result.x.names).toEqual(['c', 'a']);
    expect(Array.from(result.x.data)).toEqual([3, 1, 6, 4]);
  });

  it('handles quotes, CRLF, a BOM, comments, blank lines and no final line break', () => {
    const result = parse('\ufeff# made by hand\r\ny,"a",b\r\n"1","2.5", 3 \r\n\r\n# note\r\n0,-0,"4"', {
      comment: '#',
    });
    expect(result.rows).toBe(2);
    expect(Array.from(result.y)).toEqual([1, 0]);
    expect(Array.from(result.x.data)).toEqual([1, 2.5, 3, 1, -0, 4]);
    expect(Object.is(result.x.data[4], -0)).toBe(true);
  });

  it('gives the same result whatever the chunking', () => {
    const lines = ['y,x1,"x 2"'];
    for (let i = 0; i < 300; i++) {
      lines.push(
        `${i % 3 === 0 ? 1 : 0},${(i * 0.37 - 40).toString()},${i % 7 === 0 ? `"${i}"` : `${i}.125e-3`}`,
      );
    }
    const bytes = encoder.encode(`${lines.join('\r\n')}\r\n`);
    const whole = parseCsvMatrix(bytes, { label: 'y' });
    for (const size of [1, 2, 3, 10, 64, 1000]) {
      const parser = new CsvMatrixParser({ label: 'y' });
      for (let start = 0; start < bytes.length; start += size)
        parser.push(bytes.subarray(start, start + size));
      const chunked = parser.finish();
      expect(Array.from(chunked.x.data)).toEqual(Array.from(whole.x.data));
      expect(Array.from(chunked.y)).toEqual(Array.from(whole.y));
    }
    expect(whole.rows).toBe(300);
    expect(whole.positives).toBe(100);
  });

  it('names file, line, column and value for a non-numeric or empty value', () => {
    const text = errorMessage(() => parse('y,a,b\n1,2,3\n0,4,abc\n'), 'RAREFY_PARSE_ERROR');
    expect(text).toContain('data.csv, line 3');
    expect(text).toContain('column "b"');
    expect(text).toContain('"abc" is not a number');
    const nan = errorMessage(() => parse('y,a\n1,NaN\n'), 'RAREFY_PARSE_ERROR');
    expect(nan).toContain('line 2');
    expect(nan).toContain('"NaN"');
    const empty = errorMessage(() => parse('y,a,b\n1,,3\n'), 'RAREFY_PARSE_ERROR');
    expect(empty).toContain('data.csv, line 2: column "a" is empty');
    expect(empty).toContain('fill the missing values or drop the column');
    const infinite = errorMessage(() => parse('y,a\n1,1e999\n'), 'RAREFY_NON_FINITE');
    expect(infinite).toContain('line 2');
  });

  it('accepts labels 0/1, quoted or not, and rejects anything else naming file, line and value', () => {
    expect(Array.from(parse('y,a\n"1",1\n"0",2\n1.0,3\n').y)).toEqual([1, 0, 1]);
    const message = errorMessage(() => parse('y,a\n1,1\n2,2\n'), 'RAREFY_INVALID_LABEL');
    expect(message).toContain('data.csv, line 3');
    expect(message).toContain('"2" is not 0 or 1');
    expect(message).toContain('map the labels to 0');
    expect(errorMessage(() => parse('y,a\nyes,1\n'), 'RAREFY_INVALID_LABEL')).toContain('"yes"');
  });

  it('reports ragged rows with the line and the counts', () => {
    expect(errorMessage(() => parse('y,a,b\n1,2,3\n0,4\n'), 'RAREFY_PARSE_ERROR')).toContain(
      'data.csv, line 3: 2 fields where the header has 3',
    );
    expect(errorMessage(() => parse('y,a\n1,2,3\n'), 'RAREFY_PARSE_ERROR')).toContain(
      'line 2: 3 fields where the header has 2',
    );
  });

  it('reports an unterminated quote, an empty file and a header without rows', () => {
    expect(errorMessage(() => parse('y,a\n1,"2\n'), 'RAREFY_PARSE_ERROR')).toContain('never closed');
    expect(errorMessage(() => parse(''), 'RAREFY_PARSE_ERROR')).toContain(
      'data.csv, line 1: the file is empty',
    );
    expect(errorMessage(() => parse('\n\n'), 'RAREFY_PARSE_ERROR')).toContain('empty');
    expect(errorMessage(() => parse('y,a\n'), 'RAREFY_PARSE_ERROR')).toContain('header but no data rows');
    expect(errorMessage(() => parse('y,a'), 'RAREFY_PARSE_ERROR')).toContain('header but no data rows');
  });

  it('reports a missing label column listing the columns, missing features and duplicate names', () => {
    const label = errorMessage(() => parse('a,b\n1,2\n', { label: 'clicked' }), 'RAREFY_INVALID_ARGUMENT');
    expect(label).toContain('data.csv: there is no label column "clicked"; the columns are "a", "b"');
    const feature = errorMessage(
      () => parse('y,a\n1,2\n', { features: ['a', 'z'] }),
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(feature).toContain('no feature column "z"');
    const duplicate = errorMessage(() => parse('y,a,a\n1,2,3\n'), 'RAREFY_PARSE_ERROR');
    expect(duplicate).toContain('data.csv, line 1');
    expect(duplicate).toContain('"a" twice');
  });
});
