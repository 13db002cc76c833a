import { isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { CsvTokenizer, parseCsv } from './csv-tokenizer.js';

const encoder = new TextEncoder();

/** Tokenizes `text` fed in pieces of `size` bytes. */
function tokenizeInPieces(text: string, size: number, options = {}) {
  const bytes = encoder.encode(text);
  const tokenizer = new CsvTokenizer(options);
  const records = [];
  for (let start = 0; start < bytes.length; start += size) {
    records.push(...tokenizer.push(bytes.subarray(start, start + size)));
  }
  records.push(...tokenizer.finish());
  return records;
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

describe('parseCsv and CsvTokenizer', () => {
  it('handles RFC 4180 quoting: escaped quotes, quoted delimiters and line breaks', () => {
    const table = parseCsv('name,note\n"Smith, J","said ""hi""\nand left"\nplain,""\n');
    expect(table.columns).toEqual(['name', 'note']);
    expect(table.rows).toEqual([
      ['Smith, J', 'said "hi"\nand left'],
      ['plain', ''],
    ]);
  });

  it('handles CRLF, a BOM, comments, blank lines and no final line break', () => {
    const table = parseCsv('\ufeff# a comment\r\na,b\r\n\r\n1,2\r\n# another\r\n3,4', { comment: '#' });
    expect(table.columns).toEqual(['a', 'b']);
    expect(table.rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('reads TSV and files without a header', () => {
    expect(parseCsv('1\t2\n3\t4\n', { delimiter: '\t', header: false })).toEqual({
      columns: ['column1', 'column2'],
      rows: [
        ['1', '2'],
        ['3', '4'],
      ],
    });
  });

  it('gives the same records whatever the chunking, with the right line numbers', () => {
    const text = '\ufeffa,b\r\n"x\r\ny",é€😀\n# c\n"q""",2\n3,4';
    const whole = tokenizeInPieces(text, 1 << 20, { comment: '#' });
    expect(whole.map((record) => record.line)).toEqual([1, 2, 5, 6]);
    expect(whole[1]?.fields).toEqual(['x\r\ny', 'é€😀']);
    for (const size of [1, 2, 3, 5, 7]) expect(tokenizeInPieces(text, size, { comment: '#' })).toEqual(whole);
  });

  it('reports an unterminated quote with the line where it opens', () => {
    const message = errorMessage(
      () => parseCsv('a,b\n1,"open\n2,3\n', { source: 'data.csv' }),
      'RAREFY_PARSE_ERROR',
    );
    expect(message).toContain('data.csv, line 2');
    expect(message).toContain('never closed');
  });

  it('reports ragged rows, duplicate header names, text after a closing quote and empty input', () => {
    const ragged = errorMessage(() => parseCsv('a,b\n1,2\n3\n', { source: 'r.csv' }), 'RAREFY_PARSE_ERROR');
    expect(ragged).toContain('r.csv, line 3: 1 fields where the header has 2');
    const duplicate = errorMessage(() => parseCsv('a,b,a\n1,2,3\n'), 'RAREFY_PARSE_ERROR');
    expect(duplicate).toContain('"a" twice');
    const stray = errorMessage(() => parseCsv('a\n"x"y\n'), 'RAREFY_PARSE_ERROR');
    expect(stray).toContain('line 2');
    expect(errorMessage(() => parseCsv(''), 'RAREFY_PARSE_ERROR')).toContain('empty');
    expect(errorMessage(() => parseCsv('a\n', { delimiter: '"' }), 'RAREFY_INVALID_ARGUMENT')).toContain(
      'delimiter',
    );
  });
});
