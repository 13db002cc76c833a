import {
  type ColumnBatch,
  type DictionaryColumn,
  isRarefyError,
  type RarefyError,
} from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import {
  byteSource,
  collectBatches,
  createBatchReader,
  formatFromName,
  sniffFormat,
} from './batch-reader.js';
import type { ReadOptions } from './schema.js';

/** Opens inline text as one source, cut into chunks of `chunkBytes`. */
function open(name: string, text: string | Uint8Array, options: ReadOptions = {}, chunkBytes = 1 << 20) {
  return createBatchReader([byteSource(name, text, chunkBytes)], options);
}

/** Reads inline text to one batch. */
async function table(
  name: string,
  text: string | Uint8Array,
  options: ReadOptions = {},
  chunkBytes?: number,
) {
  return collectBatches(await open(name, text, options, chunkBytes));
}

/** The strings of a dictionary column, row by row (null for missing). */
function strings(column: unknown): (string | null)[] {
  const dictionary = column as DictionaryColumn;
  return Array.from(dictionary.codes, (code) => (code < 0 ? null : (dictionary.values[code] as string)));
}

/** Awaits `promise`, expecting a RarefyError of `code`; returns it. */
async function rejection(promise: Promise<unknown>, code: string): Promise<RarefyError> {
  try {
    await promise;
  } catch (error) {
    if (!isRarefyError(error)) throw error;
    expect(error.code).toBe(code);
    return error;
  }
  throw new Error('expected a rejection');
}

