import { createRng, type DictionaryColumn, isRarefyError, type RarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { byteSource, collectBatches, createBatchReader } from './batch-reader.js';
import { parseCsvMatrix } from './csv-matrix.js';
import type { ReadOptions } from './schema.js';

const encoder = new TextEncoder();

/** Reads inline text (or bytes) to one batch through the streaming reader. */
async function table(text: string | Uint8Array, options: ReadOptions = {}, chunkBytes = 1 << 20) {
  const reader = await createBatchReader([byteSource('t.csv', text, chunkBytes)], options);
  return { reader, batch: await collectBatches(reader) };
}

/** The strings of a dictionary column, row by row. */
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

describe('the batch reader and parseCsvMatrix share one parser', () => {
  it('read bit-identical doubles and labels from the same bytes, in any chunking', async () => {
    // Plain, quoted, padded, long-mantissa, exponent and integer fields; CRLF, LF and lone CR.
    const rng = createRng(5);
    const lines = ['y,a,"b"\n'];
    for (let i = 0; i < 400; i++) {
      const a = rng.normal() * 10 ** (rng.nextInt(40) - 20);
      const b = i % 5 === 0 ? `"${rng.normal()}"` : i % 7 === 0 ? ` ${i} ` : String(rng.nextFloat64());
      lines.push(
        `${i % 3 === 0 ? '"1"' : i % 2},${a},${b}${i % 11 === 0 ? '\r\n' : i % 13 === 0 ? '\r' : '\n'}`,
      );
    }
    const bytes = encoder.encode(lines.join(''));
    const matrix = parseCsvMatrix(bytes, { label: 'y', intercept: false });
    for (const chunkBytes of [1, 7, 64, 1 << 20]) {
      const { batch } = await table(bytes, { label: 'y' }, chunkBytes);
      expect(batch.rows).toBe(matrix.rows);
      expect(Array.from(batch.columns.y as Uint8Array)).toEqual(Array.from(matrix.y));
      const a = batch.columns.a as Float64Array;
      const b = batch.columns.b as Float64Array;
      for (let i = 0; i < batch.rows; i++) {
        if (!Object.is(a[i], matrix.x.data[2 * i]) || !Object.is(b[i], matrix.x.data[2 * i + 1])) {
          expect.fail(`row ${i} differs at chunkBytes ${chunkBytes}`);
        }
      }
    }
  });
});

describe('createBatchReader: CSV values read from bytes', () => {
  it('integer columns: exact from bytes, out-of-range values named', async () => {
    const { batch } = await table('id,x\n7,1\n1e3,2\n-0,3\n"12",4\n', { types: { id: 'integer' } });
    expect(Array.from(batch.columns.id as Int32Array)).toEqual([7, 1000, 0, 12]);
    const error = await rejection(
      table('id\n1\n2147483648\n', { types: { id: 'integer' } }),
      'RAREFY_PARSE_ERROR',
    );
    expect(error.message).toContain('t.csv, line 3, column "id": "2147483648" is not a 32-bit integer');
  });

  it('label mappings where 0 and 1 are not labels, or mean other classes', async () => {
    const words = { positive: ['yes'], negative: ['no'] };
    const { batch } = await table('y,x\nyes,1\n"no",2\n', { label: 'y', labelMapping: words });
    expect(Array.from(batch.columns.y as Uint8Array)).toEqual([1, 0]);
    const error = await rejection(
      table('y,x\nyes,1\n1,2\n', { label: 'y', labelMapping: words }),
      'RAREFY_INVALID_LABEL',
    );
    expect(error.message).toContain('t.csv, line 3, column "y": "1" is not a label');
    const signs = await table('y,x\n0,1\n-1,2\n1,3\n+1,4\n', {
      label: 'y',
      labelMapping: { positive: [1], negative: [-1, 0] },
    });
    expect(Array.from(signs.batch.columns.y as Uint8Array)).toEqual([0, 0, 1, 1]);
  });

  it('skips bad rows without adding their text to the dictionary, counting lines across quoted breaks', async () => {
    const text = 'y,note,x\n1,"two\nlines",0.5\n0,"bad\nrow",oops\n1,kept,2\n0,"x",\n';
    const { reader, batch } = await table(text, { label: 'y', onInvalid: 'skip', types: { x: 'number' } }, 3);
    expect(batch.rows).toBe(2);
    expect(strings(batch.columns.note)).toEqual(['two\nlines', 'kept']);
    expect((batch.columns.note as DictionaryColumn).values).toEqual(['two\nlines', 'kept']);
    expect(reader.stats.skippedExamples.map((example) => example.line)).toEqual([4, 7]);
    expect(reader.stats.skippedExamples[0]?.reason).toContain('"oops" is not a number');
    expect(reader.stats.skippedExamples[1]?.reason).toContain('is missing');
  });

  it('without a header, every file’s first record is data', async () => {
    const reader = await createBatchReader(
      [byteSource('a.csv', '1,0.5\n0,1.5\n', 2), byteSource('b.csv', '1,2.5', 2)],
      { header: false, label: 'c1' },
    );
    const batch = await collectBatches(reader);
    expect(Array.from(batch.columns.c1 as Uint8Array)).toEqual([1, 0, 1]);
    expect(Array.from(batch.columns.c2 as Float64Array)).toEqual([0.5, 1.5, 2.5]);
  });

  it('decodes Latin-1 text columns beside numbers read from bytes, in any chunking', async () => {
    const bytes = Uint8Array.of(
      ...encoder.encode('name,x\n'),
      0x63,
      0x61,
      0x66,
      0xe9,
      ...encoder.encode(',1.25\n"na'),
      0xef,
      ...encoder.encode('ve",-2\n'),
    );
    for (const chunkBytes of [1, 5, 1 << 20]) {
      const { batch } = await table(bytes, { encoding: 'latin1' }, chunkBytes);
      expect(strings(batch.columns.name)).toEqual(['café', 'naïve']);
      expect(Array.from(batch.columns.x as Float64Array)).toEqual([1.25, -2]);
    }
  });

  it('keeps a record far larger than the chunk (a long quoted text field)', async () => {
    const long = 'é'.repeat(100_000);
    const { batch } = await table(`s,x\n"${long}",1\nb,2\n`, {}, 4096);
    expect(strings(batch.columns.s)).toEqual([long, 'b']);
    expect(Array.from(batch.columns.x as Float64Array)).toEqual([1, 2]);
  });
});