describe('createBatchReader: CSV and TSV', () => {
  it('infers numbers and strings, maps the label and keeps RFC 4180 fields', async () => {
    const reader = await open('a.csv', 'y,x,name\n1,0.5,"Smith, J"\n0,-2e3,"say ""hi"""\n1,,plain\n', {
      label: 'y',
      types: { x: 'string' },
    });
    expect(reader.format).toBe('csv');
    expect(reader.schema).toEqual([
      { name: 'y', type: 'label' },
      { name: 'x', type: 'string' },
      { name: 'name', type: 'string' },
    ]);
    const batch = await collectBatches(reader);
    expect(Array.from(batch.columns.y as Uint8Array)).toEqual([1, 0, 1]);
    expect(strings(batch.columns.x)).toEqual(['0.5', '-2e3', '']);
    expect(strings(batch.columns.name)).toEqual(['Smith, J', 'say "hi"', 'plain']);
    expect(reader.stats).toEqual({ rows: 3, skipped: 0, skippedExamples: [] });
  });

  it('reads CRLF, a BOM, comment lines, no final newline, and TSV', async () => {
    const csv = await table('b.csv', '\uFEFFy,x\r\n# a comment\r\n1,0.25\r\n0,3', {
      label: 'y',
      comment: '#',
    });
    expect(csv.schema.map((column) => column.name)).toEqual(['y', 'x']);
    expect(Array.from(csv.columns.x as Float64Array)).toEqual([0.25, 3]);
    const tsv = await table('c.tsv', 'y\tx\n1\t"a\tb"\n0\tc\n', { label: 'y' });
    expect(strings(tsv.columns.x)).toEqual(['a\tb', 'c']);
    const semicolon = await table('d.txt', 'y;x\n1;2\n', { format: 'csv', delimiter: ';' });
    expect(Array.from(semicolon.columns.x as Float64Array)).toEqual([2]);
  });

  it('names the columns c1..cK without a header; mapping -1/1 and quoted labels', async () => {
    const text = "0.5,-1.5,'-1'\n2,3,'1'\n-1,0,'-1'";
    const batch = await table('m.csv', text, {
      header: false,
      label: 'c3',
      labelMapping: { positive: ['1'], negative: ['-1'] },
    });
    expect(batch.schema).toEqual([
      { name: 'c1', type: 'number' },
      { name: 'c2', type: 'number' },
      { name: 'c3', type: 'label' },
    ]);
    expect(Array.from(batch.columns.c3 as Uint8Array)).toEqual([0, 1, 0]);
    const numeric = await table('n.csv', 'y,x\n"1",1\n-1,2\n+1,3\n', {
      label: 'y',
      labelMapping: { positive: [1], negative: [-1] },
    });
    expect(Array.from(numeric.columns.y as Uint8Array)).toEqual([1, 0, 1]);
  });

  it('decodes Latin-1 when asked (and UTF-8 by default)', async () => {
    const bytes = Uint8Array.of(...new TextEncoder().encode('name\n'), 0x63, 0x61, 0x66, 0xe9, 0x0a);
    const latin = await table('l.csv', bytes, { encoding: 'latin1' });
    expect(strings(latin.columns.name)).toEqual(['café']);
    const utf8 = await table('u.csv', 'name\ncafé\n');
    expect(strings(utf8.columns.name)).toEqual(['café']);
  });

  it('drops columns and applies type overrides (integer, string)', async () => {
    const batch = await table('t.csv', 'id,y,x,junk\n7,1,0.5,z\n8,0,1.5,w\n', {
      label: 'y',
      drop: ['junk'],
      types: { id: 'integer' },
    });
    expect(batch.schema).toEqual([
      { name: 'id', type: 'integer' },
      { name: 'y', type: 'label' },
      { name: 'x', type: 'number' },
    ]);
    expect(batch.columns.id).toBeInstanceOf(Int32Array);
    expect(Array.from(batch.columns.id as Int32Array)).toEqual([7, 8]);
    expect(batch.columns.junk).toBeUndefined();
  });

  it('gives identical results for batchRows 1, 7 and 65536 and any chunk size', async () => {
    const lines = ['y,x,s'];
    for (let i = 0; i < 50; i++) lines.push(`${i % 3 === 0 ? 1 : 0},${i * 0.5 - 3},"k${i % 4}"`);
    const text = `${lines.join('\n')}\n`;
    const reference = await table('r.csv', text, { label: 'y' });
    for (const batchRows of [1, 7, 65536]) {
      for (const chunkBytes of [1, 13, 1 << 20]) {
        const reader = await open('r.csv', text, { label: 'y', batchRows }, chunkBytes);
        const batches: ColumnBatch[] = [];
        for await (const batch of reader.batches()) batches.push(batch);
        expect(batches.every((batch) => batch.rows <= batchRows)).toBe(true);
        expect(batches.map((batch) => batch.firstRow)).toEqual(
          batches.map((_, k) => batches.slice(0, k).reduce((sum, batch) => sum + batch.rows, 0)),
        );
        const all = await collectBatches(reader);
        expect(Array.from(all.columns.y as Uint8Array)).toEqual(
          Array.from(reference.columns.y as Uint8Array),
        );
        expect(Array.from(all.columns.x as Float64Array)).toEqual(
          Array.from(reference.columns.x as Float64Array),
        );
        expect(strings(all.columns.s)).toEqual(strings(reference.columns.s));
      }
    }
  });

  it('can be iterated more than once, and reports progress', async () => {
    const progress: number[] = [];
    const reader = await open('p.csv', 'x\n1\n2\n3\n', { onProgress: ({ rows }) => progress.push(rows) }, 2);
    const first = await collectBatches(reader);
    const second = await collectBatches(reader);
    expect(Array.from(second.columns.x as Float64Array)).toEqual(Array.from(first.columns.x as Float64Array));
    expect(reader.stats.rows).toBe(3);
    expect(reader.totalBytes).toBe(8);
    expect(progress.length).toBeGreaterThan(2);
  });

  it('skips bad rows under onInvalid "skip", counting them and keeping examples', async () => {
    const text = 'y,x\n1,0.5\n2,1\n0,abc\n1\n0,2\n';
    const reader = await open('s.csv', text, { label: 'y', onInvalid: 'skip', inferRows: 1 });
    const batch = await collectBatches(reader);
    expect(batch.rows).toBe(2);
    expect(Array.from(batch.columns.x as Float64Array)).toEqual([0.5, 2]);
    expect(reader.stats.rows).toBe(2);
    expect(reader.stats.skipped).toBe(3);
    expect(reader.stats.skippedExamples.map((example) => example.line)).toEqual([3, 4, 5]);
    expect(reader.stats.skippedExamples[0]?.reason).toContain('"2"');
    expect(reader.stats.skippedExamples[0]?.source).toBe('s.csv');
  });

  it('keeps at most ten skipped examples', async () => {
    const lines = ['y'];
    for (let i = 0; i < 25; i++) lines.push('5');
    lines.push('1');
    const reader = await open('many.csv', lines.join('\n'), { label: 'y', onInvalid: 'skip' });
    const batch = await collectBatches(reader);
    expect(batch.rows).toBe(1);
    expect(reader.stats.skipped).toBe(25);
    expect(reader.stats.skippedExamples).toHaveLength(10);
  });
});

describe('createBatchReader: malformed CSV gives typed errors', () => {
  it('a ragged row: RAREFY_PARSE_ERROR naming file and line', async () => {
    const error = await rejection(table('ragged.csv', 'y,x\n1,2\n0,1,9\n'), 'RAREFY_PARSE_ERROR');
    expect(error.message).toContain('ragged.csv, line 3');
    expect(error.message).toContain('3 fields where there are 2');
  });

  it('an unterminated quote', async () => {
    const error = await rejection(table('quote.csv', 'y,x\n1,"open\n0,2\n'), 'RAREFY_PARSE_ERROR');
    expect(error.message).toContain('quote.csv, line 2');
    expect(error.message).toContain('never closed');
  });

  it('an empty file, with or without a header', async () => {
    const error = await rejection(open('empty.csv', ''), 'RAREFY_PARSE_ERROR');
    expect(error.message).toContain('empty.csv');
    expect(error.message).toContain('empty');
    await rejection(open('empty2.csv', '\n\n', { header: false }), 'RAREFY_PARSE_ERROR');
  });

  it('a header with no rows is a table of zero rows', async () => {
    const batch = await table('header.csv', 'y,x\n');
    expect(batch.rows).toBe(0);
    expect(batch.schema.map((column) => column.name)).toEqual(['y', 'x']);
  });

  it('a missing label column: RAREFY_INVALID_ARGUMENT listing the columns', async () => {
    const error = await rejection(
      open('nolabel.csv', 'a,b\n1,2\n', { label: 'y' }),
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(error.message).toContain('nolabel.csv');
    expect(error.message).toContain('"y"');
    expect(error.message).toContain('"a", "b"');
  });

  it('a duplicate header name', async () => {
    const error = await rejection(open('dup.csv', 'y,x,x\n1,2,3\n'), 'RAREFY_PARSE_ERROR');
    expect(error.message).toContain('"x" twice');
  });

  it('a file that ends mid-row', async () => {
    const error = await rejection(table('cut.csv', 'y,x,z\n1,2,3\n0,5'), 'RAREFY_PARSE_ERROR');
    expect(error.message).toContain('cut.csv, line 3');
    expect(error.message).toContain('ends mid-row');
  });

  it('a label outside the mapping: RAREFY_INVALID_LABEL naming line, value and mapping', async () => {
    const error = await rejection(
      table('label.csv', 'y,x\n1,2\n-1,3\n', { label: 'y' }),
      'RAREFY_INVALID_LABEL',
    );
    expect(error.message).toContain('label.csv, line 3, column "y"');
    expect(error.message).toContain('"-1"');
    expect(error.message).toContain('positive "1", 1; negative "0", 0');
  });

  it('a value that violates the inferred type: RAREFY_PARSE_ERROR with file, line, column, value', async () => {
    const error = await rejection(
      table('type.csv', 'y,x\n1,2\n0,3\n1,oops\n', { label: 'y', inferRows: 2 }),
      'RAREFY_PARSE_ERROR',
    );
    expect(error.message).toContain('type.csv, line 4, column "x": "oops" is not a number');
    expect(error.details).toMatchObject({ line: 4, column: 'x', value: 'oops' });
    const empty = await rejection(table('gap.csv', 'x\n1\n\n""\n', {}), 'RAREFY_PARSE_ERROR');
    expect(empty.message).toContain('is missing');
    const integer = await rejection(
      table('int.csv', 'x\n1.5\n', { types: { x: 'integer' } }),
      'RAREFY_PARSE_ERROR',
    );
    expect(integer.message).toContain('not a 32-bit integer');
    const overflow = await rejection(
      table('big.csv', 'x\n1\n1e999\n', { inferRows: 1 }),
      'RAREFY_PARSE_ERROR',
    );
    expect(overflow.message).toContain('overflows');
  });

  it('rejects options naming absent columns and bad option values', async () => {
    await rejection(open('o.csv', 'x\n1\n', { drop: ['nope'] }), 'RAREFY_INVALID_ARGUMENT');
    await rejection(open('o.csv', 'x\n1\n', { types: { nope: 'number' } }), 'RAREFY_INVALID_ARGUMENT');
    await rejection(open('o.csv', 'y\n1\n', { label: 'y', drop: ['y'] }), 'RAREFY_INVALID_ARGUMENT');
    await rejection(open('o.csv', 'x\n1\n', { batchRows: 0 }), 'RAREFY_INVALID_ARGUMENT');
    await rejection(open('o.csv', 'x\n1\n', { delimiter: '""' }), 'RAREFY_INVALID_ARGUMENT');
    await rejection(
      open('o.csv', 'y\n1\n', { label: 'y', labelMapping: { positive: [1], negative: ['1'] } }),
      'RAREFY_INVALID_ARGUMENT',
    );
    await rejection(open('o.dat', 'just words\n'), 'RAREFY_INVALID_ARGUMENT');
  });
});

describe('createBatchReader: several sources as one table', () => {
  it('reads sources in order with global firstRow; a differing header names the file', async () => {
    const reader = await createBatchReader(
      [byteSource('part-1.csv', 'y,x\n1,1\n0,2\n'), byteSource('part-2.csv', 'y,x\n0,3\n')],
      { label: 'y', batchRows: 2 },
    );
    const batches: ColumnBatch[] = [];
    for await (const batch of reader.batches()) batches.push(batch);
    expect(batches.map((batch) => [batch.firstRow, batch.rows])).toEqual([
      [0, 2],
      [2, 1],
    ]);
    // Found at open when the type sample reaches the second file ...
    const sources = [byteSource('part-1.csv', 'y,x\n1,1\n'), byteSource('part-2.csv', 'y,z\n0,3\n')];
    const error = await rejection(createBatchReader(sources, { label: 'y' }), 'RAREFY_PARSE_ERROR');
    expect(error.message).toContain('part-2.csv, line 1');
    expect(error.message).toContain('differs');
    // ... and while streaming otherwise.
    const late = await createBatchReader(sources, { label: 'y', inferRows: 1 });
    const lateError = await rejection(collectBatches(late), 'RAREFY_PARSE_ERROR');
    expect(lateError.message).toContain('part-2.csv, line 1');
  });
});

describe('createBatchReader: JSON Lines', () => {
  it('reads numbers, strings, booleans and null; skips blank lines', async () => {
    const text = '{"y":1,"x":0.5,"s":"a","b":true}\n\n{"y":0,"x":-1,"s":null,"b":false}\r\n';
    const reader = await open('j.jsonl', text, { label: 'y' });
    expect(reader.format).toBe('jsonl');
    expect(reader.schema).toEqual([
      { name: 'y', type: 'label' },
      { name: 'x', type: 'number' },
      { name: 's', type: 'string' },
      { name: 'b', type: 'number' },
    ]);
    const batch = await collectBatches(reader);
    expect(Array.from(batch.columns.x as Float64Array)).toEqual([0.5, -1]);
    expect(strings(batch.columns.s)).toEqual(['a', null]);
    expect(Array.from(batch.columns.b as Float64Array)).toEqual([1, 0]);
  });

  it('a missing key, an unknown key, a nested value and bad JSON are errors (or skips)', async () => {
    const missing = await rejection(
      table('m.jsonl', '{"y":1,"x":2}\n{"y":0}\n', { inferRows: 1 }),
      'RAREFY_PARSE_ERROR',
    );
    expect(missing.message).toContain('m.jsonl, line 2: key "x" is missing');
    const unknown = await rejection(
      table('u.jsonl', '{"x":2}\n{"x":1,"z":3}\n', { inferRows: 1 }),
      'RAREFY_PARSE_ERROR',
    );
    expect(unknown.message).toContain('key "z" is not in the schema');
    const nested = await rejection(
      table('n.jsonl', '{"x":2}\n{"x":[1]}\n', { inferRows: 1 }),
      'RAREFY_PARSE_ERROR',
    );
    expect(nested.message).toContain('nested');
    const broken = await rejection(table('b.jsonl', '{"x":2}\n{"x":\n'), 'RAREFY_PARSE_ERROR');
    expect(broken.message).toContain('b.jsonl, line 2: the line is not valid JSON');
    await rejection(open('e.jsonl', '\n\n'), 'RAREFY_PARSE_ERROR');
    const reader = await open('k.jsonl', '{"x":2}\n{"y":1}\n[1]\n{"x":3,"w":1}\n', {
      onInvalid: 'skip',
      inferRows: 1,
      drop: [],
    });
    const batch = await collectBatches(reader);
    expect(Array.from(batch.columns.x as Float64Array)).toEqual([2]);
    expect(reader.stats.skipped).toBe(3);
  });

  it('drops keys wherever they appear', async () => {
    const batch = await table('d.jsonl', '{"x":2,"meta":{"a":1}}\n{"x":3}\n', { drop: ['meta'] });
    expect(batch.schema).toEqual([{ name: 'x', type: 'number' }]);
    expect(Array.from(batch.columns.x as Float64Array)).toEqual([2, 3]);
  });
});

describe('formatFromName and sniffFormat', () => {
  it('knows the extensions and recognises LibSVM, JSON Lines, TSV and CSV content', () => {
    expect(formatFromName('a/b.CSV')).toBe('csv');
    expect(formatFromName('x.ndjson')).toBe('jsonl');
    expect(formatFromName('x.svm')).toBe('libsvm');
    expect(formatFromName('w8a')).toBeNull();
    const encode = (text: string) => new TextEncoder().encode(text);
    expect(sniffFormat(encode('-1 3:1 10:0.5 \n+1\n'))).toBe('libsvm');
    expect(sniffFormat(encode('# c\n{"a":1}\n'))).toBe('jsonl');
    expect(sniffFormat(encode('a\tb\n'))).toBe('tsv');
    expect(sniffFormat(encode('a,b\n'))).toBe('csv');
    expect(sniffFormat(encode(''))).toBeNull();
  });
});
